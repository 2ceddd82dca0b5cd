"""AppTest: the Gaussian-mixture page, read back from what it shows."""

import html
import re

import numpy as np
import pytest
import torch

from tests.apptest_helpers import (
    array,
    assert_tables_use_the_decimal_rule,
    expander_text,
    figures,
    metric,
    open_page,
    screen_reader_texts,
    texts,
    trace,
)
from ui.charts import summary_of
from ui.panels import GLOSSARY, SAMPLER_TERMS


def estimates(app):
    return table_with(app, "loc")


def table_with(app, column: str):
    """The page's table that has ``column`` (a collapsed fit adds a comparison table)."""
    tables = [frame.value for frame in app.dataframe if column in frame.value.columns]
    assert tables, f"no table with {column!r}"
    return tables[0]


def test_defaults_reproduce_the_lecture_fit():
    app = open_page("gmm")
    table = estimates(app)
    assert list(table.columns) == ["component", "weight", "loc"]
    np.testing.assert_allclose(table["weight"], [0.375, 0.625], atol=0.05)
    np.testing.assert_allclose(table["loc"], [0.50, 10.98], atol=0.05)
    assert float(metric(app, "scale").value) == pytest.approx(0.65, abs=0.05)
    density = figures(app)[0]
    names = [t["name"] for t in density["data"]]
    assert names == ["component 1", "component 2", "mixture", "data"]
    np.testing.assert_allclose(array(trace(density, "data")["x"]), [0, 1, 10, 11, 12])


def test_every_initialisation_is_shown_with_the_chosen_one_marked():
    app = open_page("gmm", inits="40")
    starts = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("Initial loss"))
    losses = array(trace(starts, "initial loss")["y"])
    assert losses.shape == (40,)
    assert array(trace(starts, "chosen")["y"])[0] == pytest.approx(losses.min())


PROBABILITY_TEXT = re.compile(r"^(< 0\.001|> 0\.999|0\.\d{3})$")


def probability_value(text: str) -> float:
    """A shown probability back as a number, the ends at their bounds."""
    ends = {"< 0.001": 0.0, "> 0.999": 1.0}
    return ends[text] if text in ends else float(text)


def test_membership_table_assigns_the_lecture_points():
    app = open_page("gmm")
    members = table_with(app, "MAP component")
    assert list(members["MAP component"]) == [1, 1, 2, 2, 2]
    # Each point is all but certainly in its cluster: said so, not rounded to 1.000 and 0.000.
    assert list(members["P(component 1)"]) == ["> 0.999", "> 0.999", "< 0.001", "< 0.001", "< 0.001"]
    assert list(members["P(component 2)"]) == ["< 0.001", "< 0.001", "> 0.999", "> 0.999", "> 0.999"]


def test_membership_with_six_components_shows_every_column_at_three_decimals():
    app = open_page("gmm", k="6", data="-20, -19, -10, -9, 0, 1, 10, 11, 20, 21, 30, 31")
    members = table_with(app, "MAP component")
    shares = [f"P(component {k})" for k in range(1, 7)]
    assert list(members.columns) == ["x", "MAP component", *shares]
    for column in shares:
        assert all(PROBABILITY_TEXT.match(text) for text in members[column]), list(members[column])
    values = members[shares].map(probability_value).to_numpy()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=6 * 0.001)
    np.testing.assert_array_equal(values.argmax(axis=1) + 1, members["MAP component"])


def test_changing_k_refits_with_k_components():
    app = open_page("gmm")
    app.slider(key="k").set_value(3).run()
    assert len(estimates(app)) == 3
    assert np.isclose(estimates(app)["weight"].sum(), 1.0)


def test_new_data_from_the_link_is_fit():
    app = open_page("gmm", data="-4, -3.5, -3, 6, 6.5, 7")
    np.testing.assert_allclose(estimates(app)["loc"], [-3.5, 6.5], atol=0.1)
    assert app.text_input(key="data").value == "-4, -3.5, -3, 6, 6.5, 7"


def test_synthetic_data_draws_the_truth_and_recovers_it():
    app = open_page("gmm", source="synthetic", true_locs="-5, 5", true_n="2000")
    np.testing.assert_allclose(estimates(app)["loc"], [-5, 5], atol=0.15)
    assert "true mixture" in [t["name"] for t in figures(app)[0]["data"]]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"data": ""}, "The data set is empty"),
        ({"data": "1, 2, abc"}, "Entry 3, 'abc', is not a number."),
        ({"data": "1, nan, 3"}, "Point 2 is nan"),
        ({"data": "1, inf"}, "Point 2 is inf"),
        ({"data": "5"}, "A single point cannot be fit"),
        ({"data": "1, 2, 3", "k": "4"}, "K = 4 components for 3 points"),
        ({"data": "2, 2, 2"}, "All 3 points equal 2"),
        ({"source": "csv"}, "Upload a CSV file"),
    ],
)
def test_bad_data_gets_a_clear_message_and_the_app_keeps_working(query, message):
    app = open_page("gmm", **query)
    assert message in texts(app.error)
    assert not app.exception


def test_after_bad_data_good_data_fits_again():
    app = open_page("gmm", data="1, two")
    assert "is not a number" in texts(app.error)
    app.text_input(key="data").set_value("0, 1, 10, 11, 12").run()
    assert not app.error
    np.testing.assert_allclose(estimates(app)["loc"], [0.50, 10.98], atol=0.05)


@pytest.fixture(scope="module")
def nuts_app():
    """The lecture's page with NUTS on, run once for the tests that read it."""
    app = open_page("gmm")
    assert "Label switching" in texts(app.markdown)
    app.toggle(key="nuts").set_value(True).run(timeout=300)
    assert not app.exception, [e.value for e in app.exception]
    return app


def figure_titled(app, title: str) -> dict:
    matches = [f for f in figures(app) if f["layout"]["title"]["text"] == title]
    assert matches, f"no chart {title!r}; have {[f['layout']['title']['text'] for f in figures(app)]}"
    return matches[0]


def test_nuts_shows_both_chains_and_explains_label_switching(nuts_app):
    traces = [f for f in figures(nuts_app) if f["layout"]["title"]["text"].startswith("Trace of locs")]
    assert len(traces) == 2 and [t["name"] for t in traces[0]["data"]] == ["chain 1", "chain 2"]
    # The seeded run's chains settle under opposite labels and also cross within a chain.
    notes = texts(nuts_app.warning)
    assert "Label switching between chains 1 and 2" in notes
    assert "locs[0] averages" in notes and "in chain 1 but" in notes
    assert "Label switching within chain 1" in notes and "Label switching within chain 2" in notes
    assert "R-hat of locs[0] (" in notes
    assert "comes from label switching, not necessarily from a failed sampler" in notes


def test_nuts_advice_is_in_plain_words(nuts_app):
    advice = texts(nuts_app.error)
    assert "Don't trust this posterior yet." in advice
    assert "divergent transitions" in advice and "Effective sample size is only" in advice
    # With labels switched, the advice reads the sorted quantities: no R-hat of a label.
    assert all("locs[" not in line for line in advice.splitlines() if "R-hat is" in line)


def test_every_table_shows_its_numbers_to_one_number_of_decimals(nuts_app):
    # Estimates, membership, the label-free summary and the two diagnostics tables.
    assert assert_tables_use_the_decimal_rule(nuts_app) == 5


def test_nuts_draws_the_posterior_without_labels(nuts_app):
    locations = figure_titled(nuts_app, "Locations, sorted in each draw")
    low, high = (array(trace(locations, name)["x"]) for name in ("lowest location", "highest location"))
    assert low.shape == high.shape == (300,)  # 2 chains of 150 draws
    assert np.all(low <= high)
    # Near the lecture's MAP clusters (0.50 and 10.98), within a posterior sd of each.
    assert abs(low.mean() - 0.50) < low.std() and abs(high.mean() - 10.98) < high.std()
    np.testing.assert_allclose([s["x0"] for s in locations["layout"]["shapes"]], [0.50, 10.98], atol=0.05)
    weights = figure_titled(nuts_app, "Weights, in the order of the locations")
    w_low, w_high = (array(trace(weights, name)["x"]) for name in ("lowest location", "highest location"))
    np.testing.assert_allclose(w_low + w_high, 1.0, rtol=1e-5)
    scale = array(trace(figure_titled(nuts_app, "The shared scale"), "scale")["x"])
    assert scale.shape == (300,) and np.all(scale > 0)
    summary = next(table.value for table in nuts_app.dataframe if "quantity" in table.value.columns)
    assert list(summary["quantity"]) == [
        "scale",
        "lowest location",
        "highest location",
        "weight of the lowest location",
        "weight of the highest location",
    ]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback when no GPU is present")
def test_asking_for_cuda_without_a_gpu_fits_on_the_cpu_and_says_so():
    app = open_page("gmm", device="cuda")
    assert "CUDA was requested but no GPU is available here; ran on the CPU." in texts(app.info)
    # The lecture's answer, as on the CPU: the weights 0.375 / 0.625 in either label order.
    assert sorted(np.round(estimates(app)["weight"], 3)) == [0.375, 0.625]


# The first experiment: the lecture's data plus a third group, at K = 3.
THREE_GROUPS = "0, 1, 10, 11, 12, 30, 31"


def test_a_collapsed_fit_is_named_explained_and_fixed_in_one_click():
    app = open_page("gmm", data=THREE_GROUPS, k="3")
    warning = texts(app.error)
    assert "Don't trust this fit yet." in warning
    assert "Components 1 and 2 (weights 0.000 at" in warning and "uses 1 of its 3 components" in warning
    said = texts(app.markdown)
    assert "**The start.**" in said and "put them at 10.00, 11.00 and 12.00" in said
    assert "**The prior.** MAP prefers this fit" in said
    compared = table_with(app, "loss (this page's prior)")
    assert list(compared["fit"]) == ["this fit", "a spread-out start", "a spread-out start, concentration 1"]
    # MAP's objective prefers the collapse; the likelihood does not.
    assert compared["loss (this page's prior)"][0] < compared["loss (this page's prior)"][1]
    assert compared["log-likelihood"][0] < compared["log-likelihood"][1]
    # Estimates, membership and the comparison: one number of decimals in every column.
    assert assert_tables_use_the_decimal_rule(app) == 3

    fix = next(button for button in app.button if button.label.startswith("Apply the fix"))
    assert fix.label == "Apply the fix: init = spread, concentration = 1"
    fix.click().run()
    assert not app.exception
    assert app.query_params["init"] == "spread" and float(app.query_params["concentration"]) == 1.0
    assert "Don't trust this fit yet." not in texts(app.error)
    weights = estimates(app)["weight"]
    locs = estimates(app)["loc"]
    np.testing.assert_allclose(locs, [0.5, 11.0, 30.5], atol=0.2)
    assert min(weights) > 0.2


def test_the_spread_start_is_in_the_link_and_finds_every_group():
    app = open_page("gmm", data=THREE_GROUPS, k="3", init="spread")
    assert "Don't trust this fit yet." not in texts(app.error)
    np.testing.assert_allclose(estimates(app)["loc"], [0.5, 11.0, 30.5], atol=0.2)
    starts = next(f for f in figures(app) if f["layout"]["title"]["text"].startswith("Each spread-out start"))
    scores = array(trace(starts, "mean squared distance")["y"])
    assert array(trace(starts, "chosen")["y"])[0] == pytest.approx(scores.min())


def test_a_bad_start_in_the_link_is_named():
    app = open_page("gmm", init="<b>far</b>")
    notes = texts(app.warning) + texts(app.info) + texts(app.error)
    assert "init" in notes and "is not one of lecture, spread" in notes
    np.testing.assert_allclose(estimates(app)["weight"], [0.375, 0.625], atol=0.05)


def test_the_nuts_words_are_explained_and_every_chart_is_summarised(nuts_app):
    meanings = expander_text(nuts_app, "What these numbers mean")
    assert all(GLOSSARY[term] in meanings for term in SAMPLER_TERMS)
    # The advice, the first place the NUTS run names its problems, explains the words it uses.
    words = expander_text(nuts_app, "What these words mean")
    assert "**divergences**: " + GLOSSARY["divergences"] in words and "**ESS**: " in words
    shown = screen_reader_texts(nuts_app)
    for figure in figures(nuts_app):
        assert html.escape(summary_of(figure)) in shown
    assert "A mixture of 2 normal components" in shown
