"""The lecture's Gaussian mixture, fit by MAP with SVI and enumeration (and by NUTS).

::

    concentration        scale_sd         locs_sd
         |                  |                |
         v                  v                v
      weights             scale      locs[k], k < K   (plate "components")
         |                  |                |
         v                  v                v
    assignment[i] -------> obs[i] <-----------        (plate "data", i < n)

    weights       ~ Dirichlet(concentration * ones(K))
    scale         ~ LogNormal(0, scale_sd)
    locs[k]       ~ Normal(0, locs_sd)
    assignment[i] ~ Categorical(weights)              (enumerated: summed out exactly)
    obs[i]        ~ Normal(locs[assignment[i]], scale)

From the Pyro lecture of the causal-ML course (after Pyro's GMM tutorial): data
[0, 1, 10, 11, 12], K = 2, ``AutoDelta`` on the global variables,
``TraceEnum_ELBO(max_plate_nesting=1)``, Adam(lr 0.1, betas 0.8/0.99), the best of 100
random initialisations, 200 steps. The lecture's answer: weights 0.375/0.625, locs
0.50/10.98, scale 0.651 (up to label order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import config_enumerate, infer_discrete
from pyro.infer.autoguide import AutoDelta

from ppl_models.engine.mcmc import McmcResult, McmcSettings, run_mcmc
from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.runtime.progress import ProgressCallback
from ppl_models.engine.svi import SviResult, SviSettings, run_svi
from ppl_models.gmm_data import DataError, SyntheticData, as_array, check_data

LECTURE_DATA = (0.0, 1.0, 10.0, 11.0, 12.0)
MAX_K = 6
MAX_INITS = 1000
MAX_STEPS = 2000
# Above this many points each SVI step sees a random subsample (scaled up by Pyro's
# plate), and initialisations are scored on one; the fit stays a few seconds at 100,000.
SUBSAMPLE_SIZE = 5_000
# The initialisations are scored a slice at a time, each slice touching at most this many
# floats (initialisations x points x K), so a worker's memory stays fixed however many
# initialisations and points are asked for; the lecture's random picks need a
# initialisations x points array, used only while it stays this small.
CHUNK_ELEMENTS = 1_000_000
GLOBAL_SITES = ("weights", "scale", "locs")


@dataclass(frozen=True)
class GmmPrior:
    concentration: float = 0.5
    scale_sd: float = 2.0
    locs_sd: float = 10.0

    def check(self) -> None:
        if not (self.concentration > 0 and self.scale_sd > 0 and self.locs_sd > 0):
            raise InferenceError("The prior's concentration and standard deviations must be positive.")


@dataclass(frozen=True)
class GmmSettings:
    k: int = 2
    inits: int = 100
    steps: int = 200
    lr: float = 0.1
    beta1: float = 0.8
    beta2: float = 0.99
    seed: int = 0
    # auto, cpu or cuda, resolved like an MCMC run's (engine/device.py) with points x K elements.
    device: str = "auto"

    def check(self) -> None:
        problems = []
        if not 1 <= self.k <= MAX_K:
            problems.append(f"K must be between 1 and {MAX_K}")
        if not 1 <= self.inits <= MAX_INITS:
            problems.append(f"initialisations must be between 1 and {MAX_INITS}")
        if not 1 <= self.steps <= MAX_STEPS:
            problems.append(f"steps must be between 1 and {MAX_STEPS}")
        if problems:
            raise InferenceError("Cannot fit: " + "; ".join(problems) + ".")
        # The optimizer's own numbers are checked where SVI checks them.
        SviSettings(num_steps=self.steps, lr=self.lr, beta1=self.beta1, beta2=self.beta2, elbo="enum").check()


# ---- the model ----------------------------------------------------------------------


@config_enumerate
def mixture(data, k, concentration, scale_sd, locs_sd, subsample_size=None):
    weights = pyro.sample("weights", dist.Dirichlet(concentration * torch.ones(k, device=data.device)))
    scale = pyro.sample("scale", dist.LogNormal(torch.zeros((), device=data.device), scale_sd))
    with pyro.plate("components", k):
        locs = pyro.sample("locs", dist.Normal(torch.zeros((), device=data.device), locs_sd))
    with pyro.plate("data", len(data), subsample_size=subsample_size) as index:
        assignment = pyro.sample("assignment", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[assignment], scale), obs=data[index])


def negative_log_joint(data: torch.Tensor, weights, locs, scale, prior: GmmPrior, total: int | None = None):
    """-log p(data, weights, locs, scale) with the assignments summed out, for a batch of
    parameter sets (leading dim). With ``AutoDelta`` this is exactly the loss
    ``TraceEnum_ELBO`` reports, so 100 initialisations are scored in one pass.

    :param total: the full data set's size when ``data`` is a subsample of it.
    """
    k = weights.shape[-1]
    log_prior = (
        dist.Dirichlet(prior.concentration * torch.ones(k, dtype=data.dtype)).log_prob(weights)
        + dist.LogNormal(0.0, prior.scale_sd).log_prob(scale)
        + dist.Normal(0.0, prior.locs_sd).log_prob(locs).sum(-1)
    )
    per_point = torch.logsumexp(
        weights.log()[:, None, :] + dist.Normal(locs[:, None, :], scale[:, None, None]).log_prob(data[None, :, None]),
        dim=-1,
    )
    likelihood = per_point.sum(-1) * ((total or len(data)) / len(data))
    return -(log_prior + likelihood)


def score_candidates(data: torch.Tensor, candidates: dict[str, torch.Tensor], prior: GmmPrior, total: int):
    """:func:`negative_log_joint` of every candidate, a slice of candidates at a time.

    Each slice is computed in place in buffers allocated once: fresh slice-sized tensors
    on every slice are not handed back to the system by the C allocator, and grew a
    worker by 80 to 400 MB (measured) where the buffers cost a few MB.
    """
    count, k = candidates["weights"].shape
    points = len(data)
    rows = max(1, min(count, CHUNK_ELEMENTS // (points * k)))
    log_prior = (
        dist.Dirichlet(prior.concentration * torch.ones(k, dtype=data.dtype, device=data.device)).log_prob(
            candidates["weights"]
        )
        + dist.LogNormal(0.0, prior.scale_sd).log_prob(candidates["scale"])
        + dist.Normal(0.0, prior.locs_sd).log_prob(candidates["locs"]).sum(-1)
    )
    # log w_k + log Normal(x | loc_k, scale), without the shared constant -log(2 pi) / 2.
    offsets = candidates["weights"].log() - candidates["scale"].log()[:, None]
    buffer = dict(dtype=data.dtype, device=data.device)
    work = torch.empty(rows, points, k, **buffer)
    peak = torch.empty(rows, points, 1, **buffer)
    per_point = torch.empty(rows, points, **buffer)
    likelihood = torch.empty(count, **buffer)
    for first in range(0, count, rows):
        r = min(rows, count - first)
        w, m, p = work[:r], peak[:r], per_point[:r]
        torch.sub(data[None, :, None], candidates["locs"][first : first + r, None, :], out=w)
        w.div_(candidates["scale"][first : first + r, None, None]).square_().mul_(-0.5)
        w.add_(offsets[first : first + r, None, :])
        torch.amax(w, dim=-1, keepdim=True, out=m)
        torch.sum(w.sub_(m).exp_(), dim=-1, out=p)
        p.log_().add_(m[..., 0])
        torch.sum(p, dim=-1, out=likelihood[first : first + r])
    likelihood.sub_(points * 0.5 * math.log(2 * math.pi))
    return -(log_prior + likelihood * (total / points))


def initial_candidates(data: torch.Tensor, k: int, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The lecture's initialisation, ``count`` times at once: uniform weights, half the data's
    variance as the scale, and locations at ``k`` distinct data points chosen at random."""
    n = len(data)
    if count * n <= CHUNK_ELEMENTS:
        picks = torch.multinomial(torch.ones(count, n), k, replacement=False, generator=generator)
    else:
        # Floyd's algorithm, all initialisations at once: k distinct points, uniformly as a set,
        # in count x k memory where multinomial needs count x n (1,000 x 100,000: 765 MB).
        picks = torch.empty(count, k, dtype=torch.long)
        for j, last in enumerate(range(n - k, n)):
            pick = torch.randint(0, last + 1, (count,), generator=generator)
            taken = (picks[:, :j] == pick[:, None]).any(dim=1)
            picks[:, j] = torch.where(taken, torch.full_like(pick, last), pick)
    return {
        "weights": torch.full((count, k), 1.0 / k),
        "scale": (data.var() / 2).sqrt().expand(count).clone(),
        "locs": data[picks],
    }


# ---- the fit ------------------------------------------------------------------------


@dataclass(frozen=True)
class GmmFit:
    """A MAP fit, with everything the page draws; components sorted by location."""

    data: np.ndarray
    initial_losses: np.ndarray
    chosen_init: int
    weights: np.ndarray
    locs: np.ndarray
    scale: float
    membership: np.ndarray  # (n, K): P(point i belongs to component k | MAP parameters)
    map_assignment: np.ndarray  # (n,): infer_discrete at temperature 0
    svi: SviResult
    subsampled: bool
    wall_time_s: float
    device: str = "cpu"
    device_note: str = ""  # why the fit ran elsewhere than asked, as the page should say


def fit_map(
    data: tuple[float, ...] | SyntheticData,
    prior: GmmPrior,
    settings: GmmSettings,
    progress: ProgressCallback | None = None,
) -> GmmFit:
    """The lecture's workflow: score many initialisations, start from the best, run SVI."""
    values = as_array(data)
    settings.check()
    prior.check()
    check_data(values, settings.k)
    x = torch.as_tensor(values, dtype=torch.get_default_dtype())
    n, k = len(values), settings.k
    subsample = SUBSAMPLE_SIZE if n > SUBSAMPLE_SIZE else None
    with run_context(seed=settings.seed, device=settings.device, work_elements=n * k) as run:
        generator = torch.Generator().manual_seed(settings.seed)
        # Drawn on the CPU from the CPU data whatever the device, so a seed picks the same
        # initialisations on every device; only the scoring moves.
        candidates = initial_candidates(x, k, settings.inits, generator)
        scored = x if subsample is None else x[torch.randperm(n, generator=generator)[:subsample]]
        on_device = {name: run.move(value) for name, value in candidates.items()}
        losses = score_candidates(run.move(scored), on_device, prior, n).cpu()
        best = int(torch.argmin(losses))
    start = {name: value[best] for name, value in candidates.items()}

    def start_at_best(site):
        return start[site["name"]].to(site["fn"].sample().device)

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
    svi = run_svi(model, guide, svi_settings, (x,), progress=progress, work_elements=n * k)
    weights = svi.params["AutoDelta.weights"]
    locs = svi.params["AutoDelta.locs"]
    scale = float(svi.params["AutoDelta.scale"])
    order = np.argsort(locs)
    weights, locs = weights[order], locs[order]
    return GmmFit(
        data=values,
        initial_losses=losses.numpy(),
        chosen_init=best,
        weights=weights,
        locs=locs,
        scale=scale,
        membership=membership(values, weights, locs, scale),
        map_assignment=map_assignment(values, weights, locs, scale, prior),
        svi=svi,
        subsampled=subsample is not None,
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
    )


MAX_NUTS_POINTS = 2_000


def sample_posterior(
    data: tuple[float, ...] | SyntheticData,
    prior: GmmPrior,
    k: int,
    settings: McmcSettings,
    progress: ProgressCallback | None = None,
) -> McmcResult:
    """The full posterior of weights, locs and scale by NUTS, assignments summed out.

    Swapping two components' labels leaves the likelihood unchanged, so the posterior
    has K! mirror-image modes: the trace plot shows chains jumping between them, or
    settling in different ones (label switching).
    """
    values = as_array(data)
    prior.check()
    check_data(values, k)
    if len(values) > MAX_NUTS_POINTS:
        raise DataError(
            f"NUTS on the full posterior is limited to {MAX_NUTS_POINTS:,} points here, to keep the server "
            f"responsive; this data set has {len(values):,}. The MAP fit above handles all of them."
        )
    x = torch.as_tensor(values, dtype=torch.get_default_dtype())

    def model(data):
        return mixture(data, k, float(prior.concentration), float(prior.scale_sd), float(prior.locs_sd))

    return run_mcmc(
        model, replace(settings, max_plate_nesting=1), (x,), progress=progress, work_elements=len(values) * k
    )


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


def fit_map_code(data: Sequence[float] | np.ndarray, prior: GmmPrior, settings: GmmSettings) -> str:
    """The lecture's code for this setting, as a notebook cell."""
    data_line = "data = torch.tensor([" + ", ".join(repr(float(v)) for v in data[:20]) + "])"
    if len(data) > 20:
        data_line += f"  # the first 20 of {len(data):,} points; load all of yours, e.g. with numpy.loadtxt"
    return f"""import torch
import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, TraceEnum_ELBO, config_enumerate
from pyro.infer.autoguide import AutoDelta, init_to_value

{data_line}
K = {settings.k}

@config_enumerate
def model(data):
    weights = pyro.sample("weights", dist.Dirichlet({prior.concentration!r} * torch.ones(K)))
    scale = pyro.sample("scale", dist.LogNormal(0., {prior.scale_sd!r}))
    with pyro.plate("components", K):
        locs = pyro.sample("locs", dist.Normal(0., {prior.locs_sd!r}))
    with pyro.plate("data", len(data)):
        assignment = pyro.sample("assignment", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[assignment], scale), obs=data)

def initial_loss(seed):
    pyro.set_rng_seed(seed)
    pyro.clear_param_store()
    start = {{"weights": torch.ones(K) / K, "scale": (data.var() / 2).sqrt(),
              "locs": data[torch.multinomial(torch.ones(len(data)) / len(data), K)]}}
    guide = AutoDelta(poutine.block(model, expose=["weights", "locs", "scale"]),
                      init_loc_fn=init_to_value(values=start))
    optim = pyro.optim.Adam({{"lr": {settings.lr!r}, "betas": [{settings.beta1!r}, {settings.beta2!r}]}})
    svi = SVI(model, guide, optim, loss=TraceEnum_ELBO(max_plate_nesting=1))
    return svi.loss(model, guide, data), svi, guide

loss, seed = min((initial_loss(seed)[0], seed) for seed in range({settings.inits}))
_, svi, guide = initial_loss(seed)
losses = [svi.step(data) for _ in range({settings.steps})]
print({{name: value.detach() for name, value in guide(data).items()}})
"""
