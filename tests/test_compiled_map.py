"""The compiled MAP fit is Pyro's SVI (AutoDelta, Adam, TraceEnum_ELBO) from the same start,
to float rounding."""

import numpy as np
import pytest
import torch
from pyro import poutine
from pyro.infer.autoguide import AutoDelta

from ppl_models.engine import compiled_map
from ppl_models.engine.compiled_map import NotCompilable, run_map_fit
from ppl_models.engine.svi import SviDiverged, SviSettings, run_svi
from ppl_models.gmm_fit import _loss_of
from ppl_models.gmm_model import GLOBAL_SITES, GmmPrior, mixture


def _fit_both(data, k, start, settings):
    prior = GmmPrior()
    x = torch.tensor(data)

    def model(data):
        return mixture(data, k, float(prior.concentration), float(prior.scale_sd), float(prior.locs_sd))

    def at_start(site):
        return start[site["name"]].clone()

    guide = AutoDelta(poutine.block(model, expose=list(GLOBAL_SITES)), init_loc_fn=at_start)
    pyro_fit = run_svi(model, guide, settings, (x,))
    starts_at = {n: start[n].clone() for n in GLOBAL_SITES}
    compiled = run_map_fit(model, _loss_of(prior), starts_at, settings, (x,), structure=("t", k))
    return pyro_fit, compiled


SETTINGS = SviSettings(
    num_steps=200,
    lr=0.1,
    beta1=0.8,
    beta2=0.99,
    elbo="enum",
    max_plate_nesting=1,
    num_particles=1,
    num_posterior_samples=0,
    jit_compile=True,
)


@pytest.mark.parametrize(
    "data, start",
    [
        ((0.0, 1.0, 10.0, 11.0, 12.0), {"weights": [0.5, 0.5], "scale": 3.0, "locs": [0.0, 12.0]}),
        ((-3.1, -2.0, 4.5, 5.0, 5.2, 9.9, 10.4), {"weights": [0.2, 0.3, 0.5], "scale": 1.5, "locs": [-2.0, 5.0, 9.0]}),
    ],
    ids=["lecture", "three"],
)
def test_the_compiled_fit_is_pyro_s_svi(data, start):
    start = {name: torch.tensor(value) for name, value in start.items()}
    pyro_fit, compiled = _fit_both(data, len(start["locs"]), start, SETTINGS)
    # The same operations in float32, summed in another order: the two agree to rounding
    # while the loss falls, and near the optimum Adam's dithering amplifies the rounding a
    # little (1e-4 of the loss), never past what the page shows (3 decimals).
    np.testing.assert_allclose(compiled.losses[:100], pyro_fit.losses[:100], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(compiled.losses, pyro_fit.losses, rtol=5e-4)
    for name in pyro_fit.params:
        np.testing.assert_allclose(compiled.params[name], pyro_fit.params[name], atol=5e-4)
        np.testing.assert_allclose(compiled.trajectories[name][:100], pyro_fit.trajectories[name][:100], atol=1e-4)
        np.testing.assert_allclose(compiled.grad_norms[name][:50], pyro_fit.grad_norms[name][:50], rtol=1e-3, atol=1e-4)


def test_the_traced_step_is_kept_per_structure_and_bounded():
    compiled_map._kept.clear()
    start = {"weights": torch.tensor([0.5, 0.5]), "scale": torch.tensor(3.0), "locs": torch.tensor([0.0, 12.0])}
    for _ in range(2):
        _fit_both((0.0, 1.0, 10.0, 11.0, 12.0), 2, start, SETTINGS)
    assert len(compiled_map._kept) == 1
    for n in range(compiled_map.MAX_KEPT_STEPS + 2):
        _fit_both(tuple(float(v) for v in range(n + 3)), 2, start, SviSettings(**{**SETTINGS.__dict__, "num_steps": 2}))
    assert len(compiled_map._kept) == compiled_map.MAX_KEPT_STEPS


LECTURE_START = {"weights": [0.5, 0.5], "scale": 3.0, "locs": [0.0, 12.0]}


def _fit_three_points(settings):
    """The compiled fit alone, on three points of the lecture's kind, K = 2."""
    start = {name: torch.tensor(value) for name, value in LECTURE_START.items()}
    model = lambda data: mixture(data, 2, 0.5, 2.0, 10.0)  # noqa: E731
    return run_map_fit(model, _loss_of(GmmPrior()), start, settings, (torch.tensor([0.0, 1.0, 10.0]),))


def test_fits_it_cannot_take_say_so():
    for settings in (
        SviSettings(**{**SETTINGS.__dict__, "optimizer": "sgd"}),
        SviSettings(**{**SETTINGS.__dict__, "num_particles": 2}),
    ):
        with pytest.raises(NotCompilable):
            _fit_three_points(settings)


def test_a_diverging_fit_says_at_which_step():
    with pytest.raises(SviDiverged, match="SVI diverged at step"):
        _fit_three_points(SviSettings(**{**SETTINGS.__dict__, "lr": 1e30}))
