"""The lecture's Gaussian mixture, fit by MAP with SVI and enumeration (and by NUTS).

The model and its settings are :mod:`ppl_models.gmm_model`, one fit
:mod:`ppl_models.gmm_fit`, its starts :mod:`ppl_models.gmm_starts` and its check
:mod:`ppl_models.gmm_health`; this module is what the page calls: the fit with its check
and, when that fails, the comparison fits that name the cause; NUTS; the code cell.

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
from dataclasses import replace

import numpy as np
import torch

from ppl_models.engine.mcmc import McmcResult, McmcSettings, run_mcmc
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.engine.svi import SviDiverged
from ppl_models.gmm_data import DataError, SyntheticData, as_array, check_data
from ppl_models.gmm_fit import GmmFit, fit_once, loss_parts, map_assignment, membership
from ppl_models.gmm_health import Diagnosis, FitSummary, Setting, diagnose
from ppl_models.gmm_model import (
    LECTURE_DATA,
    MAX_INITS,
    MAX_K,
    MAX_STEPS,
    SUBSAMPLE_SIZE,
    GmmPrior,
    GmmSettings,
    mixture,
    negative_log_joint,
)

# The lecture's public face: the page, tests and benches read these from ``gmm``.
__all__ = [
    "LECTURE_DATA",
    "MAX_INITS",
    "MAX_K",
    "MAX_NUTS_POINTS",
    "MAX_STEPS",
    "SUBSAMPLE_SIZE",
    "GmmFit",
    "GmmPrior",
    "GmmSettings",
    "SviDiverged",
    "fit_map",
    "fit_map_code",
    "fit_map_notebook",
    "loss_parts",
    "map_assignment",
    "membership",
    "mixture",
    "negative_log_joint",
    "sample_posterior",
]

# Data further from 0 than this many prior sds of the locations get a comparison fit
# with a wider prior: a location out there pays (reach / locs_sd)^2 / 2 in log density.
LOCS_REACH = 3.0
# The comparison fits stop before they would take the whole run past this many seconds
# (the page's run budget is 30 s).
COMPARISON_WITHIN_S = 20.0


def _quietly(progress: ProgressCallback | None) -> ProgressCallback | None:
    """The comparison fits' progress: the bar moves and Stop works, the page's loss curve stays the page's."""
    if progress is None:
        return None
    return lambda report: progress(Progress("checking the fit", report.done, report.total))


def _summary(label: str, change: dict, fit: GmmFit, prior: GmmPrior) -> FitSummary:
    # Every loss is the page's objective, every point exactly (SVI's last loss may be a
    # subsample's), so the comparison says which fit MAP prefers.
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
        tried[name] = _summary(label, change, fit_once(values, changed_prior, changed_settings, quiet), prior)
    page_summary = _summary("this fit", {}, page, prior)
    groups = max(fit.check.groups for fit in [page_summary, *tried.values()])
    if not unaffordable and not any(fit.check.ok for fit in tried.values()) and 1 <= groups < settings.k:
        if affordable():
            change = {**to_spread, **to_flat, "k": groups}
            fewer_fit = fit_once(values, flat_prior, replace(spread_settings, k=groups), quiet)
            tried["fewer"] = _summary(f"a spread-out start, K = {groups}", change, fewer_fit, prior)
        else:
            unaffordable = True
    setting = Setting(
        settings.init, tuple(page.start_locs), prior.concentration, prior.locs_sd, reach, page.wall_time_s, unaffordable
    )
    return diagnose(page_summary, setting, **tried)


def _smaller_rates(lr: float) -> list[float]:
    """Learning rates to try after a divergence: a quarter, a twentieth, never below the control's 0.001."""
    return sorted({round(max(0.001, lr * share), 4) for share in (0.25, 0.05)} - {lr}, reverse=True)


def _diverged_message(values: np.ndarray, prior: GmmPrior, settings: GmmSettings, what: str, progress) -> str:
    """What happened, and the learning rate that was checked to carry this fit to its end."""
    happened = what.split(":")[0]  # "SVI diverged at step 46"; the engine's generic advice is replaced
    began = time.perf_counter()
    for lr in _smaller_rates(settings.lr):
        if time.perf_counter() - began > COMPARISON_WITHIN_S / 2:
            break
        try:
            fit_once(values, prior, replace(settings, lr=lr), _quietly(progress))
        except SviDiverged:
            continue
        return (
            f"{happened}: the loss could no longer be computed (it became NaN or infinite, or a weight or the scale "
            f"left its range). Adam's steps at a learning rate of {settings.lr:g} are too large for this fit: a "
            f"parameter overshot. With a learning rate of {lr:g} the same fit runs to the end: checked on these "
            "data. Set it under Fit settings."
        )
    return (
        f"{happened}: the loss could no longer be computed (it became NaN or infinite, or a weight or the scale "
        "left its range), and smaller learning rates ("
        + ", ".join(f"{lr:g}" for lr in _smaller_rates(settings.lr))
        + ") did not carry the fit to its end either. Data far from 0 or a very narrow prior can push the densities "
        "beyond what 32-bit floats hold: rescaling the data, or widening the prior's standard deviations, may help."
    )


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
    try:
        fit = fit_once(values, prior, settings, progress)
    except SviDiverged as error:
        raise SviDiverged(_diverged_message(values, prior, settings, str(error), progress)) from error
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


def fit_map_code(data: Sequence[float] | np.ndarray, prior: GmmPrior, settings: GmmSettings) -> str:
    """The lecture's code for this setting, as a notebook cell."""
    return _fit_map_script(data, prior, settings, CODE_POINTS)


# The code tab writes out this many points; the notebook holds them all.
CODE_POINTS = 20


def _fit_map_script(
    data: Sequence[float] | np.ndarray, prior: GmmPrior, settings: GmmSettings, shown: int | None
) -> str:
    """:func:`fit_map_code` with the first ``shown`` points written out (None: every point)."""
    written = data if shown is None else data[:shown]
    data_line = "data = torch.tensor([" + ", ".join(repr(float(v)) for v in written) + "])"
    if len(written) < len(data):
        data_line += f"  # the first {shown} of {len(data):,} points; load all of yours, e.g. with numpy.loadtxt"
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

{_choose_start_code(settings)}
losses = [svi.step(data) for _ in range({settings.steps})]
fit = {{name: value.detach() for name, value in guide(data).items()}}
print(fit)
"""


def _choose_start_code(settings: GmmSettings) -> str:
    if settings.init == "lecture":
        return f"""loss, seed = min((initial_loss(seed)[0], seed) for seed in range({settings.inits}))
_, svi, guide = initial_loss(seed)"""
    # The spread-out start, written out (ppl_models/gmm_starts.py does all starts at once).
    return f"""def spread_start(generator):
    # k-means++: each next location a data point drawn with probability proportional to
    # its squared distance from the nearest location so far.
    locs = data[torch.randint(len(data), (1,), generator=generator)]
    for _ in range(K - 1):
        nearest = ((data[:, None] - locs[None, :]) ** 2).min(dim=1).values
        locs = torch.cat([locs, data[torch.multinomial(nearest + 1e-30, 1, generator=generator)]])
    spread = ((data[:, None] - locs[None, :]) ** 2).min(dim=1).values.mean()
    return spread, {{"weights": torch.ones(K) / K, "scale": spread.sqrt().clamp_min(1e-3 * data.std()), "locs": locs}}

generator = torch.Generator().manual_seed({settings.seed})
# Keep the start whose locations sit nearest the points.
_, start = min((spread_start(generator) for _ in range({settings.inits})), key=lambda scored: scored[0])
pyro.set_rng_seed({settings.seed})
pyro.clear_param_store()
guide = AutoDelta(poutine.block(model, expose=["weights", "locs", "scale"]), init_loc_fn=init_to_value(values=start))
optim = pyro.optim.Adam({{"lr": {settings.lr!r}, "betas": [{settings.beta1!r}, {settings.beta2!r}]}})
svi = SVI(model, guide, optim, loss=TraceEnum_ELBO(max_plate_nesting=1))"""


def fit_map_notebook(data: Sequence[float] | np.ndarray, prior: GmmPrior, settings: GmmSettings):
    """:func:`fit_map_code` as a notebook, every point written out: the model, the start and the fit in steps, the
    page's MAP table and scale, the fitted mixture over the data, and the loss."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    if settings.init == "lecture":
        start = Step(
            "loss, seed = min(",
            f"**The lecture's start**: {settings.inits} random starts (K data points as the locations, half the data's "
            "variance as the scale), the one with the lowest initial loss kept.",
        )
    else:
        start = Step(
            "def spread_start(",
            f"**A spread-out start** (k-means++): {settings.inits} starts, each location a data point drawn with "
            "probability proportional to its squared distance from those already picked; the start whose locations "
            "sit nearest the points is kept.",
        )
    steps = [
        Step("import torch", "The libraries: SVI with `TraceEnum_ELBO`, and `AutoDelta` for a MAP fit."),
        Step("data = torch.tensor(", f"**The data** ({len(data):,} points) and the number of components K."),
        Step(
            "@config_enumerate",
            f"**The model**: weights from a Dirichlet({prior.concentration:g}) prior, a shared scale, K locations, "
            "and each point's component, which `config_enumerate` lets `TraceEnum_ELBO` sum out exactly.",
        ),
        Step(
            "def initial_loss(",
            "**One start**: `AutoDelta` turns SVI into MAP estimation of the weights, locations and scale, from the "
            "values given by `init_to_value`.",
        ),
        start,
        Step(
            "losses = [svi.step",
            f"**The fit**: {settings.steps} steps of Adam (lr {settings.lr:g}); the guide then holds the MAP values.",
        ),
    ]
    numbers = (
        "The page's table (each component's weight and location) and its scale metric, to three decimals. A "
        "mixture's components have no order of their own: two fits may list them in different orders.",
        """weights, locs, scale = fit["weights"], fit["locs"], fit["scale"].item()
print("component  weight     loc")
for k in range(K):
    print(f"{k + 1:>9}  {weights[k].item():6.3f}  {locs[k].item():6.3f}")
print(f"scale: {scale:.3f}")""",
    )
    density = (
        "**The fitted mixture** over the data: each weighted component, their sum, and the data as ticks.",
        """x = data.numpy()
spread = max(3 * scale, 1e-6)
grid = np.linspace(min(x.min(), locs.min().item()) - spread, max(x.max(), locs.max().item()) + spread, 500)
fig = go.Figure()
total = np.zeros_like(grid)
for k in range(K):
    component = weights[k].item() * normal_pdf(grid, locs[k].item(), scale)
    total += component
    fig.add_scatter(x=grid, y=component, mode="lines", name=f"component {k + 1}", line=dict(dash="dash"))
fig.add_scatter(x=grid, y=total, mode="lines", name="mixture", line=dict(color=EXACT, width=3))
shown = x if len(x) <= 2000 else np.random.default_rng(0).choice(x, 2000, replace=False)
fig.add_scatter(x=shown, y=np.zeros_like(shown), mode="markers", name="data",
                marker=dict(symbol="line-ns-open", size=14, color="#333"))
styled(fig, "Density of the fitted mixture", "x", "probability density").show()""",
    )
    loss = (
        "**The loss** at each step of the fit.",
        """fig = go.Figure()
fig.add_scatter(y=losses, mode="lines", name="loss", line=dict(color=DRAWN))
styled(fig, "SVI loss (negative ELBO)", "step", "loss", height=300).show()""",
    )
    notes = ""
    if len(data) > SUBSAMPLE_SIZE:
        notes = (
            f"**This fit differs from the page's.** Above {SUBSAMPLE_SIZE:,} points the page feeds each step a random "
            f"subsample of {SUBSAMPLE_SIZE:,}; this notebook feeds every step all {len(data):,}, as the lecture does."
        )
    return notebooks.notebook(
        title="Gaussian mixture: MAP by SVI with enumeration",
        page="gmm",
        about="It fits the lecture's Gaussian mixture by MAP with `AutoDelta` and `TraceEnum_ELBO`, from the best of "
        "many starts.",
        settings=(prior, settings),
        script=_fit_map_script(data, prior, settings, None),
        steps=steps,
        numbers=numbers,
        charts=(density, loss),
        notes=notes,
    )
