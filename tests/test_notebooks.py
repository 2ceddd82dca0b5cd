"""Each page's "Download as notebook": run in a fresh kernel where the app cannot be imported, the notebook of a
setting prints the page's numbers in the page's own format and draws the page's charts.

The kernel is ipykernel's, started by nbclient from this interpreter with a clean environment
(no PYTHONPATH) and a temporary directory as its working directory, so nothing of the app is
importable there: a cell appended to each notebook says so. The page's numbers come from the
lecture's entry function, as in tests/test_code_reproduces.py.
"""

import copy
import importlib.metadata
import math
import os
import re
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from ppl_models import causal, gmm, hmc, notebooks, open_world, scale, vi, weather
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings
from tests.apptest_helpers import open_page
from ui.notebook_button import LABEL

PLOTLY = "application/vnd.plotly.v1+json"
ISOLATION = """import importlib.util, sys
print("app importable:", importlib.util.find_spec("ppl_models") is not None, importlib.util.find_spec("ui") is not None)
print("kernel python:", sys.executable)"""


class Ran:
    """What an executed notebook printed, and its figures, per code cell."""

    def __init__(self, made: nbformat.NotebookNode):
        self.printed, self.stderr, self.figures = "", "", []
        for cell in made.cells:
            if cell.cell_type != "code":
                continue
            figures = 0
            for output in cell.outputs:
                if output.output_type == "stream":
                    if output.name == "stdout":
                        self.printed += output.text
                    else:
                        self.stderr += output.text
                elif output.output_type == "display_data" and PLOTLY in output.data:
                    figures += 1
            self.figures.append(figures)

    def shown(self, label: str) -> tuple[str, str]:
        """The value and the note the numbers cell printed for ``label`` (``label: value (note)``)."""
        line = next((line for line in self.printed.splitlines() if line.startswith(f"{label}: ")), None)
        assert line is not None, f"nothing printed for {label!r}:\n{self.printed}"
        value, note = re.fullmatch(r"(.*?)(?: \((.*)\))?", line[len(label) + 2 :]).groups()
        return value, note or ""


def execute(made: nbformat.NotebookNode, tmp_path) -> Ran:
    """Validate ``made``, run it top to bottom in a fresh kernel that cannot import the app, and read it back."""
    nbformat.validate(made)
    made = copy.deepcopy(made)
    made.cells.append(nbformat.v4.new_code_cell(ISOLATION))
    client = NotebookClient(made, timeout=240, kernel_name="python3")
    client.execute(cwd=str(tmp_path), env={"PATH": os.path.dirname(sys.executable), "HOME": str(tmp_path)})
    ran = Ran(made)
    assert "app importable: False False" in ran.printed
    assert f"kernel python: {sys.executable}" in ran.printed
    # The kernel has the app's own versions: each is printed, and none is warned about.
    for package, pinned in notebooks.pinned_versions(notebooks.PACKAGES).items():
        assert f"{package} {importlib.metadata.version(package)} (the app: {pinned})" in ran.printed
    assert "not the app's" not in ran.stderr
    return ran


def chart_cells(made: nbformat.NotebookNode) -> list[int]:
    """Indices (among code cells) of the cells after the shared chart tools: each must draw one figure."""
    codes = [cell.source for cell in made.cells if cell.cell_type == "code"]
    tools = codes.index(notebooks.CHART_TOOLS)
    return list(range(tools + 1, len(codes)))


def assert_charts_drawn(made, ran: Ran) -> None:
    drawn = chart_cells(made)
    assert drawn, "no chart cell"
    assert [ran.figures[i] for i in drawn] == [1] * len(drawn)


def script_of(made: nbformat.NotebookNode) -> str:
    """The code cells of the page's computation, joined: they must be the page's script."""
    cells, inside = [], False
    for cell in made.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            inside = cell.source.startswith("## The page's computation")
        elif inside and cell.cell_type == "code":
            cells.append(cell.source)
    return "\n".join(cells)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# ---- the notebook's parts ----------------------------------------------------------------


def test_the_pins_are_requirements_txt_s_and_the_installed_versions():
    pins = notebooks.pinned_versions((*notebooks.PACKAGES, "chirho"))
    required = (notebooks.REQUIREMENTS).read_text()
    for package, version in pins.items():
        assert re.search(rf"^{re.escape(package)}=={re.escape(version)}\b", required, re.MULTILINE)
        assert importlib.metadata.version(package).split("+")[0] == version
    cell = notebooks.versions_cell(pins)
    assert "# %pip install " + " ".join(f"{p}=={v}" for p, v in pins.items()) in cell
    with pytest.raises(ValueError, match="pins no version of streamlit-nonexistent"):
        notebooks.pinned_versions(("streamlit-nonexistent",))


SCRIPTS = [
    (scale.infer_weight_code, scale.infer_weight_notebook, (scale.ScaleSettings(), McmcSettings(kernel="nuts"))),
    (scale.infer_weight_code, scale.infer_weight_notebook, (scale.ScaleSettings(), McmcSettings(num_chains=3))),
    (scale.infer_weight_code, scale.infer_weight_notebook, (scale.ScaleSettings(), SviSettings())),
    (hmc.explore_code, hmc.explore_notebook, (scale.ScaleSettings(), hmc.HmcSettings())),
    (vi.fit_code, vi.fit_notebook, (scale.ScaleSettings(), vi.ViSettings(n=50, batch=10))),
    (gmm.fit_map_code, gmm.fit_map_notebook, (gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings())),
    (weather.simulate_code, weather.simulate_notebook, (weather.WeatherSettings(), 10, 0)),
    (causal.answer_code, causal.answer_notebook, (weather.WeatherSettings(), causal.CausalSettings(), 10, 0)),
    (open_world.explore_code, open_world.explore_notebook, (open_world.OpenWorldSettings(), 10, 0)),
]


@pytest.mark.parametrize(
    ("code", "build", "args"),
    SCRIPTS,
    ids=["scale-nuts", "scale-chains", "scale-svi", "hmc", "vi", "gmm", "weather", "causal", "open-world"],
)
def test_the_notebook_holds_every_line_of_the_page_s_script_in_order(code, build, args):
    made = build(*args)
    nbformat.validate(made)
    assert lines(script_of(made)) == lines(code(*args))
    assert made.cells[0].cell_type == "markdown" and "## Versions" in made.cells[1].source
    extra = ("chirho",) if build is causal.answer_notebook else ()
    assert made.cells[2].source == notebooks.versions_cell((*notebooks.PACKAGES, *extra))


def test_a_large_data_set_is_written_out_whole_and_its_subsampled_fit_said():
    data = np.linspace(-5, 5, gmm.SUBSAMPLE_SIZE + 1)
    made = gmm.fit_map_notebook(data, gmm.GmmPrior(), gmm.GmmSettings())
    written = re.search(r"data = torch\.tensor\(\[([^\]]*)\]\)", script_of(made)).group(1)
    assert [float(v) for v in written.split(",")] == data.tolist()
    assert "This fit differs from the page's" in made.cells[0].source
    assert "the first 20 of" in gmm.fit_map_code(data, gmm.GmmPrior(), gmm.GmmSettings())


# ---- each page's notebook, run -----------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        McmcSettings(
            kernel="hmc", num_samples=200, warmup_steps=60, num_chains=2, hold_num_steps=True, seed=3, sampler="pyro"
        ),
        SviSettings(num_steps=150, seed=2),
    ],
    ids=["hmc-pyro", "svi"],
)
def test_the_scale_notebook_prints_the_page_s_posterior_and_draws_it(tmp_path, settings):
    query = scale.ScaleSettings(guess=9.0, prior_sd=1.2, noise_sd=0.8, measurement=12.5)
    made = scale.infer_weight_notebook(query, settings)
    ran = execute(made, tmp_path)
    page, exact = scale.infer_weight(query, settings), scale.exact_posterior(query)
    for label, value, truth in (("Posterior mean", page.mean, exact.mean), ("Posterior sd", page.sd, exact.sd)):
        shown, note = ran.shown(label)
        # The page compiles HMC's leapfrog steps: the same draws up to float rounding.
        assert float(shown) == pytest.approx(value, abs=1e-4 + 5e-4)
        assert note.endswith(f"vs exact {truth:.3f}")
    assert_charts_drawn(made, ran)


def test_the_batched_scale_notebook_says_so_and_agrees_within_monte_carlo_error(tmp_path):
    query = scale.ScaleSettings(guess=9.0, prior_sd=1.2, noise_sd=0.8, measurement=12.5)
    settings = McmcSettings(kernel="hmc", num_samples=1000, seed=4)
    made = scale.infer_weight_notebook(query, settings)
    assert "batched HMC" in " ".join(cell.source for cell in made.cells)
    ran = execute(made, tmp_path)
    page = scale.infer_weight(query, settings)
    mcse = page.mcmc.summaries["weight"].mcse
    shown_mean, _ = ran.shown("Posterior mean")
    shown_sd, _ = ran.shown("Posterior sd")
    assert abs(float(shown_mean) - page.mean) < 4 * math.sqrt(2) * mcse + 0.0005  # shown to 3 decimals
    assert float(shown_sd) == pytest.approx(page.sd, rel=0.25)


def test_the_hmc_notebook_prints_the_page_s_trajectory_chain_and_tree(tmp_path):
    query = scale.ScaleSettings(guess=8.0, prior_sd=1.5, noise_sd=0.9, measurement=12.0)
    settings = hmc.HmcSettings(step_size=0.45, num_steps=9, start=7.5, momentum=-1.25, trajectories=40, seed=6)
    made = hmc.explore_notebook(query, settings)
    ran = execute(made, tmp_path)
    page = hmc.explore(query, settings)
    assert ran.shown("Energy error") == (f"{page.trajectory.energy_error:.5g}", "after 9 steps")
    assert ran.shown("Acceptance probability")[0] == "1.000" and page.trajectory.acceptance == 1.0
    assert ran.shown("Stability limit 2s") == (f"{page.oscillator.stability_limit:.3f}", "step 0.45")
    assert ran.shown("Acceptance rate")[0] == f"{page.chain.acceptance_rate:.3f}"
    assert ran.shown("Chain mean") == (f"{page.chain.summary.mean:.3f}", f"exact {page.oscillator.mean:.3f}")
    assert ran.shown("Chain sd") == (f"{page.chain.summary.sd:.3f}", f"exact {page.oscillator.sd:.3f}")
    assert ran.shown("NUTS draw")[0] == f"{page.tree.proposal:.4f}"
    assert_charts_drawn(made, ran)


def test_the_vi_notebook_prints_the_page_s_terms_and_draws_its_curves(tmp_path):
    # The fixed-scale guide draws every chart (the floor too); the Delta guide's notebook is built on the page below.
    settings = vi.ViSettings(guide="fixed_scale", optim="sgd", schedule="constant", lr=0.05, steps=120, particles=1)
    query = scale.ScaleSettings(guess=8.0, prior_sd=1.5, noise_sd=0.9, measurement=11.3)
    made = vi.fit_notebook(query, settings)
    ran = execute(made, tmp_path)
    page = vi.fit(query, settings)
    estimate = float(-np.mean(page.losses[-min(50, len(page.losses)) :]))
    assert ran.shown("log evidence") == (f"{page.log_evidence:.3f}", "exact")
    assert ran.shown("ELBO") == (f"{page.path.elbo[-1]:.3f}", f"estimated {estimate:.3f}")
    kl = ran.shown("KL(q || posterior)")
    assert kl == (f"{page.path.kl[-1]:.4f}", f"log p - ELBO estimate: {page.log_evidence - estimate:.4f}")
    assert_charts_drawn(made, ran)


def test_the_mixture_notebook_prints_the_page_s_fit(tmp_path):
    data = (0.0, 1.0, 10.0, 11.0, 12.0, 30.0, 31.0)
    prior, settings = gmm.GmmPrior(), gmm.GmmSettings(k=3, init="spread", inits=10, steps=60, seed=1)
    page = gmm.fit_map(data, prior, settings)
    made = gmm.fit_map_notebook(page.data, prior, settings)
    ran = execute(made, tmp_path)
    rows = re.findall(r"^\s+(\d+)\s+(-?\d+\.\d{3})\s+(-?\d+\.\d{3})$", ran.printed, re.MULTILINE)
    assert [int(row[0]) for row in rows] == [1, 2, 3]
    weights, locs = (np.array([float(row[i]) for row in rows]) for i in (1, 2))
    order = np.argsort(locs)  # a mixture's components have no order of their own
    np.testing.assert_allclose(locs[order], np.sort(page.locs), atol=0.05)
    np.testing.assert_allclose(weights[order], page.weights[np.argsort(page.locs)], atol=0.01)
    assert float(ran.shown("scale")[0]) == pytest.approx(page.scale, abs=0.01)
    assert_charts_drawn(made, ran)


def test_the_causal_notebook_prints_the_page_s_four_answers(tmp_path):
    params = weather.WeatherSettings(p_cloudy=0.4, threshold=78.0)
    question = causal.CausalSettings(temp=60.0, do_weather="cloudy", obs_weather="unknown", cf_temp=70.0)
    made = causal.answer_notebook(params, question, 5_000, 4)
    ran = execute(made, tmp_path)
    page = causal.answer(params, question, 5_000, 4)
    for label, answer in (
        ("E[sales | temp = 60]", page.conditioned),
        ("E[sales | do(temp = 60)]", page.intervened),
        ("E[sales | do(weather = cloudy)]", page.weather_intervened),
        ("E[counterfactual sales]", page.counterfactual),
    ):
        assert ran.shown(label) == (f"{answer.mean:.1f}", f"exact {answer.exact:.1f}")
    assert "chirho 0.3.0 (the app: 0.3.0)" in ran.printed
    assert_charts_drawn(made, ran)


def test_the_weather_notebook_prints_the_page_s_estimates(tmp_path):
    params = weather.WeatherSettings(p_cloudy=0.4, sunny_mean=78.0, threshold=82.0)
    made = weather.simulate_notebook(params, 3_000, 3)
    ran = execute(made, tmp_path)
    page = weather.simulate(params, 3_000, 3)
    for shown in weather.estimates(params, page.samples["cloudy"], page.samples["temp"], page.samples["ice_cream"]):
        assert ran.shown(shown.label) == (f"{shown.estimate:.3f}", f"exact {shown.exact:.3f}")
    assert_charts_drawn(made, ran)


@pytest.mark.parametrize(
    "settings",
    [
        open_world.OpenWorldSettings(rate=6.5, end=-2.4),
        open_world.OpenWorldSettings(model="branch", p=0.35, end=0.8),
    ],
    ids=["walk", "branch"],
)
def test_the_open_world_notebook_prints_the_page_s_answers(tmp_path, settings):
    made = open_world.explore_notebook(settings, 8_000, 5)
    ran = execute(made, tmp_path)
    page = open_world.explore(settings, 8_000, 5)
    if settings.model == "walk":
        posterior = page.walk_posterior
        assert ran.shown("E[X | end = -2.4]") == (f"{posterior.mean.value:.3f}", f"vs exact {posterior.mean.exact:.3f}")
        assert ran.shown("Effective sample size") == (f"{posterior.ess:,.0f}", "of 8,000 runs")
    else:
        answers = page.branch.answers
        for label, question in (
            ("P(X = 1 | a Y was made, Y = 0.8)", "Y was made, = y"),
            ("P(X = 1 | no Y was made)", "no Y was made"),
            ("P(X = 1 | Y = 0.8, existence ignored)", "Y only"),
        ):
            answer = answers[question]
            assert ran.shown(label) == (f"{answer.value:.3f}", f"vs exact {answer.exact:.3f}")
    assert_charts_drawn(made, ran)


# ---- the button on each page -------------------------------------------------------------


@pytest.fixture
def deferred(monkeypatch):
    """The data callable of every deferred download the pages register, by file name."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    registered = {}
    register = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        registered[file_name] = (data_callable, mimetype)
        return register(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return registered


LINKS = [
    ("scale", dict(measurement="12.5", algo="svi", svi_steps="200"), "measurement=12.5"),
    ("hmc", dict(step_size="0.45", num_steps="9", trajectories="30"), "step_size=0.45"),
    ("vi", dict(guide="delta", steps="200", measurement="11.3"), "guide='delta'"),
    ("weather", dict(p_cloudy="0.4", n="2000", seed="3"), "p_cloudy=0.4"),
    ("causal", dict(temp="60", n="5000"), "temp=60.0"),
    ("gmm", dict(data="0,1,10,11,12,30,31", k="3", init="spread", inits="20", steps="100"), "k=3"),
    ("open_world", dict(model="branch", p="0.35", draws="2000"), "p=0.35"),
]


@pytest.mark.parametrize(("page", "link", "setting"), LINKS, ids=[page for page, _, _ in LINKS])
def test_the_page_offers_its_link_s_setting_as_a_valid_notebook(deferred, page, link, setting):
    app = open_page(page, **link)
    buttons = [button for button in app.get("download_button") if button.proto.label == LABEL]
    assert len(buttons) == 1
    name = f"{page.replace('_', '-')}.ipynb"
    assert buttons[0].proto.deferred_file_id and name in deferred
    data, mimetype = deferred[name]
    assert mimetype == "application/x-ipynb+json"
    made = nbformat.reads(data().decode(), as_version=4)
    nbformat.validate(made)
    assert setting in made.cells[0].source
    # Its script is the one the page's code tab shows for this very setting.
    assert lines(script_of(made)) in [lines(code.value) for code in app.code]
