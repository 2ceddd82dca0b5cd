"""URL-bound controls of the weather and causal pages: the model's numbers and the questions."""

from __future__ import annotations

from ppl_models import causal
from ppl_models.engine.sampling import MAX_DRAWS
from ppl_models.weather import WeatherParams
from ui.controls import Choice, Control, Slider, render

DEFAULTS = WeatherParams()

WEATHER_CONTROLS: list[Control] = [
    Slider(
        "p_cloudy", "P(cloudy)", 0.0, 1.0, DEFAULTS.p_cloudy, 0.01, "cloudy ~ Bernoulli(P(cloudy)). The lecture: 0.3."
    ),
    Slider(
        "cloudy_mean",
        "Mean temperature, cloudy",
        -20.0,
        120.0,
        DEFAULTS.cloudy_mean,
        1.0,
        "temp ~ Normal(mean, sd) on a cloudy day.",
    ),
    Slider(
        "cloudy_sd",
        "Temperature sd, cloudy",
        0.5,
        40.0,
        DEFAULTS.cloudy_sd,
        0.5,
        "Spread of a cloudy day's temperature.",
    ),
    Slider(
        "sunny_mean",
        "Mean temperature, sunny",
        -20.0,
        120.0,
        DEFAULTS.sunny_mean,
        1.0,
        "temp ~ Normal(mean, sd) on a sunny day.",
    ),
    Slider(
        "sunny_sd", "Temperature sd, sunny", 0.5, 40.0, DEFAULTS.sunny_sd, 0.5, "Spread of a sunny day's temperature."
    ),
    Slider(
        "threshold",
        "Hot-day threshold",
        -20.0,
        120.0,
        DEFAULTS.threshold,
        1.0,
        "A sunny day hotter than this sells the high amount.",
    ),
    Slider(
        "high_sales",
        "Sales on a hot sunny day",
        0.0,
        500.0,
        DEFAULTS.high_sales,
        5.0,
        "Expected sales when sunny and hot.",
    ),
    Slider("low_sales", "Sales otherwise", 0.0, 500.0, DEFAULTS.low_sales, 5.0, "Expected sales on every other day."),
    Slider("sales_sd", "Sales noise sd", 0.5, 100.0, DEFAULTS.sales_sd, 0.5, "ice_cream ~ Normal(expected sales, sd)."),
]


def draw_count(default: int) -> Slider:
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


SEED = Slider("seed", "Random seed", 0, 10_000, 0, 1, "Same seed, same draws.", number_box=True)


def weather_params(page: str) -> WeatherParams:
    return WeatherParams(**render(WEATHER_CONTROLS, page))


# The causal page's questions.
TEMP = Slider(
    "temp", "Temperature t", -20.0, 220.0, 85.0, 1.0, "The temperature we see (question 1) or set (question 2)."
)
DO_WEATHER = Choice(
    "do_weather",
    "Force the weather",
    ("sunny", "cloudy"),
    ("do(cloudy = 0)", "do(cloudy = 1)"),
    "sunny",
    "Intervene on the weather instead: the temperature then follows it.",
)
DAY = [
    Choice(
        "obs_weather",
        "Observed weather",
        causal.WEATHERS,
        ("seen", "seen", "not observed: inferred"),
        "sunny",
        "What was seen of the weather on the day.",
    ),
    Slider("obs_temp", "Observed temperature", -20.0, 220.0, 75.0, 1.0, "The day's temperature."),
    Slider("obs_sales", "Observed sales", -100.0, 1000.0, 48.0, 1.0, "What the day sold.", number_box=True),
    Slider("cf_temp", "Had the temperature been t'", -20.0, 220.0, 90.0, 1.0, "The counterfactual temperature."),
]
