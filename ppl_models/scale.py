"""The lecture's scale model: guessing an object's weight from a noisy measurement.

::

    guess, prior_sd         noise_sd
          |                    |
          v                    v
       weight  ------------> measurement (observed)

    weight      ~ Normal(guess, prior_sd)
    measurement ~ Normal(weight, noise_sd)

From the Pyro lecture of the causal-ML course (after Pyro's "Introduction to
Inference" tutorial): condition on ``measurement = 14`` with ``pyro.condition`` and
infer ``weight`` with HMC. Both distributions are Gaussian, so the posterior is
Gaussian too and known exactly (:func:`exact_posterior`): every inference result on
the page is checked against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from torch.distributions import constraints

from ppl_models.engine import diagnostics
from ppl_models.engine.mcmc import McmcResult, McmcSettings, run_mcmc
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.runtime.progress import ProgressCallback
from ppl_models.engine.svi import SviResult, SviSettings, run_svi
from ppl_models.exact import Normal


@dataclass(frozen=True)
class ScaleSettings:
    """The model's numbers and the observed measurement (the lecture's by default)."""

    guess: float = 10.0
    prior_sd: float = 1.0
    noise_sd: float = 0.75
    measurement: float = 14.0

    def check(self) -> None:
        values = (self.guess, self.prior_sd, self.noise_sd, self.measurement)
        if not all(math.isfinite(v) for v in values):
            raise InferenceError("Every number of the model must be finite.")
        if self.prior_sd <= 0 or self.noise_sd <= 0:
            raise InferenceError("Standard deviations must be positive.")


def scale(guess: torch.Tensor, prior_sd: torch.Tensor, noise_sd: torch.Tensor) -> torch.Tensor:
    """The generative story: a weight, then a noisy measurement of it."""
    weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
    return pyro.sample("measurement", dist.Normal(weight, noise_sd))


def scale_guide(guess: torch.Tensor, prior_sd: torch.Tensor, noise_sd: torch.Tensor) -> None:
    """A normal guide for ``weight``; it contains the exact posterior, so SVI can reach it."""
    loc = pyro.param("weight_loc", lambda: guess.clone())
    sd = pyro.param("weight_scale", lambda: prior_sd.clone(), constraint=constraints.positive)
    pyro.sample("weight", dist.Normal(loc, sd))


def prior(query: ScaleSettings) -> Normal:
    return Normal(query.guess, query.prior_sd)


def exact_posterior(query: ScaleSettings) -> Normal:
    """Normal-normal conjugacy: precisions add, means are precision-weighted."""
    prior_precision = 1 / query.prior_sd**2
    noise_precision = 1 / query.noise_sd**2
    precision = prior_precision + noise_precision
    mean = (query.guess * prior_precision + query.measurement * noise_precision) / precision
    return Normal(mean, math.sqrt(1 / precision))


@dataclass(frozen=True)
class ScaleInference:
    """What the page shows: draws of ``weight``, their summary, and any warnings."""

    weight_draws: np.ndarray  # (chains, draws); one row of guide draws for SVI
    mean: float
    sd: float
    advice: tuple[diagnostics.Advice, ...]
    mcmc: McmcResult | None = None
    svi: SviResult | None = None


def _model_args(query: ScaleSettings) -> tuple[float, float, float]:
    return (float(query.guess), float(query.prior_sd), float(query.noise_sd))


def infer_weight(
    query: ScaleSettings,
    settings: McmcSettings | SviSettings,
    progress: ProgressCallback | None = None,
) -> ScaleInference:
    """Condition on the measurement and infer the weight by MCMC or SVI."""
    query.check()
    exact = exact_posterior(query)
    observations = {"measurement": query.measurement}
    if isinstance(settings, SviSettings):
        svi = run_svi(scale, scale_guide, settings, _model_args(query), observations, progress)
        mean = float(svi.params["weight_loc"])
        sd = float(svi.params["weight_scale"])
        advice = diagnostics.advise_against_exact(mean, sd, exact.mean, exact.sd)
        draws = svi.posterior_samples["weight"].reshape(1, -1)
        return ScaleInference(draws, mean, sd, tuple(advice), svi=svi)
    mcmc = run_mcmc(scale, settings, _model_args(query), observations, progress)
    summary = mcmc.summaries["weight"]
    advice = list(mcmc.advice) + diagnostics.advise_against_exact(
        summary.mean, summary.sd, exact.mean, exact.sd, summary.mcse, summary.ess
    )
    return ScaleInference(mcmc.draws["weight"], summary.mean, summary.sd, tuple(advice), mcmc=mcmc)


def infer_weight_code(query: ScaleSettings, settings: McmcSettings | SviSettings) -> str:
    """Pyro code, runnable in a notebook, equivalent to the page's current setting."""
    header = f"""import torch
import pyro
import pyro.distributions as dist

def scale(guess, prior_sd, noise_sd):
    weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
    return pyro.sample("measurement", dist.Normal(weight, noise_sd))

conditioned_scale = pyro.condition(scale, data={{"measurement": torch.tensor({query.measurement!r})}})
args = (torch.tensor({query.guess!r}), torch.tensor({query.prior_sd!r}), torch.tensor({query.noise_sd!r}))
"""
    if isinstance(settings, SviSettings):
        elbo = {"trace": "Trace_ELBO", "meanfield": "TraceMeanField_ELBO", "enum": "TraceEnum_ELBO"}[settings.elbo]
        return (
            header
            + f"""from torch.distributions import constraints
from pyro.infer import SVI, {elbo}

def guide(guess, prior_sd, noise_sd):
    loc = pyro.param("weight_loc", lambda: guess.clone())
    sd = pyro.param("weight_scale", lambda: prior_sd.clone(), constraint=constraints.positive)
    pyro.sample("weight", dist.Normal(loc, sd))

pyro.clear_param_store()
pyro.set_rng_seed({settings.seed})
optimizer = pyro.optim.Adam({{"lr": {settings.lr!r}, "betas": ({settings.beta1!r}, {settings.beta2!r})}})
svi = SVI(conditioned_scale, guide, optimizer,
          loss={elbo}(num_particles={settings.num_particles}, vectorize_particles={settings.num_particles > 1},
                      max_plate_nesting={settings.max_plate_nesting}))
losses = [svi.step(*args) for _ in range({settings.num_steps})]
print("posterior mean", pyro.param("weight_loc").item(), "sd", pyro.param("weight_scale").item())
"""
        )
    if settings.kernel == "nuts":
        kernel = (
            f"NUTS(conditioned_scale, step_size={settings.step_size!r}, adapt_step_size={settings.adapt_step_size})"
        )
        kernel_import = "NUTS"
    else:
        kernel = (
            f"HMC(conditioned_scale, step_size={settings.step_size!r}, num_steps={settings.num_steps}, "
            f"adapt_step_size={settings.adapt_step_size})"
        )
        kernel_import = "HMC"
    hold = ""
    if settings.kernel == "hmc" and settings.hold_num_steps:
        hold = (
            "# The app holds num_steps fixed while the step size adapts; plain Pyro keeps\n"
            "# step_size * num_steps fixed instead. To match the app, subclass HMC and\n"
            f"# override its num_steps property to return {settings.num_steps}.\n"
        )
    chains = ""
    if settings.num_chains > 1:
        chains = (
            f"# The app runs {settings.num_chains} chains one after another, chain c seeded with {settings.seed} + c.\n"
        )
    return (
        header
        + f"""from pyro.infer import MCMC, {kernel_import}

{hold}{chains}pyro.set_rng_seed({settings.seed})
kernel = {kernel}
mcmc = MCMC(kernel, num_samples={settings.num_samples}, warmup_steps={settings.warmup_steps})
mcmc.run(*args)
weight = mcmc.get_samples()["weight"]
print("posterior mean", weight.mean().item(), "sd", weight.std().item())
mcmc.summary()
"""
    )
