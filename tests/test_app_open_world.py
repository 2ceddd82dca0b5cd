"""AppTest: the open-world page, read back from what it shows."""

import re

import numpy as np
import pytest

from ppl_models import open_world
from tests.apptest_helpers import array, figures, metric, open_page, texts, trace


def test_the_walk_s_posterior_mean_stands_beside_its_exact_value():
    app = open_page("open_world", rate="4.5", end="-1.7", draws="20000", seed="3")
    exact = open_world.walk_posterior(4.5, -1.7)
    exact_mean = float(np.sum(np.arange(len(exact)) * exact))
    shown = metric(app, "E[X | end = -1.7]")
    assert shown.delta == f"vs exact {exact_mean:.3f}"
    result = open_world.explore(open_world.OpenWorldSettings(rate=4.5, end=-1.7), 20_000, 3)
    assert shown.value == f"{result.walk_posterior.mean.value:.3f}"
    assert abs(float(shown.value) - exact_mean) < 4 * result.walk_posterior.mean.standard_error
    # The bars: Pyro's estimate and the exact answer, k by k, as drawn.
    posterior = figures(app)[0]
    bars, line = array(trace(posterior, "Pyro's estimate")["y"]), array(trace(posterior, "exact")["y"])
    assert np.allclose(line, exact[: len(line)])
    assert np.allclose(bars, result.walk_posterior.estimate[: len(bars)])
    assert "HMC and NUTS cannot run" in texts(app.markdown)


def test_runs_hold_different_sets_of_sites_and_two_graphs_show_it():
    app = open_page("open_world")
    frame = app.dataframe[0].value
    assert len(set(frame["sites"])) >= 2
    for sites, listed in zip(frame["sites"], frame["trace"], strict=True):
        assert listed.count("Y_") == sites - 1  # X and Y_0 .. Y_(n-1)
        assert re.match(r"X = \d+, Y_0 = -?\d+\.\d{3}", listed)
    graphs = [chart.proto.spec for chart in app.get("graphviz_chart")]
    assert len(graphs) == 2 and graphs[0].count("Y_") != graphs[1].count("Y_")
    shares = figures(app)[1]
    assert np.isclose(array(trace(shares, "exact")["y"])[0], open_world.site_count_pmf(3.0)[1])


@pytest.mark.parametrize(("p", "y"), [(0.3, 0.5), (0.8, -2.0)])
def test_in_the_branch_existence_is_evidence(p, y):
    app = open_page("open_world", model="branch", p=str(p), end=str(y))
    assert metric(app, f"P(X = 1 | a Y was made, Y = {y:g})").value == "1.000"
    assert metric(app, "P(X = 1 | no Y was made)").value == "0.000"
    ignored = metric(app, f"P(X = 1 | Y = {y:g}, existence ignored)")
    assert ignored.delta == f"vs exact {open_world.branch_exact(p, y)['Y only']:.3f}"
    assert "Existence is evidence" in [h.value for h in app.header]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"rate": "0"}, "rate=0"),
        ({"rate": "-2"}, "rate=-2"),
        ({"rate": "100000"}, "rate=100000"),
        ({"end": "nan"}, "end=nan"),
        ({"end": "inf"}, "end=inf"),
        ({"draws": "999999"}, "draws=999999"),
        ({"model": "tree"}, "model=tree"),
    ],
)
def test_bad_link_values_get_a_note_and_the_page_still_answers(query, said):
    app = open_page("open_world", **query)
    notes = texts(app.warning)
    assert said in notes and "Some values in the link were ignored" in notes
    assert "vs exact" in metric(app, "E[X | end = 2]").delta


def test_a_rate_past_the_cap_is_told_why():
    notes = texts(open_page("open_world", rate="100000").warning)
    assert "rate=100000" in notes and "about rate sample sites" in notes
    assert "is not a finite number" in texts(open_page("open_world", end="inf").warning)


def test_a_rate_and_draws_over_the_work_bound_are_refused_with_a_reason():
    app = open_page("open_world", rate="50", draws="50000")
    assert "more than the 2,000,000 one run may take" in texts(app.error)
