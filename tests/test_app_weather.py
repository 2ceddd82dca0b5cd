"""AppTest: the stochastic-functions page, read back from what it shows."""

import re

import numpy as np
import pytest

from ppl_models import weather
from ppl_models.weather import WeatherSettings
from tests.apptest_helpers import array, assert_tables_use_the_decimal_rule, figures, metric, open_page, texts, trace


def test_defaults_show_estimates_beside_the_exact_values():
    app = open_page("weather")
    for label, exact in [("P(cloudy)", 0.3), ("P(high-sales day)", 0.2586), ("E[sales]", 88.791)]:
        shown = metric(app, label)
        assert f"exact {exact:.3f}" in shown.delta
        assert abs(float(shown.value) - exact) < 0.02 * max(1, exact)


def test_first_draws_are_printed_as_the_lecture_prints_them():
    app = open_page("weather")
    first = app.dataframe[0].value
    assert len(first) == 8
    assert all(re.fullmatch(r"\('(cloudy|sunny)', -?\d+\.\d{3}\)", row) for row in first["weather()"])
    assert assert_tables_use_the_decimal_rule(app) == 1


def test_temperature_histogram_is_split_by_weather_with_the_exact_curves():
    app = open_page("weather", n="20000")
    by_title = {f["layout"]["title"]["text"]: f for f in figures(app)}
    temperature = by_title["Temperature, split by weather"]
    names = [t["name"] for t in temperature["data"]]
    assert names == ["cloudy", "sunny", "exact, cloudy share", "exact, sunny share"]
    width = np.diff(array(trace(temperature, "cloudy")["x"]))[0]
    cloudy_share = array(trace(temperature, "cloudy")["y"]).sum() * width
    assert cloudy_share == pytest.approx(0.3, abs=0.02)
    sales = by_title["Ice-cream sales"]
    assert array(trace(sales, "samples")["x"]).shape == (20000,)


def test_changing_p_cloudy_moves_the_exact_and_estimated_values():
    app = open_page("weather")
    app.slider(key="p_cloudy").set_value(0.6).run()
    params = WeatherSettings(p_cloudy=0.6)
    assert "exact 0.600" in metric(app, "P(cloudy)").delta
    assert f"exact {weather.p_high_regime(params):.3f}" in metric(app, "P(high-sales day)").delta
    assert abs(float(metric(app, "P(cloudy)").value) - 0.6) < 0.02


def test_a_link_sets_the_model_and_a_malformed_value_gets_a_note():
    app = open_page("weather", threshold="90", n="abc")
    assert app.slider(key="threshold").value == 90.0
    assert "`n=abc` is not a number; using 10000 instead." in texts(app.warning)
    params = WeatherSettings(threshold=90.0)
    assert f"exact {weather.p_high_regime(params):.3f}" in metric(app, "P(high-sales day)").delta


def test_impossible_numbers_cannot_be_entered():
    app = open_page("weather", p_cloudy="1.5", sales_sd="-1")
    notes = texts(app.warning)
    assert "`p_cloudy=1.5` is outside 0 to 1" in notes and "`sales_sd=-1` is outside 0.5 to 100" in notes
    assert "exact 0.300" in metric(app, "P(cloudy)").delta


def test_a_rare_weather_the_draws_never_made_is_named_beside_its_estimate():
    # With P(cloudy) = 0.01, ten draws are usually all sunny: the estimate 0 has a sample
    # standard error of 0, so only the exact value shows that the draws were too few.
    app = open_page("weather", n="10", p_cloudy="0.01")
    assert metric(app, "P(cloudy)").value == "0.000"
    assert "P(cloudy) from 10 draws is 0.01 from the exact value" in texts(app.warning)


def test_the_sidebar_s_device_reaches_the_simulation_and_its_fallback_note_is_shown(monkeypatch):
    """The run is keyed and made on the sidebar's device; a note from the run (cuda asked
    for without a GPU, say) is shown above the numbers."""
    from dataclasses import replace

    from ui.run_cache import SHARED
    from ui.runs import cache_key

    asked = []
    real = weather.simulate

    def simulate(params, num_draws, seed, device="auto"):
        asked.append(device)
        return replace(real(params, num_draws, seed, device), device_note="No GPU here: ran on the CPU.")

    monkeypatch.setattr(weather, "simulate", simulate)
    app = open_page("weather", device="cpu")
    assert asked == ["cpu"]
    assert SHARED.peek(cache_key(simulate, WeatherSettings(), 10_000, 0, "cpu")) is not None
    assert "No GPU here: ran on the CPU." in texts(app.info)


def test_the_graph_caption_speaks_of_shading_only_where_a_node_is_shaded():
    app = open_page("weather")
    captions = texts(app.caption)
    assert "Nothing is observed here, so no node is shaded." in captions
    assert "shaded nodes are observed" not in captions
