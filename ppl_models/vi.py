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
from dataclasses import dataclass

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
    args = (float(query.guess), float(query.prior_sd), float(query.noise_sd), torch.as_tensor(values), settings.batch)
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
