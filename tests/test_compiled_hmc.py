"""The compiled leapfrog gives Pyro's own HMC draws, bit for bit, only sooner."""

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import HMC, MCMC

from ppl_models.engine.compiled_hmc import MAX_UNROLLED_STEPS, CompiledTrajectoryHMC
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.scale import scale


def _draws(kernel_class, model, args, seed, samples, warmup, **kernel_options):
    with inference_guard(seed):
        kernel = kernel_class(model, jit_compile=False, **kernel_options)
        mcmc = MCMC(kernel, num_samples=samples, warmup_steps=warmup, disable_progbar=True)
        mcmc.run(*args)
        return mcmc.get_samples(), kernel


def _conditioned_scale(measurement: float):
    return pyro.condition(scale, data={"measurement": torch.tensor(measurement)})


@pytest.mark.parametrize(
    ("guess", "measurement", "seed", "samples", "warmup"),
    [(10.0, 14.0, 0, 1000, 50), (8.5, 14.0, 1, 300, 50), (10.0, 9.0, 3, 200, 100)],
)
def test_lecture_model_draws_equal_pyros_hmc(guess, measurement, seed, samples, warmup):
    args = (torch.tensor(guess), torch.tensor(1.0), torch.tensor(0.75))
    model = _conditioned_scale(measurement)
    options = dict(step_size=0.9, num_steps=4)
    expected, pyro_kernel = _draws(HMC, model, args, seed, samples, warmup, **options)
    got, kernel = _draws(CompiledTrajectoryHMC, model, args, seed, samples, warmup, **options)
    assert kernel.compiled
    # After warmup every trajectory ran as one traced call of the settled length.
    assert list(kernel._leapfrog._whole_trajectories) == [kernel.num_steps]
    assert torch.equal(got["weight"], expected["weight"])
    assert kernel.step_size == pyro_kernel.step_size


def test_a_long_trajectory_loops_the_one_step_graph_with_the_same_draws():
    # 40 unrolled steps would hold about 26 MB of traced graph in a worker; past the cap the
    # one-step graph runs in a loop, which must not change a single draw.
    args = (torch.tensor(10.0), torch.tensor(1.0), torch.tensor(0.75))
    model = _conditioned_scale(14.0)
    options = dict(step_size=0.1, num_steps=MAX_UNROLLED_STEPS + 8, adapt_step_size=False)
    expected, _ = _draws(HMC, model, args, 2, 60, 20, **options)
    got, kernel = _draws(CompiledTrajectoryHMC, model, args, 2, 60, 20, **options)
    assert kernel.compiled
    assert kernel._leapfrog._whole_trajectories == {}
    assert torch.equal(got["weight"], expected["weight"])


def _several_sites(data):
    locs = pyro.sample("locs", dist.Normal(torch.zeros(3), 5.0).to_event(1))
    spread = pyro.sample("spread", dist.LogNormal(0.0, 1.0))
    with pyro.plate("points", data.shape[0]):
        pyro.sample("obs", dist.Normal(locs.sum() + torch.zeros(data.shape[0]), spread), obs=data)


@pytest.mark.parametrize("full_mass", [False, True])
def test_several_constrained_sites_and_a_dense_mass_matrix(full_mass):
    data = (torch.arange(8.0) - 3.0,)
    expected, _ = _draws(HMC, _several_sites, data, 5, 150, 150, step_size=0.1, num_steps=5, full_mass=full_mass)
    got, kernel = _draws(
        CompiledTrajectoryHMC, _several_sites, data, 5, 150, 150, step_size=0.1, num_steps=5, full_mass=full_mass
    )
    assert kernel.compiled
    assert list(kernel._leapfrog._whole_trajectories) == [kernel.num_steps]
    for name in ("locs", "spread"):
        assert torch.equal(got[name], expected[name]), name


def _item_model():
    weight = pyro.sample("weight", dist.Normal(0.0, 1.0))
    # .item() cannot be traced: the kernel must fall back to Pyro's integrator.
    pyro.sample("obs", dist.Normal(weight * (2.0 if weight.item() > 0 else 1.0), 1.0), obs=torch.tensor(0.5))


def test_an_untraceable_model_falls_back_to_pyros_integrator():
    expected, _ = _draws(HMC, _item_model, (), 2, 100, 50, step_size=0.5, num_steps=3)
    got, kernel = _draws(CompiledTrajectoryHMC, _item_model, (), 2, 100, 50, step_size=0.5, num_steps=3)
    assert not kernel.compiled
    assert torch.equal(got["weight"], expected["weight"])
