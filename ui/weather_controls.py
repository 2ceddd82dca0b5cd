"""URL-bound controls of the weather and causal pages: the model's numbers and the questions."""

from __future__ import annotations

from ppl_models import causal
from ppl_models.causal import CausalSettings
from ppl_models.engine.sampling import MAX_DRAWS
from ppl_models.weather import WeatherSettings
from ui.controls import Choice, Control, Slider, build, render


def _number(name: str, label: str, low: float, high: float, step: float, help: str) -> Slider:
    return Slider.for_field(WeatherSettings, name, label=label, min=low, max=high, step=step, help=help)


WEATHER_CONTROLS: list[Control] = [
    _number("p_cloudy", "P(cloudy)", 0.0, 1.0, 0.01, "cloudy ~ Bernoulli(P(cloudy)). The lecture: 0.3."),
    _number("cloudy_mean", "Mean temperature, cloudy (°F)", -20.0, 120.0, 1.0, "temp ~ Normal(mean, sd), cloudy."),
    _number("cloudy_sd", "Temperature sd, cloudy (°F)", 0.5, 40.0, 0.5, "Spread of a cloudy day's temperature."),
    _number("sunny_mean", "Mean temperature, sunny (°F)", -20.0, 120.0, 1.0, "temp ~ Normal(mean, sd), sunny."),
    _number("sunny_sd", "Temperature sd, sunny (°F)", 0.5, 40.0, 0.5, "Spread of a sunny day's temperature."),
    _number("threshold", "Hot-day threshold (°F)", -20.0, 120.0, 1.0, "Hotter sunny days sell the high amount."),
    _number("high_sales", "Sales on a hot sunny day", 0.0, 500.0, 5.0, "Expected sales when sunny and hot."),
    _number("low_sales", "Sales otherwise", 0.0, 500.0, 5.0, "Expected sales on every other day."),
    _number("sales_sd", "Sales noise sd", 0.5, 100.0, 0.5, "ice_cream ~ Normal(expected sales, sd)."),
]


def draw_count(default: int) -> Slider:
    """How many draws; each page has its own default (no settings class holds it)."""
    return Slider(
        "n",
        "Number of draws",
        10,
        MAX_DRAWS,
        default,
        10,
        "How many days Pyro simulates, all at once inside pyro.plate.",
        number_box=True,
    )


def weather_settings(page: str) -> WeatherSettings:
    return build(WeatherSettings, WEATHER_CONTROLS, render(WEATHER_CONTROLS, page))


# The causal page's questions: each fills a field of CausalSettings.
TEMP = Slider.for_field(
    CausalSettings,
    "temp",
    label="Temperature t (°F)",
    min=-20.0,
    max=220.0,
    step=1.0,
    help="The temperature we see (question 1) or set (question 2).",
)
DO_WEATHER = Choice.for_field(
    CausalSettings,
    "do_weather",
    label="Force the weather",
    options=("sunny", "cloudy"),
    captions=("do(cloudy = 0)", "do(cloudy = 1)"),
    help="Intervene on the weather instead: the temperature then follows it.",
)
DAY: list[Control] = [
    Choice.for_field(
        CausalSettings,
        "obs_weather",
        label="Observed weather",
        options=causal.WEATHERS,
        captions=("seen", "seen", "not observed: inferred"),
        help="What was seen of the weather on the day.",
    ),
    Slider.for_field(
        CausalSettings,
        "obs_temp",
        label="Observed temperature (°F)",
        min=-20.0,
        max=220.0,
        step=1.0,
        help="The day's temperature.",
    ),
    Slider.for_field(
        CausalSettings,
        "obs_sales",
        label="Observed sales",
        min=-100.0,
        max=1000.0,
        step=1.0,
        help="What the day sold.",
        number_box=True,
    ),
    Slider.for_field(
        CausalSettings,
        "cf_temp",
        label="Had the temperature been t' (°F)",
        min=-20.0,
        max=220.0,
        step=1.0,
        help="The counterfactual temperature.",
    ),
]
