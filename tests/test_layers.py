"""The house's import rules: pages -> ui -> ppl_models (lectures) -> engine -> runtime, never back.

Ruff's banned-api rule (pyproject.toml) keeps Streamlit out of ``ppl_models/`` as code is
written; these tests check the whole direction, and that importing every computation
module really loads no Streamlit (an indirect import would pass the lint). Beside the app,
``tests/`` and ``bench/`` share ``harness/`` (the real server, its protocol client, the
browser settings, the page checks) and never import each other.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ppl_models"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


MODULES = sorted(_module(path) for path in PACKAGE.rglob("*.py"))


def _layer(module: str) -> int:
    """0: runtime, 1: engine, 2: the lectures, 3: the UI, 4: pages and app."""
    if module.startswith("ppl_models.engine.runtime"):
        return 0
    if module.startswith("ppl_models.engine"):
        return 1
    if module.startswith("ppl_models"):
        return 2
    if module.startswith("ui"):
        return 3
    return 4


def _project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    known = {*MODULES, "ui", "pages"}
    return {name for name in found if name in known or name.split(".")[0] in ("ui", "pages")}


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_from_its_own_layer_or_below(module):
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    upward = [name for name in _project_imports(path) if _layer(name) > _layer(module)]
    assert upward == [], f"{module} imports from a layer above it: {upward}"


def test_no_computation_module_loads_streamlit():
    script = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def _top_level_imports(path: Path) -> set[str]:
    """The top-level package of every absolute import in a file, a function's own imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("tests", {"bench"}), ("bench", {"tests"}), ("harness", {"bench", "tests"})],
)
def test_tests_and_benches_share_the_harness_and_never_import_each_other(folder, forbidden):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no Python files in {folder}/"
    crossing = {
        str(path.relative_to(ROOT)): sorted(_top_level_imports(path) & forbidden)
        for path in files
        if _top_level_imports(path) & forbidden
    }
    assert crossing == {}, f"{folder}/ imports from {sorted(forbidden)}: {crossing}"
