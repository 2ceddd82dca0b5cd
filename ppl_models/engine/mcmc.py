"""A generic MCMC runner over Pyro's HMC and NUTS.

:func:`run_mcmc` takes any model, applies observations from outside with
``pyro.condition``, runs 1 to 4 chains, streams partial samples to a progress callback,
and returns a frozen :class:`McmcResult` of numpy arrays. HMC runs on the batched sampler
(:mod:`ppl_models.engine.batched_hmc`, all chains at once) where the model allows, else
on Pyro's own kernels, chain after chain (Pyro's multi-chain mode forks processes, which
is fragile inside a web server). :func:`run_hmc_together` runs several requests' HMC as
one batch, each result what that request alone would get.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyro
import torch
from pyro.infer import HMC, MCMC, NUTS

from ppl_models.engine import batched_hmc, diagnostics
from ppl_models.engine.compiled_hmc import CompiledTrajectoryHMC
from ppl_models.engine.device import resolve_device
from ppl_models.engine.potential_graph import NotBatchable
from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.engine.tensors import scalar_views

KERNELS = ("hmc", "nuts")
# "batched": the app's batched HMC (ppl_models/engine/batched_hmc.py), Pyro's algorithm with
# each chain's own random stream; "pyro": Pyro's HMC class, draw for draw (compiled steps).
SAMPLERS = ("batched", "pyro")

# Bounds that keep one request from holding the shared server for long.
MAX_SAMPLES = 5000
MAX_WARMUP = 2000
MAX_CHAINS = 4
MAX_NUM_STEPS = 100

# Pyro's MCMC logs every iteration's diagnostics as JSON for its progress bar, which the
# runner turns off: at INFO, formatting and handling those records was 9% of a scale run.
# Pyro re-attaches its handlers each run but never sets this level; warnings still pass.
logging.getLogger("pyro.infer.mcmc").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

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
    # HMC only: which implementation samples (SAMPLERS); NUTS is always Pyro's.
    sampler: str = "batched"
    # Set for models with enumerated discrete sites (e.g. a mixture's assignments).
    max_plate_nesting: int | None = None
    # NUTS only: at most 2**depth leapfrog steps per draw; caps the cost of hard geometry.
    max_tree_depth: int = 10

    def check(self) -> None:
        """Raise :class:`InferenceError` for settings no run should attempt."""
        problems = []
        if self.kernel not in KERNELS:
            problems.append(f"kernel must be one of {KERNELS}, not {self.kernel!r}")
        if self.sampler not in SAMPLERS:
            problems.append(f"sampler must be one of {SAMPLERS}, not {self.sampler!r}")
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
    if uses_batched_sampler(settings, work_elements):
        single = None if progress is None else (lambda reports: progress(reports[0]))
        try:
            (outcome,) = run_hmc_together(
                model, settings, [HmcRequest(model_args, observations, settings.seed)], single
            )
        except NotBatchable as reason:
            log.info("Batched HMC cannot take %s (%s); running Pyro's HMC", getattr(model, "__name__", model), reason)
        else:
            if isinstance(outcome, InferenceError):
                raise outcome
            return outcome
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
    return assemble_result(settings, per_chain, chain_stats, run.elapsed(), str(run.device), run.device_note)


def assemble_result(
    settings: McmcSettings,
    per_chain: list[dict[str, np.ndarray]],
    chain_stats: list[diagnostics.ChainStats],
    wall_time_s: float,
    device: str,
    device_note: str = "",
) -> McmcResult:
    """Chains' draws and statistics as the frozen result every MCMC page reads."""
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
        wall_time_s=wall_time_s,
        device=device,
        device_note=device_note,
        autocorrelation={name: diagnostics.autocorrelation(d) for name, d in draws.items()},
    )


@dataclass(frozen=True)
class HmcRequest:
    """One run of a batch: its model arguments, observations and seed (chain c: seed + c)."""

    model_args: tuple = ()
    observations: Mapping[str, Any] | None = None
    seed: int = 0


def uses_batched_sampler(settings: McmcSettings, work_elements: int = 1) -> bool:
    """Whether an HMC run of ``settings`` goes to the batched sampler (which is CPU-only)."""
    if settings.kernel != "hmc" or settings.sampler != "batched" or not settings.jit_compile:
        return False
    # An explicit device request (or an unknown one) goes where its own note is written.
    if settings.device != "auto":
        return settings.device == "cpu"
    return resolve_device(settings.device, work_elements).device.type == "cpu"


def batch_group(settings: McmcSettings) -> McmcSettings:
    """What runs of one batch must share: everything but the seed."""
    return dataclasses.replace(settings, seed=0)


def run_hmc_together(
    model: Callable,
    settings: McmcSettings,
    requests: Sequence[HmcRequest],
    progress: Callable[[list[Progress]], bool | None] | None = None,
) -> list[McmcResult | InferenceError]:
    """Every request's HMC run as one batch: each result is what that request alone gets.

    ``settings`` is shared (its seed is ignored: each request brings its own). A request
    whose setting cannot run gets its :class:`InferenceError` in its place; the others run.

    :param progress: ``progress(reports)``, one report per request in order; returning
        False stops the whole batch (:class:`RunCancelled`).
    :raises NotBatchable: for a model the batched sampler cannot take.
    """
    settings.check()
    observed = tuple(sorted(requests[0].observations or {}))
    specs, owners = [], []
    for index, request in enumerate(requests):
        if tuple(sorted(request.observations or {})) != observed:
            raise NotBatchable("the runs observe different sites")
        observations = tuple((name, dict(request.observations)[name]) for name in observed)
        inputs = batched_hmc.input_tensors(tuple(request.model_args), observations)
        for chain in range(settings.num_chains):
            specs.append(batched_hmc.ChainSpec(inputs, request.seed + chain))
            owners.append(index)
    sampler = batched_hmc.SamplerSettings(
        num_samples=settings.num_samples,
        warmup_steps=settings.warmup_steps,
        step_size=settings.step_size,
        num_steps=settings.num_steps,
        adapt_step_size=settings.adapt_step_size,
        hold_num_steps=settings.hold_num_steps,
    )
    chains_of = [[i for i, owner in enumerate(owners) if owner == index] for index in range(len(requests))]
    iterations = settings.warmup_steps + settings.num_samples

    def report(stage: str, done: int, partial: Callable[[], list[dict[str, np.ndarray]]]) -> bool | None:
        drawn = partial()
        reports = []
        for chains in chains_of:
            joined = {name: np.concatenate([drawn[i][name] for i in chains]) for name in drawn[chains[0]]}
            reports.append(Progress(stage, done * len(chains), iterations * len(chains), len(chains) - 1, joined))
        return progress(reports)

    with inference_guard(requests[0].seed):
        started = time.perf_counter()
        outcomes = batched_hmc.sample_batch(model, observed, specs, sampler, report if progress else None)
        elapsed = time.perf_counter() - started
    results: list[McmcResult | InferenceError] = []
    for chains in chains_of:
        errors = [outcomes[i].error for i in chains if outcomes[i].error]
        if errors:
            results.append(InferenceError(errors[0]))
            continue
        stats = [
            diagnostics.ChainStats(
                acceptance_rate=outcomes[i].acceptance_rate,
                divergences=outcomes[i].divergences,
                step_size=outcomes[i].step_size,
                num_steps=outcomes[i].num_steps,
            )
            for i in chains
        ]
        own = dataclasses.replace(settings, seed=requests[len(results)].seed)
        results.append(assemble_result(own, [outcomes[i].samples for i in chains], stats, elapsed, "cpu"))
    return results
