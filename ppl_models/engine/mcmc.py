"""A generic MCMC runner over Pyro's own HMC and NUTS kernels.

:func:`run_mcmc` takes any model, applies observations from outside with
``pyro.condition``, runs 1 to 4 chains one after another (Pyro's multi-chain mode
forks processes, which is fragile inside a web server), streams partial samples to a
progress callback, and returns a frozen :class:`McmcResult` of numpy arrays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyro
import torch
from pyro.infer import HMC, MCMC, NUTS

from ppl_models.engine import diagnostics
from ppl_models.engine.compiled_hmc import CompiledTrajectoryHMC
from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.engine.tensors import scalar_views

KERNELS = ("hmc", "nuts")

# Bounds that keep one request from holding the shared server for long.
MAX_SAMPLES = 5000
MAX_WARMUP = 2000
MAX_CHAINS = 4
MAX_NUM_STEPS = 100

# Pyro's MCMC logs every iteration's diagnostics as JSON for its progress bar, which the
# runner turns off: at INFO, formatting and handling those records was 9% of a scale run.
# Pyro re-attaches its handlers each run but never sets this level; warnings still pass.
logging.getLogger("pyro.infer.mcmc").setLevel(logging.WARNING)

# Time between two progress reports; frequent enough to look live, rare enough that
# drawing the partial histogram does not slow the sampler down.
PROGRESS_INTERVAL_S = 0.15


@dataclass(frozen=True)
class McmcSettings:
    """Everything that decides an MCMC run; frozen and hashable, so it can key a cache.

    :ivar hold_num_steps: HMC only. Pyro keeps the trajectory length
        ``step_size * num_steps`` while it adapts the step size, so a smaller adapted
        step means more leapfrog steps. With this flag the number of steps stays at
        ``num_steps`` instead (textbook HMC, Neal 2011), and only the step size adapts.
    """

    kernel: str = "hmc"
    num_samples: int = 1000
    warmup_steps: int = 50
    num_chains: int = 1
    step_size: float = 0.9
    num_steps: int = 4
    adapt_step_size: bool = True
    hold_num_steps: bool = False
    seed: int = 0
    device: str = "auto"
    jit_compile: bool = True
    # Set for models with enumerated discrete sites (e.g. a mixture's assignments).
    max_plate_nesting: int | None = None
    # NUTS only: at most 2**depth leapfrog steps per draw; caps the cost of hard geometry.
    max_tree_depth: int = 10

    def check(self) -> None:
        """Raise :class:`InferenceError` for settings no run should attempt."""
        problems = []
        if self.kernel not in KERNELS:
            problems.append(f"kernel must be one of {KERNELS}, not {self.kernel!r}")
        if not 1 <= self.num_samples <= MAX_SAMPLES:
            problems.append(f"samples must be between 1 and {MAX_SAMPLES}")
        if not 0 <= self.warmup_steps <= MAX_WARMUP:
            problems.append(f"warmup must be between 0 and {MAX_WARMUP}")
        if not 1 <= self.num_chains <= MAX_CHAINS:
            problems.append(f"chains must be between 1 and {MAX_CHAINS}")
        if not (self.step_size > 0 and np.isfinite(self.step_size)):
            problems.append("the step size must be a positive number")
        if not 1 <= self.num_steps <= MAX_NUM_STEPS:
            problems.append(f"leapfrog steps must be between 1 and {MAX_NUM_STEPS}")
        if problems:
            raise InferenceError("Cannot run MCMC: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class McmcResult:
    """Samples and diagnostics of a finished MCMC run, all plain numpy and floats.

    :ivar samples: per latent site, an array shaped ``(chains, draws, *event_shape)``.
    :ivar draws: the same split into scalar quantities (``locs[0]``), ``(chains, draws)``.
    """

    settings: McmcSettings
    samples: dict[str, np.ndarray]
    draws: dict[str, np.ndarray]
    summaries: dict[str, diagnostics.SiteSummary]
    chains: tuple[diagnostics.ChainStats, ...]
    advice: tuple[diagnostics.Advice, ...]
    wall_time_s: float
    device: str
    device_note: str = ""
    autocorrelation: dict[str, np.ndarray] = field(default_factory=dict)


class _HoldNumSteps:
    """Mixin: the step size adapts while the number of leapfrog steps stays fixed."""

    def __init__(self, model, *, num_steps: int, **kwargs):
        super().__init__(model, num_steps=num_steps, **kwargs)
        self._fixed_num_steps = num_steps

    @property
    def num_steps(self) -> int:
        return self._fixed_num_steps


class _FixedStepsHMC(_HoldNumSteps, HMC):
    pass


class _FixedStepsCompiledHMC(_HoldNumSteps, CompiledTrajectoryHMC):
    pass


def _make_kernel(model: Callable, settings: McmcSettings, jit: bool):
    common = dict(
        adapt_step_size=settings.adapt_step_size,
        ignore_jit_warnings=True,
        step_size=settings.step_size,
        max_plate_nesting=settings.max_plate_nesting,
    )
    if settings.kernel == "nuts":
        return NUTS(model, max_tree_depth=settings.max_tree_depth, jit_compile=jit, **common)
    # HMC compiles whole leapfrog steps instead of using Pyro's JIT of the potential:
    # the same draws, about three times sooner (ppl_models/compiled_hmc.py).
    if jit:
        hmc_class = _FixedStepsCompiledHMC if settings.hold_num_steps else CompiledTrajectoryHMC
    else:
        hmc_class = _FixedStepsHMC if settings.hold_num_steps else HMC
    return hmc_class(model, num_steps=settings.num_steps, jit_compile=False, **common)


class _StreamingHook:
    """Collects post-warmup draws as they come and reports them every so often.

    ``earlier`` holds the finished chains' draws per site, so the partial histogram
    keeps them while a later chain runs.
    """

    def __init__(self, progress: ProgressCallback, chain: int, settings: McmcSettings, earlier: dict[str, np.ndarray]):
        self.progress = progress
        self.chain = chain
        self.warmup = settings.warmup_steps
        self.per_chain = settings.warmup_steps + settings.num_samples
        self.total = self.per_chain * settings.num_chains
        self.earlier = earlier
        self.fresh: list[dict[str, torch.Tensor]] = []
        self.last_report = 0.0

    def __call__(self, kernel, params, stage: str, i: int) -> None:
        sampling = stage.startswith("Sample")
        if sampling:
            self.fresh.append(params)
        done_in_chain = (self.warmup if sampling else 0) + i + 1
        now = time.perf_counter()
        if done_in_chain < self.per_chain and now - self.last_report < PROGRESS_INTERVAL_S:
            return
        self.last_report = now
        report = Progress(
            stage="sampling" if sampling else "warmup",
            done=self.chain * self.per_chain + done_in_chain,
            total=self.total,
            chain=self.chain,
            partial=self._partial(kernel),
        )
        if self.progress(report) is False:
            raise RunCancelled("Stopped on request.")

    def _partial(self, kernel) -> dict[str, np.ndarray]:
        partial = dict(self.earlier)
        if not self.fresh:
            return partial
        for name in self.fresh[0]:
            values = torch.stack([p[name] for p in self.fresh])
            transform = kernel.transforms.get(name)
            if transform is not None:
                values = transform.inv(values)
            values = values.detach().cpu().numpy()
            if name in partial:
                values = np.concatenate([partial[name].reshape(-1, *values.shape[1:]), values])
            partial[name] = values
        return partial


def _run_chain(model, settings: McmcSettings, args: tuple, hook) -> tuple[MCMC, Any]:
    """Run one chain, with JIT when asked and possible."""
    for jit in [True, False] if settings.jit_compile else [False]:
        kernel = _make_kernel(model, settings, jit)
        mcmc = MCMC(
            kernel,
            num_samples=settings.num_samples,
            warmup_steps=settings.warmup_steps,
            disable_progbar=True,
            hook_fn=hook,
        )
        try:
            mcmc.run(*args)
            return mcmc, kernel
        except (RunCancelled, InferenceError):
            raise
        except RuntimeError as error:
            # Tracing fails on models with data-dependent control flow; such models
            # still run, only slower, without JIT.
            if jit and "trace" in str(error).lower():
                continue
            raise
    raise AssertionError("unreachable")


def run_mcmc(
    model: Callable,
    settings: McmcSettings,
    model_args: tuple = (),
    observations: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    work_elements: int = 1,
) -> McmcResult:
    """Sample the posterior of ``model`` given ``observations`` with Pyro's HMC or NUTS.

    :param model: a plain Pyro model; it must not observe anything itself that the
        caller wants to vary: observations come in through ``observations``.
    :param settings: the kernel, chain lengths, step size, seed and device.
    :param model_args: plain values (floats, arrays) passed to the model, moved to the
        run's device as tensors.
    :param observations: site name -> observed value, applied with ``pyro.condition``.
    :param progress: called every ~0.15 s with a :class:`Progress` holding the draws so
        far; returning ``False`` stops the run with :class:`RunCancelled`.
    :param work_elements: tensor elements per model evaluation, for the device rule.
    :raises InferenceError: for impossible settings or a model Pyro cannot sample.
    """
    settings.check()
    per_chain: list[dict[str, np.ndarray]] = []
    chain_stats: list[diagnostics.ChainStats] = []
    with run_context(
        model,
        seed=settings.seed,
        device=settings.device,
        work_elements=work_elements,
        model_args=model_args,
        observations=observations,
    ) as run:
        for chain in range(settings.num_chains):
            # Each chain is seeded on its own, so chain c of a 4-chain run equals the
            # single chain run with seed + c, and results never depend on run order.
            pyro.set_rng_seed(settings.seed + chain)
            earlier = {
                name: np.concatenate([c[name] for c in per_chain]) for name in (per_chain[0] if per_chain else {})
            }
            hook = _StreamingHook(progress, chain, settings, earlier) if progress else None
            try:
                mcmc, kernel = _run_chain(run.model, settings, run.args, hook)
            except (RunCancelled, InferenceError):
                raise
            except (ValueError, RuntimeError) as error:
                raise InferenceError(f"Pyro could not sample this model: {error}") from error
            per_chain.append({k: v.detach().cpu().numpy() for k, v in mcmc.get_samples().items()})
            # MCMC.diagnostics() would also compute Pyro's own ESS and R-hat of every site,
            # which this runner computes itself (diagnostics.summarize), and at 5,000 NUTS
            # draws that took 78 MB for a moment; only the sampler's own counts are read.
            info = mcmc._diagnostics[0]
            chain_stats.append(
                diagnostics.ChainStats(
                    acceptance_rate=float(info["acceptance rate"]),
                    divergences=len(info["divergences"]),
                    step_size=float(kernel.step_size),
                    num_steps=int(kernel.num_steps) if settings.kernel == "hmc" else None,
                )
            )
    samples = {name: np.stack([c[name] for c in per_chain]) for name in per_chain[0]}
    draws = scalar_views(samples, lead_dims=2)
    summaries = {name: diagnostics.summarize(d) for name, d in draws.items()}
    return McmcResult(
        settings=settings,
        samples=samples,
        draws=draws,
        summaries=summaries,
        chains=tuple(chain_stats),
        advice=tuple(diagnostics.advise_mcmc(summaries, chain_stats, settings.kernel, settings.adapt_step_size)),
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
        autocorrelation={name: diagnostics.autocorrelation(d) for name, d in draws.items()},
    )
