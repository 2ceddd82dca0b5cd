"""One MAP fit of the mixture: the best start, SVI from it, and what the page reads of it.

:func:`fit_once` is one fit of one setting; :func:`ppl_models.gmm.fit_map` checks it and,
when it fails, makes the comparison fits that tell the causes apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import infer_discrete
from pyro.infer.autoguide import AutoDelta

from ppl_models.engine.compiled_map import NotCompilable, run_map_fit
from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.progress import ProgressCallback
from ppl_models.engine.svi import SviResult, SviSettings, run_svi
from ppl_models.gmm_health import Diagnosis, FitCheck, check_fit
from ppl_models.gmm_model import GLOBAL_SITES, SUBSAMPLE_SIZE, GmmPrior, GmmSettings, mixture, negative_log_joint
from ppl_models.gmm_starts import make_starts, score_candidates


@dataclass(frozen=True)
class GmmFit:
    """A MAP fit, with everything the page draws; components sorted by location."""

    data: np.ndarray
    start_scores: np.ndarray  # what each start was chosen by: its loss (lecture), its mean squared distance (spread)
    chosen_init: int
    start_locs: np.ndarray  # the chosen start's locations, sorted
    weights: np.ndarray
    locs: np.ndarray
    scale: float
    membership: np.ndarray  # (n, K): P(point i belongs to component k | MAP parameters)
    map_assignment: np.ndarray  # (n,): infer_discrete at temperature 0
    svi: SviResult
    subsampled: bool
    check: FitCheck
    wall_time_s: float
    device: str = "cpu"
    device_note: str = ""  # why the fit ran elsewhere than asked, as the page should say
    # When the check finds a problem: the fits of changed settings, and what they show.
    diagnosis: Diagnosis | None = None


def loss_parts(data: np.ndarray, weights: np.ndarray, locs: np.ndarray, scale: float, prior: GmmPrior):
    """``(-log p(data, parameters), log p(data | parameters))`` of one parameter set, every point."""
    x = torch.as_tensor(data, dtype=torch.float64)
    one = {
        "weights": torch.as_tensor(weights, dtype=torch.float64)[None],
        "locs": torch.as_tensor(locs, dtype=torch.float64)[None],
        "scale": torch.tensor([float(scale)], dtype=torch.float64),
    }
    loss = float(score_candidates(x, one, prior, len(x))[0])
    log_prior = float(
        dist.Dirichlet(prior.concentration * torch.ones(len(weights), dtype=torch.float64)).log_prob(one["weights"][0])
        + dist.LogNormal(0.0, prior.scale_sd).log_prob(one["scale"][0])
        + dist.Normal(0.0, prior.locs_sd).log_prob(one["locs"][0]).sum()
    )
    return loss, -loss - log_prior


def fit_once(values: np.ndarray, prior: GmmPrior, settings: GmmSettings, progress: ProgressCallback | None) -> GmmFit:
    """Score the starts, run SVI from the best, check the result."""
    x = torch.as_tensor(values, dtype=torch.get_default_dtype())
    n, k = len(values), settings.k
    subsample = SUBSAMPLE_SIZE if n > SUBSAMPLE_SIZE else None
    with run_context(seed=settings.seed, device=settings.device, work_elements=n * k) as run:
        generator = torch.Generator().manual_seed(settings.seed)
        # Drawn on the CPU from the CPU data whatever the device, so a seed picks the same
        # initialisations on every device; only the scoring moves.
        starts = make_starts(settings.init, x, k, settings.inits, generator)
        if settings.init == "lecture":
            # The lecture's choice: the start whose loss is lowest.
            scored = x if subsample is None else x[torch.randperm(n, generator=generator)[:subsample]]
            on_device = {name: run.move(value) for name, value in starts.items()}
            scores = score_candidates(run.move(scored), on_device, prior, n).cpu()
        else:
            # k-means++'s own choice: the start whose locations sit nearest the points (its
            # scale is the root mean squared distance). By loss, a start that pulls every
            # location towards the prior's centre can win over one with a location per group.
            scores = starts["scale"].square()
        best = int(torch.argmin(scores))
    start = {name: value[best] for name, value in starts.items()}
    start_locs = np.sort(start["locs"].numpy())

    def start_at_best(site):
        # A copy: AutoDelta's parameter would otherwise be the start itself, updated in place.
        return start[site["name"]].clone().to(site["fn"].sample().device)

    def model(data):
        # Constants live in this closure: the JIT-compiled ELBO can only trace tensor arguments.
        return mixture(data, k, float(prior.concentration), float(prior.scale_sd), float(prior.locs_sd), subsample)

    guide = AutoDelta(poutine.block(model, expose=list(GLOBAL_SITES)), init_loc_fn=start_at_best)
    svi_settings = SviSettings(
        num_steps=settings.steps,
        lr=settings.lr,
        beta1=settings.beta1,
        beta2=settings.beta2,
        elbo="enum",
        num_particles=1,
        max_plate_nesting=1,
        seed=settings.seed,
        device=settings.device,
        num_posterior_samples=0,
        # The JIT-compiled ELBO is ~3x faster per step; random subsample indices cannot be traced.
        jit_compile=subsample is None,
    )
    try:
        if subsample is not None:
            raise NotCompilable("each step sees a random subsample")
        # The same fit, each step one traced call (ppl_models/engine/compiled_map.py).
        constants = ("gmm", k, float(prior.concentration), float(prior.scale_sd), float(prior.locs_sd))
        starts_at = {name: start[name].clone() for name in GLOBAL_SITES}
        svi = run_map_fit(model, _loss_of(prior), starts_at, svi_settings, (x,), progress, structure=constants)
    except NotCompilable:
        svi = run_svi(model, guide, svi_settings, (x,), progress=progress, work_elements=n * k)
    weights = svi.params["AutoDelta.weights"]
    locs = svi.params["AutoDelta.locs"]
    scale = float(svi.params["AutoDelta.scale"])
    order = np.argsort(locs)
    weights, locs = weights[order], locs[order]
    shares = membership(values, weights, locs, scale)
    return GmmFit(
        data=values,
        start_scores=scores.numpy(),
        chosen_init=best,
        start_locs=start_locs,
        weights=weights,
        locs=locs,
        scale=scale,
        membership=shares,
        map_assignment=np.empty(0, dtype=np.int64),
        svi=svi,
        subsampled=subsample is not None,
        check=check_fit(values, weights, locs, scale, shares),
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
    )


def _loss_of(prior: GmmPrior):
    """TraceEnum_ELBO's loss of the mixture with an AutoDelta guide, in closed form
    (``tests/test_gmm_model.py`` holds it equal to Pyro's)."""

    def loss(values, data):
        weights, locs, scale = values["weights"][None], values["locs"][None], values["scale"].reshape(1)
        return negative_log_joint(data, weights, locs, scale, prior)[0]

    return loss


def membership(data: np.ndarray, weights: np.ndarray, locs: np.ndarray, scale: float) -> np.ndarray:
    """P(assignment = k | point, parameters): each component's share of the point's density."""
    # Computed in place in the (n, K) result: at 100,000 points each temporary would be 5 MB.
    parts = np.subtract(data[:, None], locs[None, :])
    parts /= scale
    np.square(parts, out=parts)
    parts *= -0.5
    parts += np.log(weights)[None, :]
    parts -= parts.max(axis=1, keepdims=True)
    np.exp(parts, out=parts)
    parts /= parts.sum(axis=1, keepdims=True)
    return parts


# infer_discrete enumerates every point's K assignments at once; slices of this many
# points keep its tensors to a few MB. Given the MAP globals each point's assignment is
# decided on its own, so slicing changes nothing.
ASSIGNMENT_SLICE = 10_000


def map_assignment(
    data: np.ndarray, weights: np.ndarray, locs: np.ndarray, scale: float, prior: GmmPrior
) -> np.ndarray:
    """Each point's most probable component, by Pyro's ``infer_discrete`` at temperature 0."""
    # The CPU always: given the globals each point is decoded on its own, a slice at a time,
    # too little work per call for a GPU to gain.
    fixed = {"weights": weights, "locs": locs, "scale": float(scale)}
    with run_context(mixture, seed=0, device="cpu", observations=fixed) as run:
        decoded = infer_discrete(run.model, temperature=0, first_available_dim=-2)
        x = torch.as_tensor(data, dtype=torch.get_default_dtype())
        slices = []
        for first in range(0, len(x), ASSIGNMENT_SLICE):
            trace = poutine.trace(decoded).get_trace(
                x[first : first + ASSIGNMENT_SLICE],
                len(locs),
                float(prior.concentration),
                float(prior.scale_sd),
                float(prior.locs_sd),
            )
            slices.append(trace.nodes["assignment"]["value"].numpy())
    return np.concatenate(slices)
