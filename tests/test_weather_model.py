"""The weather and ice-cream model: exact answers, simulation, and the three causal questions."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ppl_models import causal, weather
from ppl_models.causal import CausalSettings
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.weather import WeatherSettings

SETTINGS = [
    WeatherSettings(),
    WeatherSettings(p_cloudy=0.6, sunny_mean=85.0, sunny_sd=8.0, threshold=90.0),
    WeatherSettings(p_cloudy=0.1, cloudy_mean=40.0, cloudy_sd=20.0, high_sales=120.0, low_sales=80.0, sales_sd=30.0),
]


@pytest.mark.parametrize("params", SETTINGS)
def test_exact_answers_match_numerical_integration(params):
    sunny = stats.norm(params.sunny_mean, params.sunny_sd)
    cloudy = stats.norm(params.cloudy_mean, params.cloudy_sd)
    p_high = (1 - params.p_cloudy) * sunny.sf(params.threshold)
    assert weather.p_high_regime(params) == pytest.approx(p_high, rel=1e-9)
    for t in (params.threshold - 7, params.threshold + 5):
        joint_cloudy = params.p_cloudy * cloudy.pdf(t)
        joint_sunny = (1 - params.p_cloudy) * sunny.pdf(t)
        expected = (joint_cloudy * params.low_sales + joint_sunny * weather.sales_regime(params, False, t)) / (
            joint_cloudy + joint_sunny
        )
        assert weather.exact_conditional_sales(params, t) == pytest.approx(expected, rel=1e-9)

    # E[sales | do(cloudy = 0)] by integrating over the sunny temperature.
    def sales_density(x):
        return sunny.pdf(x) * weather.sales_regime(params, False, x)

    mean_sunny = integrate.quad(sales_density, -np.inf, params.threshold)[0]
    mean_sunny += integrate.quad(sales_density, params.threshold, np.inf)[0]
    assert weather.exact_weather_intervention_sales(params, cloudy=False) == pytest.approx(mean_sunny, rel=1e-6)


def test_the_issue_numbers_seeing_and_doing_at_85():
    params = WeatherSettings()
    assert weather.exact_conditional_sales(params, 85.0) == pytest.approx(198.7, abs=0.05)
    assert weather.exact_interventional_sales(params, 85.0) == pytest.approx(155.0, abs=1e-9)


@pytest.mark.parametrize("params", SETTINGS)
def test_simulated_estimates_match_the_exact_values(params):
    draws = weather.simulate(params, 100_000, seed=1)
    shown = weather.estimates(params, draws.samples["cloudy"], draws.samples["temp"], draws.samples["ice_cream"])
    assert [e.label for e in shown] == ["P(cloudy)", "P(high-sales day)", "E[sales]"]
    assert [e.exact for e in shown] == [params.p_cloudy, weather.p_high_regime(params), weather.expected_sales(params)]
    for estimate in shown:
        # Within 4 standard errors: a false alarm once in ~16,000 runs, and the seed is fixed.
        assert abs(estimate.estimate - estimate.exact) < 4 * estimate.standard_error + 1e-12


@pytest.mark.parametrize("params", SETTINGS)
def test_exact_densities_integrate_to_one(params):
    grid = np.linspace(-300, 800, 200_001)
    step = grid[1] - grid[0]
    parts = weather.temperature_densities(params, grid)
    assert parts["cloudy"].sum() * step == pytest.approx(params.p_cloudy, abs=1e-6)
    assert (parts["cloudy"] + parts["sunny"]).sum() * step == pytest.approx(1.0, abs=1e-6)
    assert weather.sales_density(params, grid).sum() * step == pytest.approx(1.0, abs=1e-6)


QUESTIONS = [
    CausalSettings(),
    CausalSettings(temp=70.0, do_weather="cloudy", obs_weather="unknown", obs_temp=82.0, obs_sales=190.0, cf_temp=60.0),
    CausalSettings(temp=95.0, obs_weather="cloudy", obs_temp=60.0, obs_sales=55.0, cf_temp=95.0),
]


@pytest.mark.parametrize("params", SETTINGS[:2])
@pytest.mark.parametrize("question", QUESTIONS)
def test_inferred_answers_match_the_exact_ones(params, question):
    answers = causal.answer(params, question, 40_000, seed=2)
    for answer in (answers.conditioned, answers.intervened, answers.weather_intervened, answers.counterfactual):
        spread = math.sqrt(np.sum(answer.weights * (answer.draws - answer.mean) ** 2))
        # 4 standard errors of a weighted mean with the answer's own effective sample size.
        assert abs(answer.mean - answer.exact) <= 4 * spread / math.sqrt(answer.ess) + 1e-6


def test_default_gap_between_seeing_and_doing():
    answers = causal.answer(WeatherSettings(), CausalSettings(), 20_000, seed=0)
    assert answers.conditioned.mean == pytest.approx(198.7, abs=1.0)
    assert answers.intervened.mean == pytest.approx(155.0, abs=2.0)
    assert answers.p_sunny_given_temp == pytest.approx(0.991, abs=0.001)


def test_an_observed_sunny_day_keeps_its_own_noise_in_the_counterfactual_world():
    """A sunny 75-degree day that sold 48 (noise -2) sells 200 - 2 = 198 had it been 90."""
    answers = causal.answer(
        WeatherSettings(), CausalSettings(obs_weather="sunny", obs_temp=75, obs_sales=48, cf_temp=90), 1_000, seed=0
    )
    np.testing.assert_allclose(answers.counterfactual.draws, 198.0, atol=1e-3)
    np.testing.assert_allclose(answers.factual_sales, 48.0, atol=1e-3)


def test_an_observed_cloudy_day_keeps_the_low_sales_regime_when_hotter():
    answers = causal.answer(
        WeatherSettings(), CausalSettings(obs_weather="cloudy", obs_temp=60, obs_sales=57, cf_temp=100), 1_000, seed=0
    )
    np.testing.assert_allclose(answers.counterfactual.draws, 57.0, atol=1e-3)
    assert answers.counterfactual.exact == 57.0


def test_the_sales_likelihood_counts_in_the_abduction():
    """82 degrees and 190 sold: only a sunny day explains 190, so had it been 60, about 40."""
    question = CausalSettings(obs_weather="unknown", obs_temp=82, obs_sales=190, cf_temp=60)
    answers = causal.answer(WeatherSettings(), question, 20_000, seed=0)
    assert answers.counterfactual.exact == pytest.approx(40.0, abs=1e-6)
    assert answers.counterfactual.mean == pytest.approx(40.0, abs=1e-3)


def test_an_unobserved_weather_is_inferred_from_the_day():
    """75 degrees and 48 sold: P(cloudy | day) = 0.080, so 0.080 * 48 + 0.920 * 198 = 186.0."""
    params = WeatherSettings()
    assert weather.p_cloudy_given_day(params, 75.0, 48.0) == pytest.approx(0.0800, abs=5e-4)
    question = CausalSettings(obs_weather="unknown", obs_temp=75, obs_sales=48, cf_temp=90)
    assert weather.exact_counterfactual_sales(params, "unknown", 75, 48, 90) == pytest.approx(186.0, abs=0.05)
    answers = causal.answer(params, question, 40_000, seed=0)
    assert answers.counterfactual.mean == pytest.approx(186.0, abs=1.0)
    assert set(np.round(answers.counterfactual.draws, 3)) == {48.0, 198.0}


@pytest.mark.parametrize(
    "question, text",
    [
        (CausalSettings(temp=200.0), "temp = 200 is 8.3 standard deviations"),
        (CausalSettings(obs_weather="unknown", obs_sales=1000.0), "sales = 1000 is 95.0 standard deviations"),
        (CausalSettings(obs_weather="cloudy", obs_temp=150.0), "temp = 150 is 9.5 standard deviations"),
    ],
)
def test_practically_impossible_evidence_is_explained(question, text):
    answers = causal.answer(WeatherSettings(), question, 5_000, seed=0)
    notes = " ".join(answers.conditioned.notes + answers.counterfactual.notes)
    assert text in notes and "practically impossible" in notes


def test_collapsed_importance_weights_are_reported():
    # Evidence only a rare weather explains, and few draws: only a handful of draws are
    # cloudy, and they carry all the weight.
    params = WeatherSettings(p_cloudy=0.01, cloudy_mean=20.0, cloudy_sd=2.0)
    answers = causal.answer(params, CausalSettings(temp=20.0), 200, seed=0)
    assert answers.conditioned.ess < 50
    assert any("importance weights collapsed" in note for note in answers.conditioned.notes)


@pytest.mark.parametrize(
    "params, message",
    [
        (WeatherSettings(p_cloudy=1.5), "between 0 and 1"),
        (WeatherSettings(sales_sd=0.0), "Standard deviations must be positive"),
        (WeatherSettings(threshold=float("nan")), "finite"),
    ],
)
def test_impossible_numbers_get_a_clear_message(params, message):
    with pytest.raises(InferenceError, match=message):
        weather.simulate(params, 10, seed=0)


def test_draw_counts_are_bounded():
    with pytest.raises(InferenceError, match="between 1 and 100,000"):
        weather.simulate(WeatherSettings(), 200_000, seed=0)


def test_generated_code_runs():
    namespace: dict = {}
    exec(weather.simulate_code(WeatherSettings(), 10, 0).replace("print(", "_ = ("), namespace)  # noqa: S102
    code = causal.answer_code(WeatherSettings(), CausalSettings(), 50, 0)
    exec(code.replace("print(", "_ = ("), namespace)  # noqa: S102
