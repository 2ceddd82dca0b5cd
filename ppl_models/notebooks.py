"""A page's setting as a Jupyter notebook: its script in cells, its numbers and its charts.

Every lecture page already has a script that prints its numbers (``<entry>_code``). Its
``<entry>_notebook`` (beside it, taking the same arguments) hands that script to
:func:`notebook` with the lines where each step starts and what the step does in plain words,
then a cell that prints the page's key numbers as the page shows them and cells that draw the
page's charts with plotly. The notebook imports nothing of the app: it runs wherever Pyro,
torch, numpy and plotly do.

The first cell pins the versions, read from the app's own ``requirements.txt`` (the one place
they are written), and checks at run time that the kernel has them: it warns, and runs on, when
it has others.

nbformat is imported here, and the lecture modules import this module only when a notebook is
asked for, so the inference workers' forkserver (which imports every lecture) does not load it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat import v4 as nbf

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
# What every notebook imports. plotly draws a figure in Jupyter through nbformat, so it is
# pinned too. A lecture adds what its script imports beyond these (chirho).
PACKAGES = ("pyro-ppl", "torch", "numpy", "plotly", "nbformat")
APP = "Pyro Model Explorer"
# Settings fields that change how a run is made, not what it computes: the setting's text leaves them out.
HOW_NOT_WHAT = ("device", "jit_compile")


@dataclass(frozen=True)
class Step:
    """One cell of a page's script.

    :ivar starts: the cell begins at the first line (after the previous cell's start) that
        starts with this; the first step's cell begins at the script's first line.
    :ivar says: the markdown before the cell: what this step does, in plain words.
    """

    starts: str
    says: str


def pinned_versions(packages: Sequence[str], requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """``package -> version`` for each of ``packages``, as ``requirements.txt`` pins it (``name==version``).

    Environment markers are dropped, and a direct-URL line (the Cloud's CPU torch wheel) is
    skipped: the plain pin beside it names the same version.

    :raises ValueError: when a package has no ``==`` pin there.
    """
    pins = {}
    for line in requirements.read_text().splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        name, pinned, version = requirement.partition("==")
        if pinned:
            pins[name.strip().lower()] = version.strip()
    missing = [package for package in packages if package not in pins]
    if missing:
        raise ValueError(f"{requirements.name} pins no version of {', '.join(missing)}")
    return {package: pins[package] for package in packages}


def versions_cell(packages: Sequence[str]) -> str:
    """The code of the first cell: the pins as a commented ``%pip install``, and a run-time check of them."""
    pins = pinned_versions(packages)
    install = " ".join(f"{package}=={version}" for package, version in pins.items())
    listed = ", ".join(f'"{package}": "{version}"' for package, version in pins.items())
    return f"""# The versions the app ran this page with. To install them here, remove the "# " below and run:
# %pip install {install}
import importlib.metadata
import warnings

PINNED = {{{listed}}}
for package, pinned in PINNED.items():
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        installed = "not installed"
    print(f"{{package}} {{installed}} (the app: {{pinned}})")
    # A local build label, such as torch's "+cpu", is the same release.
    if installed.split("+")[0] != pinned:
        warnings.warn(f"{{package}} is {{installed}}, not the app's {{pinned}}: the numbers may differ a little.")"""


def script_cells(script: str, steps: Sequence[Step]) -> list[NotebookNode]:
    """``script`` cut into one code cell per step, each after a markdown cell saying what it does.

    The cells hold every line of the script, in order: joined, they are the script.

    :raises ValueError: when a step's first line is not in the script (the script changed).
    """
    lines = script.splitlines()
    starts, after = [], 0
    for step in steps:
        found = next((i for i in range(after, len(lines)) if lines[i].startswith(step.starts)), None)
        if found is None:
            raise ValueError(f"the script has no line starting {step.starts!r} after line {after}")
        starts.append(found)
        after = found + 1
    starts[0] = 0
    cells = []
    for step, begin, end in zip(steps, starts, [*starts[1:], len(lines)], strict=True):
        cells.append(nbf.new_markdown_cell(step.says))
        cells.append(nbf.new_code_cell("\n".join(lines[begin:end]).strip("\n")))
    return cells


def setting_text(*settings) -> str:
    """The page's setting as markdown: each settings object's fields, less those that change how a run is made
    and not what it computes (the device, JIT compilation)."""
    lines = []
    for each in settings:
        if dataclasses.is_dataclass(each):
            shown = ", ".join(
                f"{f.name}={getattr(each, f.name)!r}" for f in dataclasses.fields(each) if f.name not in HOW_NOT_WHAT
            )
            lines.append(f"- `{type(each).__name__}({shown})`")
        else:  # a mapping of the page's other numbers (draws, seed)
            lines.append("- " + ", ".join(f"{name} = `{value!r}`" for name, value in each.items()))
    return "\n".join(lines)


# The first chart cell of every notebook: what the page's chart builders share, in a few lines.
CHART_TOOLS = '''import math

import numpy as np
import plotly.graph_objects as go

# The page's colours: the exact answer, the prior, and what Pyro drew.
EXACT, PRIOR, DRAWN = "#d9480f", "#8c8c8c", "#4c78a8"


def normal_pdf(x, mean, sd):
    return np.exp(-0.5 * ((np.asarray(x) - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def styled(fig, title, x_title, y_title, height=380):
    """The page's layout: a title, named axes, 14 px text and the legend below the chart."""
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=height, font=dict(size=14),
                      legend=dict(orientation="h", y=-0.25), margin=dict(l=10, r=10, t=50, b=10))
    return fig'''


def notebook(
    *,
    title: str,
    page: str,
    about: str,
    settings: Sequence,
    script: str,
    steps: Sequence[Step],
    numbers: tuple[str, str],
    charts: Sequence[tuple[str, str]],
    packages: Sequence[str] = PACKAGES,
    notes: str = "",
) -> NotebookNode:
    """A notebook of one page's setting.

    :param title: the page's title.
    :param page: the page's address (``scale``), which is also the file's name.
    :param about: a sentence or two on what the page (and so the notebook) computes.
    :param settings: the settings objects the page ran with, listed in the opening cell.
    :param script: the page's ``<entry>_code`` script for this setting.
    :param steps: where each cell of the script starts, and what it does.
    :param numbers: (markdown, code) of the cell that prints the page's key numbers as the page shows them.
    :param charts: (markdown, code) of each chart cell; :data:`CHART_TOOLS` comes before them.
    :param notes: anything the notebook does not reproduce of the page, said in the opening cell.
    """
    opening = (
        f"# {title}\n\n"
        f"This notebook is the page `/{page}` of {APP} at the setting it showed when it was downloaded. "
        f"{about}\n\nIt needs nothing of the app: run the cells from the top. With the same versions it prints the "
        "page's numbers, from the same seed, and draws the page's charts.\n\nThe setting:\n\n" + setting_text(*settings)
    )
    if notes:
        opening += f"\n\n{notes}"
    cells = [
        nbf.new_markdown_cell(opening),
        nbf.new_markdown_cell(
            "## Versions\n\nThe page's numbers come from these versions of the libraries. Another version may "
            "draw other random numbers from the same seed, so this cell warns when the kernel has another."
        ),
        nbf.new_code_cell(versions_cell(packages)),
        nbf.new_markdown_cell("## The page's computation, step by step"),
        *script_cells(script, steps),
        nbf.new_markdown_cell("## The page's numbers\n\n" + numbers[0]),
        nbf.new_code_cell(numbers[1]),
        nbf.new_markdown_cell(
            "## The page's charts\n\nDrawn with plotly, as the page draws them. First, what the charts share."
        ),
        nbf.new_code_cell(CHART_TOOLS),
    ]
    for says, code in charts:
        cells += [nbf.new_markdown_cell(says), nbf.new_code_cell(code)]
    made = nbf.new_notebook(cells=cells)
    made.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    made.metadata["language_info"] = {"name": "python"}
    return made


def as_bytes(made: NotebookNode) -> bytes:
    """The notebook as an ``.ipynb`` file's contents."""
    return nbformat.writes(made).encode()
