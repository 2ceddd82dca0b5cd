"""AppTest: the interventions-and-counterfactuals page, read back from what it shows."""

import pytest

from ppl_models import weather
from ppl_models.weather import WeatherSettings
from tests.apptest_helpers import array, expander_text, figures, metric, open_page, screen_reader_texts, texts
from ui.panels import GLOSSARY


def value_and_exact(app, label: str) -> tuple[float, float]:
    shown = metric(app, label)
    return float(shown.value), float(shown.delta.removeprefix("exact "))


def test_defaults_show_the_confounding_gap():
    app = open_page("causal")
    seen, seen_exact = value_and_exact(app, "E[sales | temp = 85]")
    done, done_exact = value_and_exact(app, "E[sales | do(temp = 85)]")
    assert seen_exact == pytest.approx(198.7) and done_exact == pytest.approx(155.0)
    assert seen == pytest.approx(198.7, abs=1.0) and done == pytest.approx(155.0, abs=2.0)
    assert value_and_exact(app, "E[counterfactual sales]") == (198.0, 198.0)
    assert "differ by +43.7" in texts(app.info)
    explained = texts(app.markdown)
    assert "likelihood weighting" in explained and "MultiWorldCounterfactual" in explained
    comparison = next(f for f in figures(app) if f["layout"]["title"]["text"] == "Seeing vs doing")
    assert [t["name"] for t in comparison["data"]] == ["sales | temp = 85", "sales | do(temp = 85)"]


def test_moving_t_relabels_and_recomputes_every_answer():
    app = open_page("causal")
    app.slider(key="temp").set_value(78.0).run()
    params = WeatherSettings()
    _, seen_exact = value_and_exact(app, "E[sales | temp = 78]")
    _, done_exact = value_and_exact(app, "E[sales | do(temp = 78)]")
    assert seen_exact == pytest.approx(round(weather.exact_conditional_sales(params, 78.0), 1))
    assert done_exact == pytest.approx(50.0)
    assert "No gap at 78°" in texts(app.info)


def test_the_intervened_graph_cuts_the_edge_into_temp():
    app = open_page("causal")
    observed, intervened = (g.proto.spec for g in app.get("graphviz_chart"))
    assert "cloudy -> temp" in observed
    assert "cloudy -> temp" not in intervened and 'label="do(temp = 85)"' in intervened
    assert "cloudy -> ice_cream" in intervened
    # The legend says temp is set, not drawn, and names ice_cream's distribution as the code writes it.
    assert "temp = 85 (set by do)" in intervened and "temp ~ Normal" not in intervened
    assert "temp ~ Normal" in observed and "ice_cream ~ Normal then AffineTransform" in observed


def test_an_observed_cloudy_day_keeps_its_sales_when_hotter():
    app = open_page("causal", obs_weather="cloudy", obs_temp="60", obs_sales="57", cf_temp="100")
    assert value_and_exact(app, "E[counterfactual sales]") == (57.0, 57.0)


def test_forcing_the_weather():
    app = open_page("causal", do_weather="cloudy")
    assert value_and_exact(app, "E[sales | do(weather = cloudy)]")[1] == 50.0


def test_impossible_evidence_is_explained_not_drawn_confidently():
    app = open_page("causal", temp="200")
    assert "temp = 200 is 8.3 standard deviations" in texts(app.warning)
    assert not app.exception


def test_malformed_links_fall_back_with_a_note():
    app = open_page("causal", obs_weather="rainy", cf_temp="hot")
    notes = texts(app.warning)
    assert "`obs_weather=rainy` is not one of cloudy, sunny, unknown; using 'sunny' instead." in notes
    assert "`cf_temp=hot` is not a number; using 90.0 instead." in notes
    assert value_and_exact(app, "E[counterfactual sales]") == (198.0, 198.0)


def test_the_sidebar_s_device_reaches_the_answers(monkeypatch):
    from ppl_models import causal

    asked = []
    real = causal.answer

    def answer(params, question, num_draws, seed, device="auto"):
        asked.append(device)
        return real(params, question, num_draws, seed, device)

    monkeypatch.setattr(causal, "answer", answer)
    open_page("causal", device="cpu")
    assert asked == ["cpu"]


def test_a_counterfactual_the_day_fixes_is_drawn_as_a_labelled_point_mass():
    app = open_page("causal", obs_weather="cloudy", obs_temp="60", obs_sales="57", cf_temp="100")
    chart = next(f for f in figures(app) if f["layout"]["title"]["text"] == "The observed day and its counterfactual")
    stems = [t for t in chart["data"] if "every draw" in t["name"]]
    assert [t["name"] for t in stems] == ["factual sales: every draw 57.0", "had it been 100°: every draw 57.0"]
    assert all(list(array(t["y"])) == [1.0] for t in stems)
    assert chart["layout"]["yaxis"]["title"]["text"] == "probability per bin"


def test_the_effective_sample_size_is_explained_and_the_charts_summarised():
    app = open_page("causal")
    assert GLOSSARY["ESS"] in metric(app, "E[sales | temp = 85]").help
    assert "**ESS**: " + GLOSSARY["ESS"] in expander_text(app, "What these numbers mean")
    shown = screen_reader_texts(app)
    assert "Chart: Seeing vs doing. Overlaid histograms of ice_cream: sales | temp = 85: 20,000 weighted draws" in shown
    assert "Chart: The observed day and its counterfactual." in shown
