"""The scale model: its exact posterior, and HMC, NUTS and SVI measured against it."""

import math

import numpy as np
import pytest

from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings
from ppl_models.scale import ScaleSettings, exact_posterior, infer_weight, infer_weight_code

SETTINGS = [
    ScaleSettings(),  # the lecture's: guess 10, prior sd 1, noise 0.75, measurement 14
    ScaleSettings(guess=8.5, prior_sd=1.0, noise_sd=0.75, measurement=9.5),
    ScaleSettings(guess=0.0, prior_sd=3.0, noise_sd=2.0, measurement=20.0),
]

# Each slider's ends on the scale page: guess and measurement 0..30, both sds 0.1..10.
CORNERS = [
    ScaleSettings(guess=g, prior_sd=p, noise_sd=n, measurement=m)
    for g in (0.0, 30.0)
    for p in (0.1, 10.0)
    for n in (0.1, 10.0)
    for m in (0.0, 30.0)
]


def test_exact_posterior_matches_the_lecture_numbers():
    exact = exact_posterior(ScaleSettings())
    assert exact.mean == pytest.approx(12.56, abs=1e-9)
    assert exact.sd == pytest.approx(0.6, abs=1e-9)
    assert exact_posterior(ScaleSettings(guess=8.5)).mean == pytest.approx(12.02, abs=0.005)


@pytest.mark.parametrize("query", SETTINGS + CORNERS)
def test_exact_posterior_matches_bayes_rule_on_a_grid(query):
    """Prior times likelihood, normalised numerically, has the closed form's mean and sd.

    The grid is log-weighted: at a corner of the controls, (30 - 0) / 0.1 = 300 sd between
    guess and measurement puts the unnormalised density at exp(-22,500) at its peak, which
    only the log scale can normalise."""
    exact = exact_posterior(query)
    grid = np.linspace(exact.mean - 12 * exact.sd, exact.mean + 12 * exact.sd, 200_001)
    log_post = (
        -0.5 * ((grid - query.guess) / query.prior_sd) ** 2 - 0.5 * ((query.measurement - grid) / query.noise_sd) ** 2
    )
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    mean = float((grid * weights).sum())
    sd = math.sqrt(float(((grid - mean) ** 2 * weights).sum()))
    assert math.isfinite(exact.mean) and math.isfinite(exact.sd)
    assert mean == pytest.approx(exact.mean, abs=1e-6 * max(1.0, exact.sd))
    assert sd == pytest.approx(exact.sd, rel=1e-5)


# Tolerances: with >= 1000 draws and ESS in the hundreds, the Monte Carlo error of the
# mean is about sd / 15; 0.15 exact sd on the mean and 15% on the sd are ~3 MCSE.
METHODS = {
    # Trajectory 0.25 x 8 = 2: well short of the posterior's period (2 pi sd >= 3.8).
    "hmc": McmcSettings(kernel="hmc", warmup_steps=300, num_samples=1000, step_size=0.25, num_steps=8),
    "hmc-pyro": McmcSettings(
        kernel="hmc", warmup_steps=300, num_samples=1000, step_size=0.25, num_steps=8, sampler="pyro"
    ),
    "nuts": McmcSettings(kernel="nuts", warmup_steps=300, num_samples=1000),
    "svi": SviSettings(num_steps=1000),
}


@pytest.mark.parametrize("query", SETTINGS, ids=["lecture", "close", "far"])
@pytest.mark.parametrize("method", list(METHODS))
def test_inference_recovers_the_exact_posterior(query, method):
    result = infer_weight(query, METHODS[method])
    exact = exact_posterior(query)
    assert abs(result.mean - exact.mean) < 0.15 * exact.sd
    assert result.sd == pytest.approx(exact.sd, rel=0.15)
    assert result.advice == ()


@pytest.mark.parametrize("query", SETTINGS, ids=["lecture", "close", "far"])
def test_held_leapfrog_steps_are_accurate_or_say_they_are_not(query):
    """Holding 6 steps while the step adapts puts the trajectory near a whole turn of these
    posteriors on some seeds (the page's toggle says it is often faster, not safer). Over 8
    seeds each run is within tolerance with no advice, or its advice says what is wrong."""
    exact, accurate = exact_posterior(query), 0
    for seed in range(8):
        settings = McmcSettings(
            kernel="hmc",
            warmup_steps=300,
            num_samples=1000,
            step_size=0.25,
            num_steps=6,
            hold_num_steps=True,
            seed=seed,
        )
        result = infer_weight(query, settings)
        close = abs(result.mean - exact.mean) < 0.15 * exact.sd and result.sd == pytest.approx(exact.sd, rel=0.15)
        if not result.advice:
            assert close, (seed, result.mean, result.sd)
            accurate += 1
        else:
            problems = " ".join(a.problem for a in result.advice)
            assert "Effective sample size" in problems or "anti-correlated" in problems or "exact" in problems
    assert accurate >= 4


def test_same_seed_gives_identical_samples_and_another_seed_does_not():
    settings = McmcSettings(kernel="nuts", num_samples=200, warmup_steps=100, seed=3)
    first = infer_weight(ScaleSettings(), settings).weight_draws
    again = infer_weight(ScaleSettings(), settings).weight_draws
    other = infer_weight(ScaleSettings(), McmcSettings(kernel="nuts", num_samples=200, warmup_steps=100, seed=4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other.weight_draws)


def test_the_lecture_setting_fails_visibly_on_a_bad_seed():
    """The issue's measured failure with Pyro's HMC class: guess 8.5, seed 1 lands at mean
    ~10.93, sd ~0.26 (tests/test_batched_hmc.py holds the batched sampler's failures to the
    same advice over many seeds)."""
    result = infer_weight(ScaleSettings(guess=8.5), McmcSettings(seed=1, sampler="pyro"))
    assert result.mean == pytest.approx(10.93, abs=0.05)
    assert result.mcmc.summaries["weight"].ess < 100
    problems = " ".join(a.problem for a in result.advice)
    assert "Effective sample size is only" in problems
    assert "away from the exact 12.020" in problems
    assert any("NUTS" in a.fix for a in result.advice)


def test_a_trajectory_resonating_with_the_posterior_is_flagged():
    """Trajectory 3.6 (the lecture's 0.9 x 4) is about one period 2 pi x 0.6 of this posterior."""
    result = infer_weight(ScaleSettings(), McmcSettings(warmup_steps=300, sampler="pyro"))
    assert result.sd < 0.9 * 0.6
    assert result.mcmc.summaries["weight"].ess_capped
    problems = " ".join(a.problem for a in result.advice)
    assert "anti-correlated" in problems and "differs from the exact 0.600" in problems


def test_pyro_code_names_the_current_setting():
    code = infer_weight_code(ScaleSettings(measurement=9.5), McmcSettings(kernel="nuts", num_samples=300, seed=7))
    assert 'data={"measurement": torch.tensor(9.5)}' in code
    assert "NUTS(conditioned_scale" in code and "num_samples=300" in code and "set_rng_seed(7)" in code
    compile(code, "generated", "exec")
    svi_code = infer_weight_code(ScaleSettings(), SviSettings(lr=0.01))
    assert "TraceMeanField_ELBO" in svi_code and '"lr": 0.01' in svi_code
    compile(svi_code, "generated", "exec")


def test_generated_code_runs_and_agrees_with_the_app():
    settings = SviSettings(num_steps=300, lr=0.05, num_particles=1, elbo="trace")
    namespace: dict = {}
    exec(infer_weight_code(ScaleSettings(), settings).replace("print(", "_printed = ("), namespace)  # noqa: S102
    import pyro

    assert pyro.param("weight_loc").item() == pytest.approx(exact_posterior(ScaleSettings()).mean, abs=0.3)


@pytest.mark.parametrize(
    "query",
    [
        ScaleSettings(guess=0.0, prior_sd=0.1, noise_sd=0.1, measurement=30.0),  # prior and data 212 sd apart
        ScaleSettings(guess=30.0, prior_sd=10.0, noise_sd=0.1, measurement=0.0),
    ],
)
@pytest.mark.parametrize("method", ["nuts", "svi"])
def test_inference_at_the_extremes_is_close_or_says_why_not(query, method):
    settings = McmcSettings(kernel="nuts", warmup_steps=200, num_samples=300) if method == "nuts" else SviSettings()
    result = infer_weight(query, settings)
    exact = exact_posterior(query)
    assert math.isfinite(result.mean) and math.isfinite(result.sd)
    assert abs(result.mean - exact.mean) < 0.3 * exact.sd or result.advice
