"""The batched sampler: each chain is its solo run bit for bit, its draws agree with the exact
posterior, and its statistics with Pyro's own HMC over many seeds."""

import math

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import HMC, MCMC
from pyro.infer.mcmc.adaptation import WarmupAdapter
from pyro.infer.mcmc.util import initialize_model
from pyro.ops.dual_averaging import DualAveraging

from ppl_models.engine import batched_hmc, potential_graph
from ppl_models.engine.batched_hmc import ChainSpec, SamplerSettings, input_tensors, sample_batch
from ppl_models.engine.mcmc import HmcRequest, McmcSettings, run_hmc_together, run_mcmc
from ppl_models.engine.potential_graph import NotBatchable, graphs_for, padded_width
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.scale import ScaleSettings, exact_posterior, infer_weight, infer_weight_together, scale

LECTURE = SamplerSettings(num_samples=1000, warmup_steps=50, step_size=0.9, num_steps=4)
# A trajectory of 2 is short of every period the scale posteriors here have (2 pi sd >= 3):
# no resonance, so every chain mixes and its error is Monte Carlo error alone.
MIXING = SamplerSettings(num_samples=1000, warmup_steps=300, step_size=0.25, num_steps=8)


def scale_spec(query: ScaleSettings, seed: int) -> ChainSpec:
    return ChainSpec(
        input_tensors((query.guess, query.prior_sd, query.noise_sd), (("measurement", query.measurement),)), seed
    )


def random_queries(count: int, seed: int) -> list[ScaleSettings]:
    rng = np.random.default_rng(seed)
    return [
        ScaleSettings(
            guess=float(rng.uniform(0, 30)),
            prior_sd=float(rng.uniform(0.5, 3)),
            noise_sd=float(rng.uniform(0.5, 3)),
            measurement=float(rng.uniform(0, 30)),
        )
        for _ in range(count)
    ]


def test_the_constants_are_pyro_s():
    kernel = HMC(potential_fn=lambda z: (z["x"] ** 2).sum(), step_size=0.9, num_steps=4)
    assert kernel._direction_threshold == batched_hmc.DIRECTION_THRESHOLD
    assert kernel._max_sliced_energy == batched_hmc.MAX_SLICED_ENERGY
    assert (kernel._min_stepsize, kernel._max_stepsize) == (batched_hmc.MIN_STEP_SIZE, batched_hmc.MAX_STEP_SIZE)
    assert kernel._adapter.target_accept_prob == batched_hmc.TARGET_ACCEPT_PROB
    averaging = DualAveraging()
    assert (averaging.t0, averaging.kappa, averaging.gamma) == (10, 0.75, 0.05)
    # The trajectory-length rule: HMC.num_steps with L = step_size * num_steps.
    assert kernel.trajectory_length == 0.9 * 4 and kernel.num_steps == 4


@pytest.mark.parametrize("warmup", [0, 10, 50, 150, 1000])
def test_the_adaptation_windows_are_pyro_s(warmup):
    adapter = WarmupAdapter(adapt_step_size=True, adapt_mass_matrix=True)
    adapter._warmup_steps = warmup
    graphs = graphs_for(scale, ("measurement",), scale_spec(ScaleSettings(), 0).inputs, 32)
    chains = batched_hmc._Chains(graphs, [scale_spec(ScaleSettings(), 0)], LECTURE)
    ours = batched_hmc._Adaptation(chains, SamplerSettings(10, warmup, 0.9, 4))
    assert ours.windows == adapter._build_adaptation_schedule()


@pytest.mark.parametrize("query", random_queries(6, seed=11), ids=lambda q: f"m{q.measurement:.1f}")
def test_the_potential_and_its_gradient_are_pyro_s(query):
    spec = scale_spec(query, 0)
    graphs = graphs_for(scale, ("measurement",), spec.inputs, 32)
    z = torch.linspace(-5, 35, 32).reshape(32, 1)
    inputs = tuple(value.expand(32).clone() for value in spec.inputs)
    gradient_invariants, value_invariants = graphs.invariants(z, inputs)
    gradient, value = graphs.gradient_and_value(z, value_invariants)
    conditioned = pyro.condition(scale, data={"measurement": torch.tensor(query.measurement)})
    _, pyro_potential, _, _ = initialize_model(conditioned, spec.inputs[:3])
    for i in (0, 13, 31):
        point = {"weight": z[i, 0].clone().requires_grad_()}
        energy = pyro_potential(point)
        energy.backward()
        assert float(value[i]) == float(energy.detach())
        assert float(gradient[i, 0]) == float(point["weight"].grad)
        assert float(graphs.gradient_core(z, *gradient_invariants)[i, 0]) == float(point["weight"].grad)


def test_each_chain_is_its_solo_run_bit_for_bit_whoever_shares_the_batch():
    queries = random_queries(40, seed=5)
    specs = [scale_spec(q, seed) for seed, q in enumerate(queries)]
    settings = SamplerSettings(num_samples=200, warmup_steps=60, step_size=0.9, num_steps=4)
    together = sample_batch(scale, ("measurement",), specs, settings)  # 40 chains: the 128-wide batch
    small = sample_batch(scale, ("measurement",), specs[27:31][::-1], settings)  # other company, other lanes
    for index in (0, 3, 17, 27, 28, 30, 39):
        alone = sample_batch(scale, ("measurement",), [specs[index]], settings)[0]
        for other in [together[index]] + ([small[30 - index]] if 27 <= index <= 30 else []):
            assert np.array_equal(other.samples["weight"], alone.samples["weight"])
            assert other.step_size == alone.step_size and other.num_steps == alone.num_steps
            assert other.acceptance_rate == alone.acceptance_rate and other.divergences == alone.divergences
    # Chains really do differ: their own settings and seeds.
    assert not np.array_equal(together[0].samples["weight"], together[1].samples["weight"])


def test_the_same_setting_with_another_seed_draws_otherwise():
    spec = scale_spec(ScaleSettings(), 3)
    first, again, other = sample_batch(scale, ("measurement",), [spec, spec, ChainSpec(spec.inputs, 4)], LECTURE)
    assert np.array_equal(first.samples["weight"], again.samples["weight"])
    assert not np.array_equal(first.samples["weight"], other.samples["weight"])


def test_every_chain_agrees_with_its_exact_posterior_within_monte_carlo_error():
    """64 random settings, each its own seed, in one batch: the mean within 4.5 Monte Carlo
    standard errors of the exact posterior mean, the sd within 15%."""
    from ppl_models.engine.diagnostics import summarize

    queries = random_queries(64, seed=21)
    outcomes = sample_batch(scale, ("measurement",), [scale_spec(q, 100 + i) for i, q in enumerate(queries)], MIXING)
    for query, outcome in zip(queries, outcomes, strict=True):
        exact = exact_posterior(query)
        summary = summarize(outcome.samples["weight"].reshape(1, -1))
        assert abs(summary.mean - exact.mean) < 4.5 * summary.mcse, (query, summary)
        assert summary.sd == pytest.approx(exact.sd, rel=0.15)
        assert outcome.acceptance_rate > 0.6 and outcome.divergences == 0


def _pyro_statistics(seed: int, samples: int) -> tuple[float, float, float, float]:
    conditioned = pyro.condition(scale, data={"measurement": torch.tensor(14.0)})
    with inference_guard(seed):
        kernel = HMC(conditioned, step_size=0.9, num_steps=4)
        mcmc = MCMC(kernel, num_samples=samples, warmup_steps=50, disable_progbar=True)
        mcmc.run(torch.tensor(10.0), torch.tensor(1.0), torch.tensor(0.75))
        weight = mcmc.get_samples()["weight"].numpy()
        return math.log(kernel.step_size), mcmc._diagnostics[0]["acceptance rate"], weight.mean(), weight.std()


def test_the_batched_sampler_agrees_with_pyro_s_hmc_over_many_seeds():
    """Where the random stream differs, the distribution over seeds must not: the lecture's
    setting (step 0.9, 4 steps, 50 warmup, 200 draws), 40 seeds each, Pyro's HMC against the
    batched sampler. Each statistic's mean over seeds agrees within 4 standard errors of the
    difference: the adapted step size, the acceptance rate, the posterior mean and sd."""
    seeds, samples = 40, 200
    pyro_runs = np.array([_pyro_statistics(1000 + seed, samples) for seed in range(seeds)])
    settings = SamplerSettings(num_samples=samples, warmup_steps=50, step_size=0.9, num_steps=4)
    ours = sample_batch(scale, ("measurement",), [scale_spec(ScaleSettings(), s) for s in range(seeds)], settings)
    batched = np.array(
        [
            (math.log(o.step_size), o.acceptance_rate, o.samples["weight"].mean(), o.samples["weight"].std())
            for o in ours
        ]
    )
    for column, name in enumerate(("log step size", "acceptance", "mean", "sd")):
        a, b = pyro_runs[:, column], batched[:, column]
        error = math.sqrt(a.var(ddof=1) / seeds + b.var(ddof=1) / seeds)
        assert abs(a.mean() - b.mean()) < 4 * error, (name, a.mean(), b.mean(), error)


def test_a_chain_whose_trajectory_grows_past_the_bound_fails_alone(monkeypatch):
    """A step adapted towards zero would hold the whole batch: past the bound that chain
    stops with a message, and its company runs on, each still its solo run."""
    monkeypatch.setattr(batched_hmc, "MAX_TRAJECTORY_STEPS", 60)
    lecture = scale_spec(ScaleSettings(), 1)
    narrow = scale_spec(ScaleSettings(prior_sd=0.1, noise_sd=0.1), 2)  # posterior sd 0.07
    settings = SamplerSettings(num_samples=100, warmup_steps=40, step_size=0.9, num_steps=4)
    fine, failed = sample_batch(scale, ("measurement",), [lecture, narrow], settings)
    assert "leapfrog steps" in failed.error and "NUTS" in failed.error
    assert not fine.error
    alone = sample_batch(scale, ("measurement",), [lecture], settings)[0]
    assert np.array_equal(fine.samples["weight"], alone.samples["weight"])
    results = infer_weight_together(
        [
            (ScaleSettings(), McmcSettings(num_samples=100, warmup_steps=40, seed=1)),
            (ScaleSettings(prior_sd=0.1, noise_sd=0.1), McmcSettings(num_samples=100, warmup_steps=40, seed=2)),
        ]
    )
    assert "leapfrog steps" in str(results[1]) and np.array_equal(results[0].weight_draws[0], alone.samples["weight"])


def test_a_badly_mixed_chain_is_always_flagged():
    """The lecture's setting fails on some seeds (Pyro's HMC too: a trajectory near one period,
    50 warmup steps). Over 64 seeds, every run more than 0.2 sd from the exact mean says so."""
    query = ScaleSettings()
    results = infer_weight_together([(query, McmcSettings(seed=seed)) for seed in range(64)])
    exact = exact_posterior(query)
    far = [r for r in results if abs(r.mean - exact.mean) > 0.2 * exact.sd]
    assert far, "the lecture's setting should fail on some of 64 seeds"
    for result in far:
        problems = " ".join(a.problem for a in result.advice)
        assert "Effective sample size is only" in problems or "away from the exact" in problems


def test_several_requests_with_several_chains_each_are_each_their_own_run():
    settings = McmcSettings(num_samples=150, warmup_steps=40, num_chains=3)
    requests = [
        HmcRequest((10.0, 1.0, 0.75), {"measurement": 14.0}, seed=7),
        HmcRequest((2.0, 2.0, 1.0), {"measurement": 5.0}, seed=8),
    ]
    together = run_hmc_together(scale, settings, requests)
    for request, result in zip(requests, together, strict=True):
        alone = run_mcmc(
            scale,
            McmcSettings(num_samples=150, warmup_steps=40, num_chains=3, seed=request.seed),
            request.model_args,
            request.observations,
        )
        assert np.array_equal(result.samples["weight"], alone.samples["weight"])
        assert result.samples["weight"].shape == (3, 150)
        assert result.chains == alone.chains


def test_a_batch_of_scale_runs_equals_each_page_run():
    calls = [(q, McmcSettings(num_samples=300, seed=i)) for i, q in enumerate(random_queries(5, seed=2))]
    for (query, settings), result in zip(calls, infer_weight_together(calls), strict=True):
        alone = infer_weight(query, settings)
        assert np.array_equal(result.weight_draws, alone.weight_draws)
        assert result.mean == alone.mean and result.advice == alone.advice


def test_an_impossible_setting_in_a_batch_fails_alone():
    good = (ScaleSettings(), McmcSettings(num_samples=100))
    bad = (ScaleSettings(prior_sd=-1.0), McmcSettings(num_samples=100, seed=3))
    results = infer_weight_together([good, bad, good])
    assert "positive" in str(results[1])
    assert np.array_equal(results[0].weight_draws, results[2].weight_draws)
    assert np.array_equal(results[0].weight_draws, infer_weight(*good).weight_draws)


def _two_sites(data):
    loc = pyro.sample("loc", dist.Normal(torch.zeros(2), 3.0).to_event(1))
    spread = pyro.sample("spread", dist.LogNormal(0.0, 0.5))
    with pyro.plate("points", data.shape[0]):
        pyro.sample("obs", dist.Normal(loc.sum(), spread), obs=data)


def test_a_model_with_several_sites_and_a_constrained_one_runs_batched_equal_to_its_solo_run():
    specs = [ChainSpec((torch.tensor([0.5, 1.5, 2.0, 1.0]) + s,), s) for s in range(5)]
    together = sample_batch(_two_sites, (), specs, SamplerSettings(200, 100, 0.1, 10))
    alone = sample_batch(_two_sites, (), specs[3:4], SamplerSettings(200, 100, 0.1, 10))[0]
    assert np.array_equal(together[3].samples["loc"], alone.samples["loc"])
    assert np.array_equal(together[3].samples["spread"], alone.samples["spread"])
    assert together[3].samples["loc"].shape == (200, 2)
    assert (together[3].samples["spread"] > 0).all()


def _bounded(high):
    pyro.sample("x", dist.Uniform(0.0, high))


def _counted(k):
    pyro.sample("x", dist.Normal(torch.zeros(k), 1.0).to_event(1))


def test_models_the_batch_cannot_take_fall_back_to_pyro_s_hmc():
    with pytest.raises(NotBatchable, match="support"):
        sample_batch(_bounded, (), [ChainSpec((torch.tensor(2.0),), 0)], LECTURE)
    with pytest.raises(NotBatchable):
        input_tensors((3,), ())
    # run_mcmc still samples them, on Pyro's HMC.
    result = run_mcmc(_bounded, McmcSettings(num_samples=50, warmup_steps=20), (2.0,))
    assert ((result.samples["x"] > 0) & (result.samples["x"] < 2)).all()
    result = run_mcmc(_counted, McmcSettings(num_samples=50, warmup_steps=20), (3,))
    assert result.samples["x"].shape == (1, 50, 3)


def test_the_compiled_structures_are_bounded():
    potential_graph.clear_cache()
    models = []
    for index in range(potential_graph.MAX_STRUCTURES + 3):

        def model(guess, _index=index):
            pyro.sample("w", dist.Normal(guess, 1.0 + _index))

        model.__qualname__ = f"model_{index}"
        models.append(model)
        graphs_for(model, (), (torch.tensor(0.0),), padded_width(1))
    assert potential_graph.cached_structures() == potential_graph.MAX_STRUCTURES


def test_runs_survive_the_guard_emptying_the_process_wide_traces():
    # The guard drops every TorchScript function traced in the process-wide unit after a
    # run; the batched sampler's traces live in their own unit and must still be callable.
    first = infer_weight(ScaleSettings(measurement=13.0), McmcSettings(num_samples=100, seed=1))
    assert len(torch.jit._state._python_cu.get_functions()) == 0
    second = infer_weight(ScaleSettings(measurement=13.0), McmcSettings(num_samples=100, seed=1))
    assert np.array_equal(first.weight_draws, second.weight_draws)


def test_two_models_of_one_name_never_share_a_potential():
    """Closures of one name with other constants (a lecture's model made per call) are other
    structures: each chain samples its own model's posterior."""

    def make(spread):
        def model(guess):
            pyro.sample("w", dist.Normal(guess, spread))

        return model

    narrow, wide = make(0.1), make(5.0)
    assert narrow.__qualname__ == wide.__qualname__
    settings = SamplerSettings(num_samples=800, warmup_steps=200, step_size=0.1, num_steps=10)
    for model, sd in ((narrow, 0.1), (wide, 5.0)):
        (chain,) = sample_batch(model, (), [ChainSpec((torch.tensor(3.0),), 0)], settings)
        assert chain.samples["w"].std() == pytest.approx(sd, rel=0.2)
