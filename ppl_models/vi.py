"""Variational inference, seen whole, on the lecture's scale model (issue 18).

SVI fits a guide q to the posterior of the weight by climbing the ELBO; on this model the
evidence, the ELBO and KL(q || posterior) of every guide along the way are exact
(``ppl_models.vi_exact``), so the run can be shown against the identity
``log p(x) = ELBO(q) + KL(q || p(weight | x))``.

Three guide families:

- ``normal``: Normal(loc, scale), both learned; it contains the posterior, so the KL can reach 0.
- ``fixed_scale``: Normal(loc, prior sd), only loc learned; the KL stops at an exact floor.
- ``delta``: ``AutoDelta`` (MAP). Without an entropy term the objective is the log joint at one
  point, which is not a bound on log p(x).

With ``n`` > 1 the object is weighed n times: its weight is drawn from the prior and the n
measurements from the model, with the seed; ``batch`` < n subsamples them with
``pyro.plate(..., subsample_size=batch)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions import constraints
from pyro.infer.autoguide import AutoDelta

from ppl_models import vi_exact
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.svi import MAX_STEPS, SviSettings, run_svi
from ppl_models.scale import ScaleSettings

GUIDES = ("normal", "fixed_scale", "delta")
MAX_MEASUREMENTS = 100_000
MAX_LR = 10.0
GRADIENT_REPEATS = 200


@dataclass(frozen=True)
class ViSettings:
    """How SVI is run: the guide family, the step rule and its schedule, the noise of each step."""

    guide: str = "normal"
    optim: str = "adam"
    # Adam's step is about lr whatever the gradient's noise, so at a constant lr the guide
    # jitters by about lr around the posterior for ever; a Robbins-Monro decay lets it settle.
    lr: float = 0.5
    schedule: str = "robbins_monro"
    kappa: float = 0.6
    particles: int = 8
    steps: int = 1500
    seed: int = 0
    n: int = 1
    batch: int = 0  # 0: every measurement in every step

    def check(self) -> None:
        if self.guide not in GUIDES:
            raise InferenceError(f"The guide must be one of {', '.join(GUIDES)}.")
        if not (math.isfinite(self.lr) and 0 < self.lr <= MAX_LR):
            raise InferenceError(
                f"The learning rate must be above 0 and at most {MAX_LR:g}: a step of size 0 never moves, and "
                "beyond that one step overshoots the posterior by far."
            )
        if not 1 <= self.n <= MAX_MEASUREMENTS:
            raise InferenceError(f"The number of measurements must be between 1 and {MAX_MEASUREMENTS:,}.")
        if not 0 <= self.batch <= self.n:
            raise InferenceError("A mini-batch holds between 1 and n measurements (0: all of them).")

    def svi(self) -> SviSettings:
        return SviSettings(
            num_steps=self.steps,
            lr=self.lr,
            elbo="trace",
            num_particles=self.particles,
            seed=self.seed,
            device="cpu",
            num_posterior_samples=0,
            optimizer=self.optim,
            schedule=self.schedule,
            kappa=self.kappa,
        )


def measurements(query: ScaleSettings, settings: ViSettings) -> np.ndarray:
    """The data: the lecture's one measurement, or n weighings drawn from the model with the seed."""
    if settings.n == 1:
        return np.array([query.measurement])
    generator = np.random.default_rng(settings.seed)
    weight = generator.normal(query.guess, query.prior_sd)
    return generator.normal(weight, query.noise_sd, size=settings.n)


def weighings(guess, prior_sd, noise_sd, data, batch: int = 0):
    """The scale model with n measurements of one object, mini-batched when ``batch`` > 0."""
    weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
    with pyro.plate("measurements", len(data), subsample_size=batch or None) as index:
        pyro.sample("measurement", dist.Normal(weight, noise_sd), obs=data[index])
    return weight


def normal_guide(guess, prior_sd, noise_sd, data, batch: int = 0):
    loc = pyro.param("weight_loc", guess.clone())
    scale = pyro.param("weight_scale", prior_sd.clone(), constraint=constraints.positive)
    pyro.sample("weight", dist.Normal(loc, scale))


def fixed_scale_guide(guess, prior_sd, noise_sd, data, batch: int = 0):
    loc = pyro.param("weight_loc", guess.clone())
    pyro.sample("weight", dist.Normal(loc, prior_sd))


def guide_for(settings: ViSettings):
    if settings.guide == "normal":
        return normal_guide
    if settings.guide == "fixed_scale":
        return fixed_scale_guide
    return AutoDelta(weighings)


@dataclass(frozen=True)
class ExactPath:
    """The exact terms of the guide after every step."""

    loc: np.ndarray
    scale: np.ndarray | None  # None for the Delta guide
    elbo: np.ndarray  # for the Delta guide: the log joint at loc, its objective
    kl: np.ndarray | None


@dataclass(frozen=True)
class ViResult:
    query: ScaleSettings
    settings: ViSettings
    data_summary: vi_exact.Measurements
    losses: np.ndarray
    path: ExactPath
    log_evidence: float
    posterior_mean: float
    posterior_sd: float
    kl_floor: float | None
    wall_time_s: float
    device: str = "cpu"
    device_note: str = ""


def prior_of(query: ScaleSettings) -> vi_exact.Prior:
    return vi_exact.Prior(query.guess, query.prior_sd, query.noise_sd)


def exact_path(query: ScaleSettings, settings: ViSettings, data: vi_exact.Measurements, params: dict) -> ExactPath:
    """The exact ELBO and KL of the guide at each step's parameters (``params``: name -> path)."""
    prior = prior_of(query)
    if settings.guide == "delta":
        loc = np.asarray(params["AutoDelta.weight"], dtype=float).reshape(-1)
        return ExactPath(loc, None, np.asarray(vi_exact.log_joint_at(prior, data, loc)), None)
    loc = np.asarray(params["weight_loc"], dtype=float).reshape(-1)
    if settings.guide == "normal":
        scale = np.asarray(params["weight_scale"], dtype=float).reshape(-1)
    else:
        scale = np.full_like(loc, query.prior_sd)
    return ExactPath(
        loc, scale, vi_exact.elbo(prior, data, loc, scale), vi_exact.kl_to_posterior(prior, data, loc, scale)
    )


def fit(query: ScaleSettings, settings: ViSettings, progress=None) -> ViResult:
    """SVI on the scale model with the chosen guide and step rule; every step's exact terms beside its loss."""
    query.check()
    settings.check()
    if not 1 <= settings.steps <= MAX_STEPS:
        raise InferenceError(f"Steps must be between 1 and {MAX_STEPS:,}.")
    values = measurements(query, settings)
    data = vi_exact.Measurements.of(values)
    args = (float(query.guess), float(query.prior_sd), float(query.noise_sd), values, settings.batch)
    result = run_svi(weighings, guide_for(settings), settings.svi(), model_args=args, progress=progress)
    prior = prior_of(query)
    mean, sd = vi_exact.posterior(prior, data)
    return ViResult(
        query,
        settings,
        data,
        result.losses,
        exact_path(query, settings, data, result.trajectories),
        vi_exact.log_evidence(prior, data),
        mean,
        sd,
        vi_exact.fixed_scale_floor(prior, data, query.prior_sd) if settings.guide == "fixed_scale" else None,
        result.wall_time_s,
        result.device,
        result.device_note,
    )


def gradient_variance(query: ScaleSettings, settings: ViSettings, repeats: int = GRADIENT_REPEATS) -> float:
    """The measured variance of one step's gradient of the ELBO estimate with respect to the
    guide's location, with the settings' particles and batch, where a normal guide is best (loc
    at the posterior mean; its scale the posterior's, or held at the prior sd). There the mean
    gradient is zero and all a step sees is noise. A Delta guide is measured at its start.

    The estimate is unbiased whatever the particles and the batch; only its noise changes, and
    this is that noise: what the particles and the mini-batch trade against time.
    """
    from pyro.infer import Trace_ELBO
    from pyro.infer.util import zero_grads

    from ppl_models.engine.prologue import run_context

    query.check()
    settings.check()
    values = measurements(query, settings)
    args = (float(query.guess), float(query.prior_sd), float(query.noise_sd), values, settings.batch)
    guide = guide_for(settings)
    elbo = Trace_ELBO(num_particles=settings.particles, vectorize_particles=settings.particles > 1, max_plate_nesting=1)
    name = "AutoDelta.weight" if settings.guide == "delta" else "weight_loc"
    gradients = np.empty(repeats)
    mean, sd = vi_exact.posterior(prior_of(query), vi_exact.Measurements.of(values))
    with run_context(weighings, seed=settings.seed, device="cpu", model_args=args) as run:
        if settings.guide != "delta":
            # Created here first, the guide's own pyro.param calls find these values.
            pyro.param("weight_loc", torch.tensor(mean, dtype=torch.float32))
            pyro.param("weight_scale", torch.tensor(sd, dtype=torch.float32), constraint=constraints.positive)
        for repeat in range(repeats):
            with pyro.poutine.trace(param_only=True) as captured:
                elbo.loss_and_grads(run.model, guide, *run.args)
            params = {site["name"]: site["value"].unconstrained() for site in captured.trace.nodes.values()}
            gradients[repeat] = float(params[name].grad.reshape(-1)[0])
            zero_grads(set(params.values()))
    return float(np.var(gradients, ddof=1))


def fit_code(query: ScaleSettings, settings: ViSettings) -> str:
    """The page's run as a script: the same data, seed and steps, so the same final guide."""
    if settings.n == 1:
        data = f"data = torch.tensor([{query.measurement!r}])"
    else:
        data = f"""rng = np.random.default_rng({settings.seed})  # the object's weight from the prior, then n weighings
weight = rng.normal({query.guess!r}, {query.prior_sd!r})
data = torch.as_tensor(rng.normal(weight, {query.noise_sd!r}, size={settings.n}), dtype=torch.float32)"""
    if settings.guide == "normal":
        guide = """def guide(guess, prior_sd, noise_sd, data, batch):
    loc = pyro.param("weight_loc", guess.clone())
    scale = pyro.param("weight_scale", prior_sd.clone(), constraint=constraints.positive)
    pyro.sample("weight", dist.Normal(loc, scale))"""
        final = 'pyro.param("weight_loc").item(), pyro.param("weight_scale").item()'
    elif settings.guide == "fixed_scale":
        guide = """def guide(guess, prior_sd, noise_sd, data, batch):
    # Only the location is learned: the scale is held at the prior's.
    loc = pyro.param("weight_loc", guess.clone())
    pyro.sample("weight", dist.Normal(loc, prior_sd))"""
        final = 'pyro.param("weight_loc").item(), prior_sd'
    else:
        guide = "guide = AutoDelta(weighings)  # MAP: a point, no entropy term"
        final = 'pyro.param("AutoDelta.weight").item(), 0.0'
    if settings.optim == "adam":
        optimizer, optimizer_args = "torch.optim.Adam", f'{{"lr": {settings.lr!r}, "betas": (0.9, 0.999)}}'
    else:
        optimizer, optimizer_args = "torch.optim.SGD", f'{{"lr": {settings.lr!r}}}'
    if settings.schedule == "constant":
        step_rule = f"optimizer = pyro.optim.PyroOptim({optimizer}, {optimizer_args})"
        after_step = ""
    else:
        step_rule = (
            f"# Robbins-Monro: rho_t = lr / (1 + t)^{settings.kappa!r}\n"
            f'optimizer = pyro.optim.LambdaLR({{"optimizer": {optimizer}, "optim_args": {optimizer_args},\n'
            f'                                 "lr_lambda": lambda t: (1 + t) ** -{settings.kappa!r}}})'
        )
        after_step = "\n    optimizer.step()"
    objective = (
        "print('log p(x, weight) at the MAP =', round(log_joint, 3))"
        if settings.guide == "delta"
        else "print('ELBO =', round(elbo, 3))\nprint('KL(q || posterior) =', round(kl, 4))"
    )
    return f"""import math

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions import constraints
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import AutoDelta


def weighings(guess, prior_sd, noise_sd, data, batch):
    weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
    with pyro.plate("measurements", len(data), subsample_size=batch or None) as index:
        pyro.sample("measurement", dist.Normal(weight, noise_sd), obs=data[index])
    return weight


{guide}


pyro.set_rng_seed({settings.seed})
{data}
guess, prior_sd, noise_sd = {float(query.guess)!r}, {float(query.prior_sd)!r}, {float(query.noise_sd)!r}
args = (torch.tensor(guess), torch.tensor(prior_sd), torch.tensor(noise_sd), data, {settings.batch})
{step_rule}
elbo_estimate = Trace_ELBO(num_particles={settings.particles}, vectorize_particles={settings.particles > 1},
                           max_plate_nesting=1)
svi = SVI(weighings, guide, optimizer, loss=elbo_estimate)
losses, path = [], []  # each step's loss, and the guide's (loc, scale) after it
for step in range({settings.steps}):
    losses.append(svi.step(*args)){after_step}
    path.append(({final}))
loc, scale = path[-1]

# Every term exact: the posterior is conjugate.
n, mean = len(data), data.double().mean().item()
squares = ((data.double() - mean) ** 2).sum().item()
precision = 1 / prior_sd**2 + n / noise_sd**2
post_mean = (guess / prior_sd**2 + n * mean / noise_sd**2) / precision
post_sd = math.sqrt(1 / precision)
def expected_log_joint(loc, scale):
    log_prior = -0.5 * math.log(2 * math.pi * prior_sd**2) - ((loc - guess) ** 2 + scale**2) / (2 * prior_sd**2)
    spread = squares + n * ((mean - loc) ** 2 + scale**2)
    return log_prior - 0.5 * n * math.log(2 * math.pi * noise_sd**2) - spread / (2 * noise_sd**2)
log_evidence = expected_log_joint(post_mean, 0.0) + 0.5 * math.log(2 * math.pi * post_sd**2)
print("loc =", round(loc, 4), " scale =", round(scale, 4))
print("log evidence =", round(log_evidence, 3))
if scale > 0:
    elbo = expected_log_joint(loc, scale) + 0.5 * math.log(2 * math.pi * math.e * scale**2)
    kl = math.log(post_sd / scale) + (scale**2 + (loc - post_mean) ** 2) / (2 * post_sd**2) - 0.5
else:
    log_joint = expected_log_joint(loc, 0.0)
{objective}
"""


PARTICLE_COUNTS = (1, 2, 4, 8, 16, 32)
NOISE_REPEATS = 100


@dataclass(frozen=True)
class NoiseProfile:
    """The gradient's measured variance against the particles, and against the mini-batch size."""

    particles: tuple[int, ...]
    by_particles: tuple[float, ...]
    batches: tuple[int, ...]
    by_batch: tuple[float, ...]


def noise_profile(query: ScaleSettings, settings: ViSettings, progress=None) -> NoiseProfile:
    """:func:`gradient_variance` over the particle counts, and over batch sizes when n > 1.

    With 100,000 measurements this is seconds of work, so it reports progress: it runs on the
    inference workers, under the run budget, and Stop ends it.
    """
    from ppl_models.engine.runtime.errors import RunCancelled
    from ppl_models.engine.runtime.progress import Progress

    batches = tuple(b for b in (10, 100, 1_000, 10_000) if b < settings.n) + ((settings.n,) if settings.n > 1 else ())
    plan = [replace(settings, particles=p) for p in PARTICLE_COUNTS] + [
        replace(settings, batch=b % settings.n) for b in batches
    ]
    variances = []
    for done, setting in enumerate(plan):
        if progress is not None and progress(Progress("measuring", done, len(plan))) is False:
            raise RunCancelled("Stopped on request.")
        variances.append(gradient_variance(query, setting, NOISE_REPEATS))
    return NoiseProfile(
        PARTICLE_COUNTS, tuple(variances[: len(PARTICLE_COUNTS)]), batches, tuple(variances[len(PARTICLE_COUNTS) :])
    )


def fit_notebook(query: ScaleSettings, settings: ViSettings):
    """:func:`fit_code` as a notebook: the model, the guide and SVI in steps, the page's metrics and identity, and
    its charts: the ELBO against the log evidence at each step, the KL beneath, the guide over the posterior."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    family = {
        "normal": "q = Normal(loc, scale), both learned: it contains the posterior, so its KL can reach 0.",
        "fixed_scale": "q = Normal(loc, prior sd): only the location is learned, so the KL stops at a floor.",
        "delta": "`AutoDelta`: a point, so SVI finds the MAP; its objective has no entropy term and is no bound.",
    }[settings.guide]
    optimizer = "Adam" if settings.optim == "adam" else "plain SGD"
    rule = (
        f"a constant step lr = {settings.lr:g}"
        if settings.schedule == "constant"
        else f"Robbins and Monro's decaying step lr / (1 + t)^kappa with lr = {settings.lr:g} and kappa = "
        f"{settings.kappa:g}: the steps sum to infinity while their squares do not, so the noise dies out"
    )
    batch = f", {settings.batch:,} of them per step (`subsample_size`)" if settings.batch else ""
    data = (
        f"the one measurement {query.measurement:g}"
        if settings.n == 1
        else f"{settings.n:,} weighings of one object, its weight and the readings drawn from the model with the seed"
    )
    steps = [
        Step("import math", "The libraries: Pyro's SVI, its ELBO estimator and its autoguides."),
        Step(
            "def weighings(",
            "**The model**: the lecture's scale model for n weighings of one object, the measurements in a "
            "`pyro.plate` (a mini-batch of them when `batch` is set).",
        ),
        Step("guide = AutoDelta" if settings.guide == "delta" else "def guide(", f"**The guide** {family}"),
        Step(
            "pyro.set_rng_seed(",
            f"**The data and the step rule**: {data}{batch}; {optimizer} with {rule}.",
        ),
        Step(
            "elbo_estimate =",
            f"**SVI**: {settings.steps:,} steps, each on an ELBO estimate from {settings.particles} draw"
            f"{'s' if settings.particles > 1 else ''} of q. Each step's loss and the guide after it are kept for "
            "the charts.",
        ),
        Step(
            "# Every term exact",
            "**Every term exact.** The prior and the noise are normal, so the posterior, the log evidence log p(x), "
            "the ELBO of a normal guide and its KL to the posterior are all closed form: log p(x) = ELBO + KL.",
        ),
    ]
    if settings.guide == "delta":
        printed = """print(f"log evidence: {log_evidence:.3f} (exact)")
print(f"log p(x, weight) at the MAP: {log_joint:.3f} (estimated {estimate:.3f})")
print("KL(q || posterior): infinite (a point has no density)")"""
    else:
        printed = """print(f"log evidence: {log_evidence:.3f} (exact)")
print(f"ELBO: {elbo:.3f} (estimated {estimate:.3f})")
print(f"KL(q || posterior): {kl:.4f} (log p - ELBO estimate: {log_evidence - estimate:.4f})")
print(f"The identity, in numbers: log p(x) = ELBO + KL: {log_evidence:.3f} = {elbo:.3f} + {kl:.4f}")"""
    numbers = (
        "The page's metrics: the exact log evidence, the exact objective of the final guide beside SVI's own "
        "estimate of it (the mean of the last 50 steps' negative losses), and the exact KL.",
        f"""estimate = -float(np.mean(losses[-min(50, len(losses)):]))
{printed}""",
    )
    objective = "log p(x, weight)" if settings.guide == "delta" else "ELBO"
    curves = (
        f"**The {objective} at each step**: SVI's noisy estimate, the exact {objective} of the guide after the step, "
        "and the log evidence above them"
        + (" (a point's objective is no bound: it can pass it)." if settings.guide == "delta" else "."),
        f"""def exact_objective(loc, scale):
    if scale == 0:
        return expected_log_joint(loc, 0.0)
    return expected_log_joint(loc, scale) + 0.5 * math.log(2 * math.pi * math.e * scale**2)


exact = np.array([exact_objective(loc_at, scale_at) for loc_at, scale_at in path])
steps = np.arange(1, len(losses) + 1)
fig = go.Figure()
fig.add_scatter(x=steps, y=-np.array(losses), mode="lines", name="{objective}, estimated",
                line=dict(color=DRAWN, width=1))
fig.add_scatter(x=steps, y=exact, mode="lines", name="{objective}, exact", line=dict(color=EXACT, width=2.5))
fig.add_scatter(x=[1, len(losses)], y=[log_evidence] * 2, mode="lines", name="log evidence",
                line=dict(color=PRIOR, width=2, dash="dash"))
# The first estimates can be thousands of nats below: the view starts where the exact curve is.
low = float(np.percentile(exact, 5))
spread = max(log_evidence - low, 1.0)
fig.update_yaxes(range=[low - 0.2 * spread, log_evidence + 0.3 * spread])
styled(fig, "{objective} at each step", "step", "nats", height=320).show()""",
    )
    charts = [curves]
    if settings.guide != "delta":
        floor = (
            "floor = math.log(post_sd / prior_sd) + prior_sd**2 / (2 * post_sd**2) - 0.5  # the family's least KL\n"
            'fig.add_scatter(x=[1, len(kls)], y=[floor] * 2, mode="lines", name="the family\'s floor",\n'
            '                line=dict(color=PRIOR, dash="dash"))\n'
            if settings.guide == "fixed_scale"
            else ""
        )
        charts.append(
            (
                "**KL(q || posterior)** after each step, on a log scale"
                + (": a guide of the prior's scale cannot go below its floor." if floor else "."),
                f"""def kl_of(loc, scale):
    return math.log(post_sd / scale) + (scale**2 + (loc - post_mean) ** 2) / (2 * post_sd**2) - 0.5


kls = [kl_of(loc_at, scale_at) for loc_at, scale_at in path]
fig = go.Figure()
fig.add_scatter(x=np.arange(1, len(kls) + 1), y=kls, mode="lines", name="KL(q || posterior), exact",
                line=dict(color=EXACT))
{floor}fig.update_yaxes(type="log", exponentformat="power")
styled(fig, "KL(q || posterior)", "step", "nats (log scale)", height=280).show()""",
            )
        )
    guide_curve = (
        """fig.add_scatter(x=[loc, loc], y=[0, normal_pdf(post_mean, post_mean, post_sd)], mode="lines+markers",
                name="guide q: a point (Delta)", line=dict(color=DRAWN, width=3, dash="dash"))"""
        if settings.guide == "delta"
        else """fig.add_scatter(x=grid, y=normal_pdf(grid, loc, scale), mode="lines", name="guide q",
                line=dict(color=DRAWN, width=2.5, dash="dash"))"""
    )
    charts.append(
        (
            "**The guide over the exact posterior**, after the last step.",
            f"""width = 5 * max(post_sd, scale)
grid = np.linspace(min(post_mean, loc) - width, max(post_mean, loc) + width, 400)
fig = go.Figure()
fig.add_scatter(x=grid, y=normal_pdf(grid, post_mean, post_sd), mode="lines", name="exact posterior",
                line=dict(color=EXACT, width=2.5))
{guide_curve}
styled(fig, "The guide over the exact posterior", "weight", "density").show()""",
        )
    )
    notes = "The page's gradient-noise charts (each point the variance of 100 repeated gradients) are not redrawn here."
    return notebooks.notebook(
        title="Variational inference, seen whole",
        page="vi",
        about="It runs Pyro's SVI on the scale model and checks every step against the exact log evidence, ELBO and "
        "KL: log p(x) = ELBO(q) + KL(q || posterior).",
        settings=(query, settings),
        script=fit_code(query, settings),
        steps=steps,
        numbers=numbers,
        charts=charts,
        notes=notes,
    )
