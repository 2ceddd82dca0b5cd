"""AppTest: A pinned beside B on the scale, causal and mixture pages, read back from what they show.

Every number is checked against the page's entry function run here on A's and on B's setting.
"""

import numpy as np
import pytest

from ppl_models import causal, gmm, scale
from ppl_models.causal import CausalSettings
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings
from ppl_models.scale import ScaleSettings
from ppl_models.weather import WeatherSettings
from tests.apptest_helpers import array, figures, metric, open_page, texts, trace
from ui.compare import HEADING
from ui.compare_views import SCALE
from ui.link_notes import NOTE_HEADING
from ui.run_cache import SHARED
from ui.text import literal

FAST = dict(algo="nuts", samples="300", warmup="100")
FAST_MCMC = McmcSettings(kernel="nuts", num_samples=300, warmup_steps=100)
FAST_PIN = (
    "measurement:14,guess:10,prior_sd:1,noise_sd:0.75,algo:nuts,samples:300,warmup:100,chains:1,"
    "step_size:0.9,num_steps:4,adapt:true,hold_steps:false,hmc_impl:batched,seed:0"
)
SVI_FAST = dict(algo="svi", svi_steps="200")


def notes(app) -> list[str]:
    return [w.value for w in app.warning if w.value.startswith(NOTE_HEADING)]


def labels(app) -> list[str]:
    return [m.label for m in app.metric]


def figure(app, title: str) -> dict:
    matches = [f for f in figures(app) if f["layout"]["title"]["text"] == title]
    assert matches, [f["layout"]["title"]["text"] for f in figures(app)]
    return matches[0]


def differing(app) -> list[list[str]]:
    (table,) = [frame.value for frame in app.dataframe if list(frame.value.columns) == ["setting", "A", "B"]]
    return table.values.tolist()


def table_with(app, column: str):
    (table,) = [frame.value for frame in app.dataframe if column in frame.value.columns]
    return table


def assert_side(app, side: str, result, query: ScaleSettings) -> None:
    exact = scale.exact_posterior(query)
    mean, sd = metric(app, f"{side}: posterior mean"), metric(app, f"{side}: posterior sd")
    assert mean.value == f"{result.mean:.3f}" and f"vs exact {exact.mean:.3f}" in mean.delta
    assert sd.value == f"{result.sd:.3f}" and f"vs exact {exact.sd:.3f}" in sd.delta
    chart = figure(app, "P(weight | measurement): A and B")
    np.testing.assert_allclose(array(trace(chart, f"{side}: samples")["x"]), result.weight_draws.reshape(-1))
    curve = trace(chart, f"{side}: exact posterior")
    peak = array(curve["x"])[int(np.argmax(array(curve["y"])))]
    assert peak == pytest.approx(exact.mean, abs=0.05)


# ---- the scale page ----------------------------------------------------------------------------


def test_scale_pin_a_move_the_measurement_and_see_a_beside_b_then_unpin():
    app = open_page("scale", **FAST)
    assert HEADING in [h.value for h in app.header] and "A: posterior mean" not in labels(app)
    app.button(key="compare-pin").click().run()
    assert app.query_params["pin"] == FAST_PIN
    assert "A is pinned, and it is the current setting" in texts(app.caption)
    app.slider(key="measurement").set_value(9.5).run()
    assert not app.exception and app.query_params["pin"] == FAST_PIN
    a = scale.infer_weight(ScaleSettings(), FAST_MCMC)
    b = scale.infer_weight(ScaleSettings(measurement=9.5), FAST_MCMC)
    assert_side(app, "A", a, ScaleSettings())
    assert_side(app, "B", b, ScaleSettings(measurement=9.5))
    assert metric(app, "B: posterior mean").value == metric(app, "Posterior mean").value
    assert differing(app) == [["Observed measurement", "14", "9.5"]]
    app.button(key="compare-unpin").click().run()
    assert "pin" not in app.query_params
    assert "A: posterior mean" not in labels(app) and metric(app, "Posterior mean").value == f"{b.mean:.3f}"
    assert not [frame for frame in app.dataframe if list(frame.value.columns) == ["setting", "A", "B"]]


def test_scale_a_link_with_a_pin_opens_the_same_comparison_in_a_fresh_session():
    """A comes from the link alone, computed again here: the cache is empty at the start of a test."""
    app = open_page("scale", measurement="9.5", guess="8", pin=FAST_PIN, **FAST)
    a = scale.infer_weight(ScaleSettings(), FAST_MCMC)
    b = scale.infer_weight(ScaleSettings(measurement=9.5, guess=8.0), FAST_MCMC)
    assert_side(app, "A", a, ScaleSettings())
    assert_side(app, "B", b, ScaleSettings(measurement=9.5, guess=8.0))
    assert differing(app) == [["Observed measurement", "14", "9.5"], ["Prior guess of the weight", "10", "8"]]
    assert not notes(app)


def test_scale_a_and_b_with_different_algorithms_list_what_each_does_not_use():
    app = open_page("scale", pin="algo:svi,svi_steps:200", **FAST)
    a = scale.infer_weight(ScaleSettings(), SviSettings(num_steps=200))
    assert metric(app, "A: posterior mean").value == f"{a.mean:.3f}"
    rows = differing(app)
    assert rows[0] == ["Inference algorithm", "svi", "nuts"]
    assert ["Samples per chain", "(not used)", "300"] in rows and ["SVI steps", "200", "(not used)"] in rows


HOSTILE = "x`\n# Session expired\n[Log in again](http://evil.example)` :red[a] :material/warning: $x$"


@pytest.mark.parametrize(
    "pin, problem",
    [
        ("measurement:abc", "sets `measurement` to `abc`, which is not a number"),
        ("measurement:99", "sets `measurement` to `99`, which is outside 0 to 30"),
        ("measurement:12,measurement:13", "sets `measurement` twice"),
        ("measurement=12", "is not a list of name:value pairs such as `pin=measurement:14,guess:10`"),
        ("temp:80", "names `temp`, which is no setting of this page"),
        ("measurement:" + "1" * 3000, f"is longer than {SCALE.max_chars:,} characters"),
        (f"measurement:{HOSTILE}", f"sets `measurement` to {literal(HOSTILE)}, which is not a number"),
    ],
    ids=["malformed", "out-of-range", "repeated", "no-pairs", "unknown", "too-long", "markup"],
)
def test_scale_a_bad_pin_gets_a_note_and_the_page_works_without_the_comparison(pin, problem):
    app = open_page("scale", pin=pin, **SVI_FAST)
    (note,) = notes(app)
    quoted = literal(f"pin={pin}")
    assert f"- {quoted} {problem}; showing no comparison." in note
    assert len(note) < 600
    rest = note.replace(quoted, "").replace(literal(HOSTILE), "")
    for fragment in ("Session expired", "evil.example", ":red[", "material", "$x$"):
        assert fragment not in rest
    assert "pin" not in app.query_params  # the link to share holds no bad pin
    assert "A: posterior mean" not in labels(app)
    assert abs(float(metric(app, "Posterior mean").value) - 12.56) < 0.1
    assert [b.key for b in app.button if b.key == "compare-pin"] == ["compare-pin"]
    app.run()
    assert notes(app) == [note]


def test_scale_a_repeated_pin_uses_its_last_value_with_a_note():
    last = "measurement:12,algo:svi,svi_steps:200"
    app = open_page("scale", pin=["measurement:abc", last], **SVI_FAST)
    assert f"`pin` appears 2 times in the link; using the last, `{last}`." in notes(app)[0]
    a = scale.infer_weight(ScaleSettings(measurement=12.0), SviSettings(num_steps=200))
    assert metric(app, "A: posterior mean").value == f"{a.mean:.3f}"
    assert differing(app) == [["Observed measurement", "12", "14"]]


# ---- the causal page ---------------------------------------------------------------------------


def causal_numbers(app, side: str, answers: causal.CausalAnswers) -> None:
    q = answers.question
    expected = {
        f"E[sales | temp = {q.temp:g}]": answers.conditioned,
        f"E[sales | do(temp = {q.temp:g})]": answers.intervened,
        f"E[sales | do(weather = {q.do_weather})]": answers.weather_intervened,
        "E[counterfactual sales]": answers.counterfactual,
    }
    for label, answer in expected.items():
        shown = metric(app, f"{side}: {label}")
        assert (shown.value, shown.delta) == (f"{answer.mean:.1f}", f"exact {answer.exact:.1f}")
    chart = figure(app, "The answers of A and B")
    estimates = [answer.mean for answer in expected.values()]
    np.testing.assert_allclose(array(trace(chart, f"{side}: estimate")["y"]), estimates)
    np.testing.assert_allclose(array(trace(chart, f"{side}: exact")["y"]), [a.exact for a in expected.values()])


def test_causal_pin_a_change_the_temperature_see_a_beside_b_and_open_the_link():
    app = open_page("causal")
    app.button(key="compare-pin").click().run()
    pin = app.query_params["pin"]
    assert pin.startswith("p_cloudy:0.3,cloudy_mean:55,") and pin.endswith(",cf_temp:90")
    app.slider(key="temp").set_value(78.0).run()
    app.radio(key="do_weather").set_value("cloudy").run()
    a = causal.answer(WeatherSettings(), CausalSettings(), 20_000, 0)
    b = causal.answer(WeatherSettings(), CausalSettings(temp=78.0, do_weather="cloudy"), 20_000, 0)
    causal_numbers(app, "A", a)
    causal_numbers(app, "B", b)
    assert metric(app, "B: E[sales | temp = 78]").value == metric(app, "E[sales | temp = 78]").value
    assert differing(app) == [["Temperature t (°F)", "85", "78"], ["Force the weather", "sunny", "cloudy"]]

    SHARED.clear()  # the link alone, in a new session, with nothing cached
    link = open_page("causal", temp="78", do_weather="cloudy", pin=pin)
    causal_numbers(link, "A", a)
    causal_numbers(link, "B", b)
    assert differing(link) == differing(app)

    app.button(key="compare-unpin").click().run()
    assert "pin" not in app.query_params and not [label for label in labels(app) if label.startswith("A: ")]


def test_causal_a_malformed_pin_gets_a_note_and_the_page_works():
    app = open_page("causal", pin="temp:hot,sales_sd:10")
    (note,) = notes(app)
    assert "- `pin=temp:hot,sales_sd:10` sets `temp` to `hot`, which is not a number; showing no comparison." in note
    assert metric(app, "E[sales | temp = 85]").delta == "exact 198.7"
    assert not [label for label in labels(app) if label.startswith("A: ")]


# ---- the mixture page --------------------------------------------------------------------------

QUICK = dict(steps="100", inits="20")
QUICK_FIT = gmm.GmmSettings(steps=100, inits=20)


def mixture_side(app, side: str, fit, data) -> None:
    table = table_with(app, f"{side}: weight")
    np.testing.assert_allclose(table[f"{side}: weight"], fit.weights)
    np.testing.assert_allclose(table[f"{side}: loc"], fit.locs)
    assert metric(app, f"{side}: scale").value == f"{fit.scale:.3f}"
    curve = trace(figure(app, "The fitted mixtures of A and B"), f"{side}: mixture")
    x = array(curve["x"])
    z = (x[:, None] - fit.locs[None, :]) / fit.scale
    expected = (fit.weights * np.exp(-0.5 * z * z)).sum(axis=1) / (fit.scale * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(array(curve["y"]), expected, rtol=1e-6)
    np.testing.assert_allclose(array(trace(figure(app, "The fitted mixtures of A and B"), f"{side}: data")["x"]), data)


def test_gmm_pin_a_change_the_data_see_both_fits_and_open_the_link():
    app = open_page("gmm", **QUICK)
    app.button(key="compare-pin").click().run()
    pin = app.query_params["pin"]
    assert pin.startswith("source:numbers,data:0 1 10 11 12,k:2,init:lecture,")
    app.text_input(key="data").input("0, 1, 2, 10, 11, 12").run()
    b_data = (0.0, 1.0, 2.0, 10.0, 11.0, 12.0)
    a = gmm.fit_map(gmm.LECTURE_DATA, gmm.GmmPrior(), QUICK_FIT)
    b = gmm.fit_map(b_data, gmm.GmmPrior(), QUICK_FIT)
    mixture_side(app, "A", a, gmm.LECTURE_DATA)
    mixture_side(app, "B", b, b_data)
    assert metric(app, "B: scale").value == metric(app, "scale").value
    assert differing(app) == [["Numbers (comma-separated)", "0 1 10 11 12", "0 1 2 10 11 12"]]

    SHARED.clear()
    link = open_page("gmm", data="0,1,2,10,11,12", pin=pin, **QUICK)
    mixture_side(link, "A", a, gmm.LECTURE_DATA)
    mixture_side(link, "B", b, b_data)

    app.button(key="compare-unpin").click().run()
    assert "pin" not in app.query_params and "A: scale" not in labels(app)


@pytest.mark.parametrize(
    "pin, problem",
    [
        ("source:numbers,data:1 2 x", "holds a setting the page cannot run: Entry 3, 'x', is not a number."),
        ("source:table", "pins a setting that cannot be compared: the data of a table or an uploaded file"),
        ("k:9", "sets `k` to `9`, which is outside 1 to 6"),
    ],
)
def test_gmm_a_bad_pin_gets_a_note_and_the_lecture_fit_still_shows(pin, problem):
    app = open_page("gmm", pin=pin, **QUICK)
    (note,) = notes(app)
    assert f"- {literal(f'pin={pin}')} {problem}" in note
    assert "A: scale" not in labels(app) and metric(app, "scale").value == "0.651"


def test_gmm_a_table_s_data_cannot_be_pinned_and_the_button_says_why():
    app = open_page("gmm", source="table", **QUICK)
    (button,) = [b for b in app.button if b.key == "compare-pin"]
    assert button.disabled and "do not travel in a link" in button.help
    assert "This setting cannot be pinned" in texts(app.caption)
