"""The generic runners, diagnostics and device rule, on small settings."""

import itertools
import math
import re

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

from ppl_models.engine import diagnostics
from ppl_models.engine.device import GPU_MIN_ELEMENTS, resolve_device
from ppl_models.engine.mcmc import McmcSettings, run_mcmc
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.svi import SviSettings, run_svi
from ppl_models.scale import ScaleSettings, infer_weight, scale, scale_guide

SMALL = McmcSettings(kernel="nuts", num_samples=200, warmup_steps=100)
ARGS = (10.0, 1.0, 0.75)


def positive_model():
    """A constrained site, to check that draws come back on the constrained scale."""
    pyro.sample("rate", dist.Gamma(3.0, 2.0))


def test_chain_c_of_a_multi_chain_run_equals_a_solo_run_seeded_seed_plus_c():
    both = run_mcmc(
        scale,
        McmcSettings(kernel="nuts", num_samples=400, warmup_steps=200, num_chains=2, seed=5),
        ARGS,
        {"measurement": 14.0},
    )
    second = run_mcmc(
        scale, McmcSettings(kernel="nuts", num_samples=400, warmup_steps=200, seed=6), ARGS, {"measurement": 14.0}
    )
    assert both.samples["weight"].shape == (2, 400)
    np.testing.assert_array_equal(both.samples["weight"][1], second.samples["weight"][0])
    assert both.summaries["weight"].rhat is not None and both.summaries["weight"].rhat < 1.05
    assert second.summaries["weight"].rhat is None


def test_draws_of_a_constrained_site_are_positive_and_match_the_prior():
    result = run_mcmc(positive_model, McmcSettings(kernel="nuts", num_samples=1000, warmup_steps=300))
    draws = result.samples["rate"]
    assert (draws > 0).all()
    assert draws.mean() == pytest.approx(1.5, abs=0.15)  # Gamma(3, 2) has mean 3/2


def test_progress_streams_partial_draws_and_can_stop_the_run():
    reports = []
    run_mcmc(scale, SMALL, ARGS, {"measurement": 14.0}, progress=reports.append)
    assert reports[-1].done == reports[-1].total == 300
    assert len(reports[-1].partial["weight"]) == 200
    assert all(
        len(a.partial.get("weight", [])) <= len(b.partial.get("weight", [])) for a, b in itertools.pairwise(reports)
    )
    with pytest.raises(RunCancelled):
        run_mcmc(scale, SMALL, ARGS, {"measurement": 14.0}, progress=lambda p: False)
    with pytest.raises(RunCancelled):
        run_svi(scale, scale_guide, SviSettings(num_steps=50), ARGS, {"measurement": 14.0}, progress=lambda p: False)


def test_after_a_cancelled_run_the_next_run_is_unaffected():
    solo = infer_weight(ScaleSettings(), SviSettings(num_steps=100))
    with pytest.raises(RunCancelled):
        infer_weight(ScaleSettings(measurement=3.0), SviSettings(num_steps=100), progress=lambda p: False)
    again = infer_weight(ScaleSettings(), SviSettings(num_steps=100))
    np.testing.assert_array_equal(solo.svi.losses, again.svi.losses)


@pytest.mark.parametrize(
    "settings, message",
    [
        (McmcSettings(num_samples=0), "samples must be between"),
        (McmcSettings(num_chains=9), "chains must be between"),
        (McmcSettings(step_size=-1.0), "step size must be a positive number"),
        (McmcSettings(kernel="gibbs"), "kernel must be one of"),
    ],
)
def test_impossible_mcmc_settings_get_a_clear_message(settings, message):
    with pytest.raises(InferenceError, match=message):
        run_mcmc(scale, settings, ARGS, {"measurement": 14.0})


def test_impossible_model_numbers_get_a_clear_message():
    with pytest.raises(InferenceError, match="Standard deviations must be positive"):
        infer_weight(ScaleSettings(prior_sd=0.0), SMALL)
    with pytest.raises(InferenceError, match="finite"):
        infer_weight(ScaleSettings(measurement=float("nan")), SMALL)


def test_a_diverging_sampler_is_flagged():
    """A huge fixed step makes every trajectory blow up: divergences, no acceptance."""
    result = infer_weight(
        ScaleSettings(),
        McmcSettings(step_size=3.0, num_steps=10, adapt_step_size=False, num_samples=200, warmup_steps=0),
    )
    chain = result.mcmc.chains[0]
    assert chain.divergences > 0
    assert chain.acceptance_rate < 0.5
    problems = " ".join(a.problem for a in result.advice)
    assert "divergent transitions" in problems and "Acceptance rate is only" in problems


def test_diverging_svi_says_which_step_and_what_to_change_and_the_advice_helps():
    with pytest.raises(InferenceError) as failure:
        run_svi(
            scale,
            scale_guide,
            SviSettings(num_steps=200, lr=1e6, num_particles=1),
            (10.0, 1.0, 0.75),
            {"measurement": 1e4},
        )
    message = str(failure.value)
    assert re.fullmatch(r"SVI (diverged|failed) at step \d+: .* try 0\.05\.", message)
    assert "Error" not in message and "tensor" not in message.lower() and len(message) < 300
    # The advice is only given because it works: the same run at 0.05 finishes.
    result = run_svi(
        scale,
        scale_guide,
        SviSettings(num_steps=200, lr=0.05, num_particles=1),
        (10.0, 1.0, 0.75),
        {"measurement": 1e4},
    )
    assert np.isfinite(result.losses).all()


def test_svi_result_records_losses_and_parameter_paths():
    result = run_svi(scale, scale_guide, SviSettings(num_steps=120), ARGS, {"measurement": 14.0})
    assert result.losses.shape == (120,)
    assert set(result.params) == {"weight_loc", "weight_scale"}
    assert result.trajectories["weight_loc"].shape == (120,)
    assert result.trajectories["weight_loc"][-1] == pytest.approx(float(result.params["weight_loc"]))
    assert result.posterior_samples["weight"].shape == (1000,)
    assert result.losses[-20:].mean() < result.losses[:20].mean()


def test_ess_is_capped_for_anticorrelated_chains_and_rhat_needs_two_chains():
    alternating = np.tile([1.0, -1.0], 500)[None, :] + np.random.default_rng(0).normal(0, 0.01, (1, 1000))
    assert diagnostics.effective_sample_size(alternating) == pytest.approx(1000 * math.log10(1000))
    assert diagnostics.split_rhat(alternating) is None
    stuck = np.stack([np.random.default_rng(1).normal(0, 1, 500), np.random.default_rng(2).normal(5, 1, 500)])
    assert diagnostics.split_rhat(stuck) > 1.5


def test_autocorrelation_starts_at_one():
    acf = diagnostics.autocorrelation(np.random.default_rng(0).normal(size=(2, 400)), max_lag=20)
    assert acf.shape == (2, 21)
    np.testing.assert_allclose(acf[:, 0], 1.0)
    assert np.abs(acf[:, 5:]).max() < 0.2


def test_device_rule():
    assert resolve_device("cpu").device == torch.device("cpu")
    assert resolve_device("auto", 10).device == torch.device("cpu")
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda").device.type == "cuda"
        assert resolve_device("auto", GPU_MIN_ELEMENTS).device.type == "cuda"
        assert resolve_device("auto", 10).device.type == "cpu"
    else:
        fallback = resolve_device("cuda")
        assert fallback.device == torch.device("cpu")
        assert "no GPU is available" in fallback.note
        assert resolve_device("auto", GPU_MIN_ELEMENTS).device == torch.device("cpu")


def test_requesting_cuda_without_a_gpu_still_runs_and_says_so():
    result = run_mcmc(
        scale, McmcSettings(kernel="nuts", num_samples=50, warmup_steps=20, device="cuda"), ARGS, {"measurement": 14.0}
    )
    if torch.cuda.is_available():
        assert result.device.startswith("cuda")
    else:
        assert result.device == "cpu" and "no GPU" in result.device_note


@pytest.mark.parametrize("entry", ["mixture", "simulation", "causal"])
def test_every_lecture_entry_takes_the_device_and_reports_the_fallback(entry):
    from ppl_models import causal, gmm, weather

    if entry == "mixture":
        result = gmm.fit_map(gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings(inits=5, steps=5, device="cuda"))
    elif entry == "simulation":
        result = weather.simulate(weather.WeatherSettings(), 100, seed=0, device="cuda")
    else:
        result = causal.answer(weather.WeatherSettings(), causal.CausalSettings(), 200, seed=0, device="cuda")
    if torch.cuda.is_available():
        assert result.device.startswith("cuda") and result.device_note == ""
    else:
        assert result.device == "cpu" and "no GPU" in result.device_note


def test_a_hundred_thousand_point_mixture_meets_the_gpu_rule():
    """points x K is the work size: 100,000 points go to a GPU on auto, the lecture's 5 stay on the CPU."""
    from ppl_models import gmm

    work = 100_000 * gmm.GmmSettings().k
    assert work >= GPU_MIN_ELEMENTS > len(gmm.LECTURE_DATA) * gmm.GmmSettings().k
    fit = gmm.fit_map(gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings(inits=5, steps=5))
    assert fit.device == "cpu" and fit.svi.device == "cpu"


def test_the_prologue_moves_conditions_and_starts_the_clock_after_the_queue():
    import threading
    import time

    from ppl_models.engine.prologue import run_context
    from ppl_models.engine.runtime.guard import inference_guard

    holding, release = threading.Event(), threading.Event()

    def hold_the_guard():
        with inference_guard(seed=1):
            holding.set()
            release.wait(5)

    other = threading.Thread(target=hold_the_guard)
    other.start()
    holding.wait(5)
    threading.Timer(0.3, release.set).start()
    asked = time.perf_counter()
    with run_context(
        scale, seed=0, device="cpu", model_args=ARGS, observations={"measurement": 14}, float64=True
    ) as run:
        assert run.started - asked >= 0.25  # the 0.3 s queued behind the other run is not this run's
        assert run.args[0].dtype == torch.float64 and run.observations["measurement"].dtype == torch.float64
        trace = pyro.poutine.trace(run.model).get_trace(*run.args)
    other.join()
    assert trace.nodes["measurement"]["is_observed"] and trace.nodes["measurement"]["value"].item() == 14.0
    assert run.device == torch.device("cpu") and run.device_note == ""
