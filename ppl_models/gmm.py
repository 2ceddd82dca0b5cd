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
import time
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
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.engine.svi import SviResult, SviSettings, run_svi
from ppl_models.gmm_data import DataError, SyntheticData, as_array, check_data
from ppl_models.gmm_health import Diagnosis, FitCheck, FitSummary, Setting, check_fit, diagnose
from ppl_models.gmm_starts import STARTS, make_starts, score_candidates

LECTURE_DATA = (0.0, 1.0, 10.0, 11.0, 12.0)
MAX_K = 6
MAX_INITS = 1000
MAX_STEPS = 2000
# Above this many points each SVI step sees a random subsample (scaled up by Pyro's
# plate), and initialisations are scored on one; the fit stays a few seconds at 100,000.
SUBSAMPLE_SIZE = 5_000
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
    init: str = "lecture"  # where the fit starts: ppl_models/gmm_starts.py
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
        if self.init not in STARTS:
            problems.append(f"the start must be one of {', '.join(STARTS)}")
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


# ---- the fit ------------------------------------------------------------------------


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
    loss: float  # -log p(data, MAP parameters), every point, exactly (SVI's last loss is a subsample's)
    log_likelihood: float  # log p(data | MAP parameters)
    check: FitCheck
    wall_time_s: float
    device: str = "cpu"
    device_note: str = ""  # why the fit ran elsewhere than asked, as the page should say
    # When the check finds a problem: the fits of changed settings, and what they show.
    diagnosis: Diagnosis | None = None


# Data further from 0 than this many prior sds of the locations get a comparison fit
# with a wider prior: a location out there pays (reach / locs_sd)^2 / 2 in log density.
LOCS_REACH = 3.0
# The comparison fits stop before they would take the whole run past this many seconds
# (the page's run budget is 30 s).
COMPARISON_WITHIN_S = 20.0


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


def _fit(values: np.ndarray, prior: GmmPrior, settings: GmmSettings, progress: ProgressCallback | None) -> GmmFit:
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
    svi = run_svi(model, guide, svi_settings, (x,), progress=progress, work_elements=n * k)
    weights = svi.params["AutoDelta.weights"]
    locs = svi.params["AutoDelta.locs"]
    scale = float(svi.params["AutoDelta.scale"])
    order = np.argsort(locs)
    weights, locs = weights[order], locs[order]
    shares = membership(values, weights, locs, scale)
    loss, log_likelihood = loss_parts(values, weights, locs, scale, prior)
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
        loss=loss,
        log_likelihood=log_likelihood,
        check=check_fit(values, weights, locs, scale, shares),
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
    )


def _quietly(progress: ProgressCallback | None) -> ProgressCallback | None:
    """The comparison fits' progress: the bar moves and Stop works, the page's loss curve stays the page's."""
    if progress is None:
        return None
    return lambda report: progress(Progress("checking the fit", report.done, report.total))


def _summary(label: str, change: dict, fit: GmmFit, prior: GmmPrior) -> FitSummary:
    # Every loss is the page's objective, so the comparison says which fit MAP prefers.
    loss, log_likelihood = loss_parts(fit.data, fit.weights, fit.locs, fit.scale, prior)
    return FitSummary(label, change, fit.weights, fit.locs, fit.scale, loss, log_likelihood, fit.check)


def wider_locs_sd(reach: float) -> float:
    """A round prior sd for the locations at least as wide as the data's furthest point."""
    magnitude = 10 ** math.floor(math.log10(reach))
    return float(next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= reach))


def _compare(values: np.ndarray, prior: GmmPrior, settings: GmmSettings, page: GmmFit, progress) -> Diagnosis:
    """Fit the changed settings that can tell the causes apart, and read them side by side."""
    quiet = _quietly(progress)
    began = time.perf_counter()

    def affordable() -> bool:
        # Each comparison fit costs about what the page's did; the run's budget must hold them.
        return time.perf_counter() - began + 2 * page.wall_time_s <= COMPARISON_WITHIN_S

    # Exactly the settings a remedy button sets, so the fit it promises is the one it gets.
    spread_settings = replace(settings, init="spread")
    to_spread = {"init": "spread"} if settings.init == "lecture" else {}
    to_flat = {"concentration": 1.0} if prior.concentration < 1 else {}
    flat_prior = replace(prior, concentration=max(1.0, prior.concentration))
    reach = float(np.abs(values).max())
    tried: dict[str, FitSummary] = {}
    # In the order that tells the causes apart; each only while no earlier one passed.
    plans = []
    if to_spread:
        plans.append(("spread", "a spread-out start", to_spread, prior, spread_settings))
    if to_flat:
        plans.append(
            ("flat", "a spread-out start, concentration 1", {**to_spread, **to_flat}, flat_prior, spread_settings)
        )
    if reach > LOCS_REACH * prior.locs_sd:
        wide_prior = replace(flat_prior, locs_sd=wider_locs_sd(reach))
        plans.append(
            (
                "wide",
                f"a spread-out start, locations' prior sd {wide_prior.locs_sd:g}",
                {**to_spread, **to_flat, "locs_sd": wide_prior.locs_sd},
                wide_prior,
                spread_settings,
            )
        )
    unaffordable = False
    for name, label, change, changed_prior, changed_settings in plans:
        if any(fit.check.ok for fit in tried.values()) and name != "flat":
            break
        if not affordable():
            unaffordable = True
            break
        tried[name] = _summary(label, change, _fit(values, changed_prior, changed_settings, quiet), prior)
    page_summary = _summary("this fit", {}, page, prior)
    groups = max(fit.check.groups for fit in [page_summary, *tried.values()])
    if not unaffordable and not any(fit.check.ok for fit in tried.values()) and 1 <= groups < settings.k:
        if affordable():
            change = {**to_spread, **to_flat, "k": groups}
            fewer_fit = _fit(values, flat_prior, replace(spread_settings, k=groups), quiet)
            tried["fewer"] = _summary(f"a spread-out start, K = {groups}", change, fewer_fit, prior)
        else:
            unaffordable = True
    setting = Setting(
        settings.init, tuple(page.start_locs), prior.concentration, prior.locs_sd, reach, page.wall_time_s, unaffordable
    )
    return diagnose(page_summary, setting, **tried)


def fit_map(
    data: tuple[float, ...] | SyntheticData,
    prior: GmmPrior,
    settings: GmmSettings,
    progress: ProgressCallback | None = None,
) -> GmmFit:
    """The lecture's workflow: score many initialisations, start from the best, run SVI.

    Then check the fit; when it has a problem, fit the changed settings that tell its
    causes apart (:func:`ppl_models.gmm_health.diagnose`).
    """
    values = as_array(data)
    settings.check()
    prior.check()
    check_data(values, settings.k)
    fit = _fit(values, prior, settings, progress)
    fit = replace(fit, map_assignment=map_assignment(values, fit.weights, fit.locs, fit.scale, prior))
    if fit.check.ok:
        return fit
    began = time.perf_counter() - fit.wall_time_s
    diagnosis = _compare(values, prior, settings, fit, progress)
    return replace(fit, diagnosis=diagnosis, wall_time_s=time.perf_counter() - began)


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
