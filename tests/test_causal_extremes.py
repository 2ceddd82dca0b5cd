"""The weather and causal answers at every extreme the controls allow.

Each control at its minimum and maximum (ui/weather_controls.py: sds down to 0.5,
temperatures -20..220, sales -100..1000, P(cloudy) 0..1), every question and every
observed weather. Exact values are checked against references written independently
with scipy (full log densities, logsumexp, or a log-weighted grid integral); estimates
must lie within 5 standard errors of the exact value or carry a note saying why not;
nothing may raise but an InferenceError in plain words.
"""

import functools
import itertools
import math
import random
import re

import numpy as np
import pytest
from scipy import integrate, special, stats

from ppl_models import causal, weather
from ppl_models.causal import CausalSettings
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.weather import WeatherSettings

# Each slider's ends, from ui/weather_controls.py; P(cloudy) also one step inside each end.
P_CLOUDY = (0.0, 0.01, 0.99, 1.0)
ENDS = {
    "cloudy_mean": (-20.0, 120.0),
    "cloudy_sd": (0.5, 40.0),
    "sunny_mean": (-20.0, 120.0),
    "sunny_sd": (0.5, 40.0),
    "threshold": (-20.0, 120.0),
    "high_sales": (0.0, 500.0),
    "low_sales": (0.0, 500.0),
    "sales_sd": (0.5, 100.0),
}
TEMPS = (-20.0, 220.0)
SALES = (-100.0, 1000.0)
CORNERS = [
    WeatherSettings(p_cloudy=p, **dict(zip(ENDS, values, strict=True)))
    for p in P_CLOUDY
    for values in itertools.product(*ENDS.values())
]
QUESTIONS = [
    CausalSettings(temp=t, do_weather=d, obs_weather=w, obs_temp=ot, obs_sales=s, cf_temp=cf)
    for t, d, w, ot, s, cf in itertools.product(TEMPS, ("cloudy", "sunny"), causal.WEATHERS, TEMPS, SALES, TEMPS)
]
# What a student may read: no exception names, no nan or inf, no tensor dumps.
RAW = re.compile(r"[A-Z]\w*Error\b|Exception|Traceback|tensor\(|(?i:\bnan\b|\binf\b)")


# ---- references, written apart from ppl_models/weather.py -----------------------------


def _log_joint(params: WeatherSettings, temp: float, sales: float | None = None) -> np.ndarray:
    """log P(weather, temp[, sales]) for [cloudy, sunny], with full normalising constants."""
    with np.errstate(divide="ignore"):
        log_prior = np.log([params.p_cloudy, 1 - params.p_cloudy])
    log_temp = stats.norm.logpdf(temp, [params.cloudy_mean, params.sunny_mean], [params.cloudy_sd, params.sunny_sd])
    logs = log_prior + log_temp
    if sales is not None:
        expected = [params.low_sales, params.high_sales if temp > params.threshold else params.low_sales]
        logs = logs + stats.norm.logpdf(sales, expected, params.sales_sd)
    return logs


def ref_p_cloudy(params: WeatherSettings, temp: float, sales: float | None = None) -> float:
    logs = _log_joint(params, temp, sales)
    return float(np.exp(logs[0] - special.logsumexp(logs)))


def ref_conditional(params: WeatherSettings, temp: float) -> float:
    p = ref_p_cloudy(params, temp)
    sunny = params.high_sales if temp > params.threshold else params.low_sales
    return p * params.low_sales + (1 - p) * sunny


def ref_sunny_intervention(params: WeatherSettings) -> float:
    hot = _ref_p_hot(params.sunny_mean, params.sunny_sd, params.threshold)
    return hot * params.high_sales + (1 - hot) * params.low_sales


@functools.cache
def _ref_p_hot(mean: float, sd: float, threshold: float) -> float:
    """P(temp > threshold | sunny) as Simpson integrals of the density above the threshold and
    over all of it, each scaled by its peak (log density minus its maximum)."""
    lo, hi = mean - 40 * sd, mean + 40 * sd

    def mass(a: float, b: float) -> float:
        if b <= a:
            return 0.0
        grid = np.linspace(a, b, 200_001)
        scaled = np.exp(stats.norm.logpdf(grid, mean, sd) - stats.norm.logpdf(mean, mean, sd))
        return float(integrate.simpson(scaled, x=grid))

    return mass(max(lo, threshold), hi) / mass(lo, hi)


def ref_counterfactual(params: WeatherSettings, q: CausalSettings) -> float:
    def had_it_been(cloudy: bool) -> float:
        def regime(t):
            return params.high_sales if (not cloudy and t > params.threshold) else params.low_sales

        return q.obs_sales - regime(q.obs_temp) + regime(q.cf_temp)

    if q.obs_weather != "unknown":
        return had_it_been(q.obs_weather == "cloudy")
    p = ref_p_cloudy(params, q.obs_temp, q.obs_sales)
    return p * had_it_been(True) + (1 - p) * had_it_been(False)


def close(value: float, reference: float) -> bool:
    # Sales are up to 1000: 1e-9 of that is far below anything shown, far above float64 rounding.
    return math.isfinite(value) and abs(value - reference) <= 1e-9 * max(1.0, abs(reference))


def impossible(params: WeatherSettings, obs_weather: str) -> bool:
    return (obs_weather == "cloudy" and params.p_cloudy == 0) or (obs_weather == "sunny" and params.p_cloudy == 1)


# ---- exact answers: every corner, every question ------------------------------------------


@pytest.mark.parametrize("p_cloudy", P_CLOUDY)
def test_every_exact_answer_is_finite_and_right_at_every_corner(p_cloudy):
    checked = 0
    for params in (c for c in CORNERS if c.p_cloudy == p_cloudy):
        assert close(
            weather.p_high_regime(params),
            (1 - p_cloudy) * stats.norm.sf(params.threshold, params.sunny_mean, params.sunny_sd),
        )
        assert close(weather.exact_weather_intervention_sales(params, cloudy=False), ref_sunny_intervention(params))
        assert weather.exact_weather_intervention_sales(params, cloudy=True) == params.low_sales
        for t in (*TEMPS, params.threshold, 85.0):
            assert close(weather.p_cloudy_given_temp(params, t), ref_p_cloudy(params, t))
            assert close(weather.exact_conditional_sales(params, t), ref_conditional(params, t))
            assert math.isfinite(weather.exact_interventional_sales(params, t))
            checked += 1
        for w, ot, s, cf in itertools.product(causal.WEATHERS, TEMPS, SALES, TEMPS):
            q = CausalSettings(obs_weather=w, obs_temp=ot, obs_sales=s, cf_temp=cf)
            if impossible(params, w):
                with pytest.raises(InferenceError, match="never makes a"):
                    weather.exact_counterfactual_sales(params, w, ot, s, cf)
                continue
            assert close(weather.exact_counterfactual_sales(params, w, ot, s, cf), ref_counterfactual(params, q))
            checked += 1
        for note in (weather.implausibility(params, temp=t) for t in TEMPS):
            assert not RAW.search(note)
    assert checked == 256 * (4 + 24) - 256 * 8 * (p_cloudy in (0.0, 1.0))


def test_the_issue_link_shows_its_exact_value_and_says_the_evidence_is_impossible():
    """/causal?temp=220&cloudy_sd=0.5&sunny_sd=0.5 raised OverflowError: math range error."""
    params = WeatherSettings(cloudy_sd=0.5, sunny_sd=0.5)
    answers = causal.answer(params, CausalSettings(temp=220.0), 2_000, seed=0)
    # Sunny: (220 - 75) / 0.5 = 290 sd away; cloudy: 330 sd. Sunny wins by e^12400: P(sunny) = 1.
    assert answers.p_sunny_given_temp == 1.0
    assert answers.conditioned.exact == 200.0
    assert abs(answers.conditioned.mean - 200.0) <= 5 * answers.conditioned.standard_error
    assert "temp = 220 is 290.0 standard deviations" in answers.conditioned.notes[0]


def test_a_weather_the_prior_rules_out_stays_ruled_out():
    """P(cloudy) = 0: seeing -20 degrees (280 sd from sunny's mean) still says sunny.

    The old code replaced log 0 by log 1e-300 = -691, so any temperature more than 691 nats
    from the sunny mean made a cloudy day (prior 0) the answer.
    """
    params = WeatherSettings(p_cloudy=0.0, cloudy_mean=-20.0, sunny_mean=120.0, sunny_sd=0.5)
    assert weather.p_cloudy_given_temp(params, -20.0) == 0.0
    assert weather.exact_conditional_sales(params, -20.0) == params.low_sales
    assert weather.p_cloudy_given_day(params, -20.0, 1000.0) == 0.0
    certain = WeatherSettings(p_cloudy=1.0, sunny_mean=-20.0, cloudy_mean=120.0, cloudy_sd=0.5)
    assert weather.p_cloudy_given_temp(certain, -20.0) == 1.0
    # The implausibility note measures against the only possible weather: sunny, 280 sd away.
    assert "280.0 standard deviations" in weather.implausibility(params, temp=-20.0)


@pytest.mark.parametrize(
    "p_cloudy, observed, text",
    [
        (0.0, "cloudy", "The day is observed cloudy, but with P(cloudy) = 0 the model never makes a cloudy day"),
        (1.0, "sunny", "The day is observed sunny, but with P(cloudy) = 1 the model never makes a sunny day"),
    ],
)
def test_an_impossible_observed_weather_is_refused_before_anything_runs(monkeypatch, p_cloudy, observed, text):
    def must_not_run(*args, **kwargs):
        raise AssertionError("ran before checking the question")

    monkeypatch.setattr(causal, "run_likelihood_weighting", must_not_run)
    with pytest.raises(InferenceError) as refused:
        causal.answer(WeatherSettings(p_cloudy=p_cloudy), CausalSettings(obs_weather=observed), 1_000, seed=0)
    assert str(refused.value).startswith(text)
    assert "observe the day as" in str(refused.value)


# ---- estimates: a fixed random sample of corners and questions ----------------------------

_pick = random.Random(13)
RUNS = [(_pick.choice(CORNERS), _pick.choice(QUESTIONS), 2_000, seed) for seed in range(48)]
RUNS += [(_pick.choice(CORNERS), _pick.choice(QUESTIONS), 10, seed) for seed in range(24)]
# The issue's link and the corners where a weather is certain, always included.
RUNS += [
    (WeatherSettings(cloudy_sd=0.5, sunny_sd=0.5), CausalSettings(temp=220.0), 2_000, 0),
    (CORNERS[0], CausalSettings(temp=-20.0, obs_weather="unknown", obs_sales=1000.0), 2_000, 0),
    (CORNERS[-1], CausalSettings(temp=220.0, obs_weather="unknown", obs_sales=-100.0), 2_000, 0),
]


@pytest.mark.parametrize("params, question, n, seed", RUNS)
def test_estimates_at_the_extremes_are_close_or_say_why_not(params, question, n, seed):
    try:
        answers = causal.answer(params, question, n, seed)
    except InferenceError as refused:
        assert impossible(params, question.obs_weather), str(refused)
        assert not RAW.search(str(refused))
        return
    references = {
        "conditioned": ref_conditional(params, question.temp),
        "intervened": weather.exact_interventional_sales(params, question.temp),
        "weather_intervened": (params.low_sales if question.do_weather == "cloudy" else ref_sunny_intervention(params)),
        "counterfactual": ref_counterfactual(params, question),
    }
    for name, reference in references.items():
        answer = getattr(answers, name)
        assert close(answer.exact, reference), name
        assert all(math.isfinite(v) for v in (answer.mean, answer.standard_error, answer.ess)), name
        for note in answer.notes:
            assert not RAW.search(note), note
        within = abs(answer.mean - answer.exact) <= 5 * answer.standard_error + 1e-9 * max(1.0, abs(answer.exact))
        assert within or answer.notes, (name, answer.mean, answer.exact, answer.standard_error)
    assert 0.0 <= answers.p_sunny_given_temp <= 1.0


def test_a_rare_weather_the_draws_never_produced_is_called_out():
    """Only a cloudy day (prior 1%) explains 100 degrees; 100 draws that happen to be all sunny
    weigh equally, so the ESS looks healthy (100) while the estimate answers for the wrong weather."""
    params = WeatherSettings(p_cloudy=0.01, cloudy_mean=100.0, cloudy_sd=2.0, sunny_sd=0.5)
    seeds = [s for s in range(40) if causal.answer(params, CausalSettings(temp=100.0), 100, s).conditioned.ess > 99]
    answer = causal.answer(params, CausalSettings(temp=100.0), 100, seeds[0]).conditioned
    assert answer.exact == pytest.approx(params.low_sales, abs=1e-9)
    assert answer.mean == pytest.approx(params.high_sales, abs=50.0)
    assert any(note.startswith("This estimate is") and "Use more draws" in note for note in answer.notes)


def test_the_weather_page_says_when_too_few_draws_missed_a_rare_case():
    params = WeatherSettings(p_cloudy=0.01)
    seed = next(s for s in range(100) if not (weather.simulate(params, 10, s).samples["cloudy"] == 1).any())
    draws = weather.simulate(params, 10, seed)
    shown = weather.estimates(params, draws.samples["cloudy"], draws.samples["temp"], draws.samples["ice_cream"])
    assert shown[0].estimate == 0.0 and shown[0].standard_error == 0.0
    assert shown[0].note.startswith("P(cloudy) from 10 draws is 0.01 from the exact value")
    healthy = weather.simulate(WeatherSettings(), 100_000, 1)
    samples = healthy.samples
    assert [
        e.note for e in weather.estimates(WeatherSettings(), samples["cloudy"], samples["temp"], samples["ice_cream"])
    ] == [
        "",
        "",
        "",
    ]


@pytest.mark.parametrize("params", [CORNERS[0], CORNERS[len(CORNERS) // 2], CORNERS[-1]])
def test_the_weather_page_densities_stay_finite_at_the_corners(params):
    grid = np.linspace(-300.0, 1100.0, 2_001)
    for density in (*weather.temperature_densities(params, grid).values(), weather.sales_density(params, grid)):
        assert np.isfinite(density).all() and (density >= 0).all()
    assert math.isfinite(weather.expected_sales(params))
