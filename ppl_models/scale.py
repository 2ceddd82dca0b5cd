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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from torch.distributions import constraints

from ppl_models.engine import diagnostics
from ppl_models.engine.mcmc import (
    HmcRequest,
    McmcResult,
    McmcSettings,
    batch_group,
    run_hmc_together,
    run_mcmc,
    uses_batched_sampler,
)
from ppl_models.engine.potential_graph import NotBatchable
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.runtime.progress import ProgressCallback
from ppl_models.engine.runtime.together import BatchProgress, Together
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
    return _from_mcmc(query, run_mcmc(scale, settings, _model_args(query), observations, progress))


def _from_mcmc(query: ScaleSettings, mcmc: McmcResult) -> ScaleInference:
    exact = exact_posterior(query)
    summary = mcmc.summaries["weight"]
    advice = list(mcmc.advice) + diagnostics.advise_against_exact(
        summary.mean, summary.sd, exact.mean, exact.sd, summary.mcse, summary.ess
    )
    return ScaleInference(mcmc.draws["weight"], summary.mean, summary.sd, tuple(advice), mcmc=mcmc)


def _batch_group(query: ScaleSettings, settings: McmcSettings | SviSettings):
    """Runs that may share one batch: HMC on the batched sampler with the same sampler settings."""
    if isinstance(settings, McmcSettings) and uses_batched_sampler(settings):
        return batch_group(settings)
    return None


def infer_weight_together(
    calls: Sequence[tuple[ScaleSettings, McmcSettings]], progress: BatchProgress | None = None
) -> list[ScaleInference | InferenceError]:
    """Several sessions' :func:`infer_weight` runs as one batch; each result is its run alone's."""
    results: list[ScaleInference | InferenceError | None] = [None] * len(calls)
    runnable = []
    for index, (query, _) in enumerate(calls):
        try:
            query.check()
            runnable.append(index)
        except InferenceError as error:
            results[index] = error
    if runnable:
        settings = calls[runnable[0]][1]
        requests = [
            HmcRequest(_model_args(calls[i][0]), {"measurement": calls[i][0].measurement}, calls[i][1].seed)
            for i in runnable
        ]
        padded = None
        if progress is not None:

            def padded(reports):
                # Calls refused above get no reports; the caller expects one per call.
                full = [None] * len(calls)
                for index, report in zip(runnable, reports, strict=True):
                    full[index] = report
                return progress(full)

        try:
            outcomes = run_hmc_together(scale, settings, requests, padded)
        except NotBatchable:
            outcomes = [
                run_mcmc(scale, calls[i][1], _model_args(calls[i][0]), {"measurement": calls[i][0].measurement})
                for i in runnable
            ]
        for index, outcome in zip(runnable, outcomes, strict=True):
            results[index] = outcome if isinstance(outcome, InferenceError) else _from_mcmc(calls[index][0], outcome)
    return results


infer_weight.together = Together(group=_batch_group, run=infer_weight_together)


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
        hmc_class = "FixedStepsHMC" if settings.hold_num_steps else "HMC"
        kernel = (
            f"{hmc_class}(conditioned_scale, step_size={settings.step_size!r}, num_steps={settings.num_steps}, "
            f"adapt_step_size={settings.adapt_step_size})"
        )
        kernel_import = "HMC"
    hold = ""
    if settings.kernel == "hmc" and settings.hold_num_steps:
        hold = f"""# The page holds num_steps at {settings.num_steps} while the step size adapts; Pyro's HMC keeps
# step_size * num_steps fixed instead, so a smaller adapted step takes more steps.
class FixedStepsHMC(HMC):
    def __init__(self, model, *, num_steps, **kwargs):
        super().__init__(model, num_steps=num_steps, **kwargs)
        self._fixed_num_steps = num_steps

    @property
    def num_steps(self):
        return self._fixed_num_steps

"""
    batched = ""
    if settings.kernel == "hmc" and uses_batched_sampler(settings):
        batched = """# The page samples with the app's batched HMC: Pyro's algorithm on this model's potential,
# each chain with its own random stream. This script runs Pyro's HMC class, so its draws
# differ from the page's one by one and agree within Monte Carlo error. With "HMC
# implementation" set to pyro, the page runs exactly this script.
"""
    run = f"""kernel = {kernel}
mcmc = MCMC(kernel, num_samples={settings.num_samples}, warmup_steps={settings.warmup_steps})
mcmc.run(*args)"""
    if settings.num_chains == 1:
        sample = f"""pyro.set_rng_seed({settings.seed})
{run}
weight = mcmc.get_samples()["weight"]
print("posterior mean", weight.mean().item(), "sd", weight.std().item())
mcmc.summary()
"""
    else:
        indented = run.replace("\n", "\n    ")
        sample = f"""# The page runs its chains one after another, chain c seeded with {settings.seed} + c
# (Pyro's own multi-chain mode forks processes).
chains = []
for chain in range({settings.num_chains}):
    pyro.set_rng_seed({settings.seed} + chain)
    {indented}
    chains.append(mcmc.get_samples()["weight"])
weight = torch.stack(chains)  # (chains, draws)
print("posterior mean", weight.mean().item(), "sd", weight.std().item())
"""
    return (
        header
        + f"""from pyro.infer import MCMC, {kernel_import}

{hold}{batched}{sample}"""
    )


def infer_weight_notebook(query: ScaleSettings, settings: McmcSettings | SviSettings):
    """:func:`infer_weight_code` as a notebook: the script in steps, the page's metrics, its histogram and trace."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    measured = f"{query.measurement:g}"
    steps = [
        Step("import torch", "The libraries: Pyro, its distributions, and the torch tensors they work on."),
        Step(
            "def scale(",
            "**The model**, as the lecture writes it: a weight drawn from the prior Normal(guess, prior_sd), then one "
            "measurement of it by a scale whose error is Normal(0, noise_sd).",
        ),
        Step(
            "conditioned_scale =",
            f"**Conditioning.** `pyro.condition` fixes the measurement at {measured}. What Pyro infers from here on is "
            "the weight given that measurement, with the page's numbers for the guess and the two spreads.",
        ),
    ]
    if isinstance(settings, SviSettings):
        steps += [
            Step(
                "from torch.distributions",
                "**The guide** q = Normal(loc, sd): SVI searches this family for the member closest to the posterior. "
                "Both parameters start at the prior's values; `constraints.positive` keeps the sd above 0.",
            ),
            Step(
                "pyro.clear_param_store()",
                f"**SVI**: {settings.num_steps:,} steps of Adam on the ELBO (seed {settings.seed}, "
                f"{settings.num_particles} particle{'s' if settings.num_particles > 1 else ''} per step). The guide's "
                "loc and sd at the end are the page's posterior mean and sd.",
            ),
        ]
        fitted = 'mean, sd = pyro.param("weight_loc").item(), pyro.param("weight_scale").item()'
        source = "the guide's loc and scale"
    else:
        name = "NUTS" if settings.kernel == "nuts" else "HMC"
        chains = f"{settings.num_chains} chains" if settings.num_chains > 1 else "one chain"
        adapt = "adapting the step size during warmup" if settings.adapt_step_size else "with the step size fixed"
        steps.append(
            Step(
                "from pyro.infer import",
                f"**Sampling** with Pyro's {name}: {chains} of {settings.warmup_steps:,} warmup steps (thrown away, "
                f"{adapt}) and {settings.num_samples:,} draws, seed {settings.seed}. The draws' mean and sd are the "
                "page's posterior mean and sd.",
            )
        )
        fitted = "mean, sd = weight.mean().item(), weight.std().item()"
        source = "the draws"
    numbers = (
        f"The page's two metrics, from {source}, each beside the exact posterior's value (normal prior and normal "
        "noise: precisions add, and the mean is the precision-weighted average of the guess and the measurement).",
        f"""import math

guess, prior_sd, noise_sd, measurement = {float(query.guess)!r}, {float(query.prior_sd)!r}, {float(query.noise_sd)!r}, \
{float(query.measurement)!r}
prior_precision, noise_precision = 1 / prior_sd**2, 1 / noise_sd**2
precision = prior_precision + noise_precision
exact_mean = (guess * prior_precision + measurement * noise_precision) / precision
exact_sd = math.sqrt(1 / precision)
{fitted}
for label, value, exact in (("Posterior mean", mean, exact_mean), ("Posterior sd", sd, exact_sd)):
    print(f"{{label}}: {{value:.3f}} ({{value - exact:+.3f}} vs exact {{exact:.3f}})")""",
    )
    title = f"P(weight | measurement = {measured})"
    if isinstance(settings, SviSettings):
        drawn = (
            f"# As the page does: {settings.num_posterior_samples:,} draws from the fitted guide.\n"
            f"draws = dist.Normal(mean, sd).sample(({settings.num_posterior_samples},)).numpy()"
        )
        draws_name = "draws from the guide"
        second = (
            "**How SVI converged**: the loss (the negative ELBO's estimate) at each step.",
            """fig = go.Figure()
fig.add_scatter(y=losses, mode="lines", name="loss", line=dict(color=DRAWN))
styled(fig, "SVI loss (negative ELBO)", "step", "loss", height=300).show()""",
        )
    else:
        drawn = "draws = weight.reshape(-1).numpy()"
        draws_name = "samples"
        second = (
            "**The trace** of each chain: a chain that has found the posterior wanders over it without trend.",
            f"""fig = go.Figure()
for index, chain in enumerate(weight.reshape({settings.num_chains}, -1).numpy()):
    fig.add_scatter(y=chain, mode="lines", name=f"chain {{index + 1}}", line=dict(width=1))
styled(fig, "Trace of weight, per chain", "draw", "weight", height=300).show()""",
        )
    histogram = (
        "**The posterior**: Pyro's draws as a histogram, the exact posterior and the prior as curves.",
        f"""{drawn}
low = min(guess - 4 * prior_sd, exact_mean - 4 * exact_sd)
high = max(guess + 4 * prior_sd, exact_mean + 4 * exact_sd)
grid = np.linspace(low, high, 300)
fig = go.Figure()
fig.add_histogram(x=draws, histnorm="probability density", nbinsx=40, name="{draws_name}", marker_color=DRAWN,
                  opacity=0.65)
fig.add_scatter(x=grid, y=normal_pdf(grid, exact_mean, exact_sd), mode="lines", name="exact posterior",
                line=dict(color=EXACT, width=2))
fig.add_scatter(x=grid, y=normal_pdf(grid, guess, prior_sd), mode="lines", name="prior",
                line=dict(color=PRIOR, width=2, dash="dash"))
styled(fig, "{title}", "weight", "density").show()""",
    )
    notes = ""
    if isinstance(settings, McmcSettings) and settings.kernel == "hmc" and uses_batched_sampler(settings):
        notes = (
            "The page sampled with the app's batched HMC (Pyro's algorithm, each chain with its own random stream); "
            "this notebook runs Pyro's HMC class, so its draws differ one by one and its numbers agree with the "
            "page's within Monte Carlo error."
        )
    elif isinstance(settings, McmcSettings) and settings.kernel == "hmc":
        notes = (
            "The page integrates HMC's leapfrog steps compiled (the same operations in the same order); Pyro's own "
            "integrator here gives the same draws up to float rounding, so the last decimal may differ."
        )
    return notebooks.notebook(
        title="Conditioning & HMC: the scale model",
        page="scale",
        about="It conditions the lecture's scale model on a measurement and infers the weight with "
        + ("SVI" if isinstance(settings, SviSettings) else settings.kernel.upper())
        + ", beside the exact posterior.",
        settings=(query, settings),
        script=infer_weight_code(query, settings),
        steps=steps,
        numbers=numbers,
        charts=(histogram, second),
        notes=notes,
    )
