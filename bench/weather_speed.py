"""Speed of the weather and causal pages, as ratios against the lecture's own loop.

Baseline: the lecture's ``ice_cream_sales()`` called once per day in a Python loop
(timed on 5,000 days and scaled to 100,000). Then the app's vectorised draw of 100,000
days in one ``pyro.plate``, and the time to answer each of the causal page's three
questions at the defaults. Everything runs in this process, one after another.

    python -m bench.weather_speed
"""

from __future__ import annotations

import statistics
import time

import pyro
import pyro.distributions as dist

from ppl_models import weather
from ppl_models.engine.counterfactual import run_counterfactual
from ppl_models.engine.sampling import run_likelihood_weighting
from ppl_models.weather import WeatherSettings, ice_cream_sales

LOOP_DAYS = 5_000
DAYS = 100_000


def lecture_weather():
    cloudy = pyro.sample("cloudy", dist.Bernoulli(0.3))
    cloudy = "cloudy" if cloudy.item() == 1.0 else "sunny"
    mean_temp = {"cloudy": 55.0, "sunny": 75.0}[cloudy]
    scale_temp = {"cloudy": 10.0, "sunny": 15.0}[cloudy]
    temp = pyro.sample("temp", dist.Normal(mean_temp, scale_temp))
    return cloudy, temp.item()


def lecture_ice_cream_sales():
    cloudy, temp = lecture_weather()
    expected_sales = 200.0 if cloudy == "sunny" and temp > 80.0 else 50.0
    return pyro.sample("ice_cream", dist.Normal(expected_sales, 10.0))


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    params = WeatherSettings()
    args = params.as_args()
    pyro.set_rng_seed(0)
    loop = best_of(1, lambda: [lecture_ice_cream_sales() for _ in range(LOOP_DAYS)]) * DAYS / LOOP_DAYS
    print(f"lecture loop, {DAYS:,} days (scaled from {LOOP_DAYS:,}): {loop:.2f} s")
    weather.simulate(params, 10, 0)  # first call pays torch's one-off dispatch set-up
    vectorised = best_of(5, lambda: weather.simulate(params, DAYS, 0))
    print(f"app, {DAYS:,} days in one pyro.plate:          {vectorised * 1000:.0f} ms  ({loop / vectorised:.0f}x)")

    questions = {
        "E[sales | temp = 85] (likelihood weighting)": lambda: run_likelihood_weighting(
            ice_cream_sales, args, 20_000, 0, observations={"temp": 85.0}
        ),
        "E[sales | do(temp = 85)] (pyro.do)": lambda: run_likelihood_weighting(
            ice_cream_sales, args, 20_000, 0, interventions={"temp": 85.0}
        ),
        "E[counterfactual sales] (ChiRho twin worlds)": lambda: run_counterfactual(
            ice_cream_sales,
            args,
            {"cloudy": 0.0, "temp": 75.0, "ice_cream": 48.0},
            {"temp": 90.0},
            20_000,
            0,
            ("ice_cream",),
        ),
    }
    print("\ncausal page at the defaults, 20,000 draws each (median of 5):")
    for name, run in questions.items():
        run()
        times = [best_of(1, run) for _ in range(5)]
        print(f"  {name:48s} {statistics.median(times) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
