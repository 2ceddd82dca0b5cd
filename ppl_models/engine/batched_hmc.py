"""Pyro's HMC algorithm for many chains at once, each with its own setting and seed.

A class of thirty asks for thirty settings of one model within a second. Run one by one,
each pays Pyro's per-iteration driver and hundreds of tiny tensor operations per
trajectory, whatever the chain's size. Here all of them advance together: one batch
element per chain, every tensor shaped ``(width, dim)``, every leapfrog step a few traced
operations over the whole batch (:mod:`ppl_models.engine.potential_graph`). Thirty chains
cost about what one does.

What stays Pyro's (README, "A class at once", lists the departures and why):

- the potential: Pyro's own, from ``initialize_model`` and its trace log-densities;
- the step-size search (``HMC._find_reasonable_step_size``: double or halve from the
  current step until the acceptance of one leapfrog step crosses 0.8), the adaptation
  schedule (``WarmupAdapter._build_adaptation_schedule``, Stan's windows), Pyro's
  ``DualAveraging`` for the step size, its regularised Welford estimate of the diagonal
  inverse mass matrix, and the trajectory rule ``num_steps = max(1, int(L / step))`` with
  ``L = step_size * num_steps`` as set;
- the Metropolis correction, divergences (energy error past 1000) and the statistics
  Pyro's ``MCMC`` reports.

What differs, so that a chain is the same whoever shares its batch:

- each chain draws from its own ``torch.Generator``, seeded with its seed: its momenta
  and acceptance uniforms for the whole run first, then its starting point (uniform on
  (-2, 2) unconstrained, as ``init_to_uniform``) and its step-size searches; Pyro draws
  from the global generator, so the draws are not Pyro's (a statistical test holds them
  to Pyro's instead);
- a chain whose trajectory is shorter than the batch's longest takes zero-length steps
  (step size 0) for the rest, which leave a finite state exactly as it was;
- a proposal any part of which is not finite is rejected (Pyro accepts one whose
  potential is minus infinity, which only a broken density has).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from pyro.distributions import constraints
from pyro.infer.mcmc.adaptation import WarmupAdapter
from pyro.ops.dual_averaging import DualAveraging

from ppl_models.engine.potential_graph import NotBatchable, PotentialGraphs, graphs_for, padded_width
from ppl_models.engine.runtime.errors import RunCancelled

# Pyro's HMC constants (tests/test_batched_hmc.py reads them from Pyro's own kernel).
DIRECTION_THRESHOLD = math.log(0.8)
MAX_SLICED_ENERGY = 1000.0
TARGET_ACCEPT_PROB = 0.8
MIN_STEP_SIZE, MAX_STEP_SIZE = 1e-10, 1e10
INIT_RADIUS = 2.0
MAX_INIT_TRIES = 100
# Pyro's search loops until the direction flips, which a potential that is NaN everywhere
# never does: 2**-100 is far below any step that could still move a chain.
MAX_SEARCH_ROUNDS = 100
# Leapfrog steps one chain's trajectory may take; past it the chain fails with a message
# (a step adapted towards zero would otherwise hold every chain of its batch for ever).
MAX_TRAJECTORY_STEPS = 20_000
# The most chains one batch carries, and the largest flat latent vector: the batched path
# is for the lecture's small models; anything bigger runs on Pyro's HMC.
MAX_BATCH = 128
MAX_DIM = 64
# Trajectories are integrated in chunks of these many steps, each one traced call: at
# most four calls up to 15 steps. A traced step holds about 0.3 MB, so longer chunks
# would cost a worker more memory than their fewer calls save time.
CHUNKS = (8, 4, 2, 1)

# Constraints whose transform does not depend on the model's arguments: only for these is
# one set of transforms right for every setting in the batch.
_FIXED_SUPPORTS = (
    constraints.real,
    constraints.real_vector,
    constraints.positive,
    constraints.nonnegative,
    constraints.unit_interval,
    constraints.simplex,
    constraints.positive_definite,
    constraints.lower_cholesky,
    constraints.corr_cholesky,
    constraints.ordered_vector,
    constraints.positive_ordered_vector,
)


@dataclass(frozen=True)
class ChainSpec:
    """One chain of a batch: the model's inputs (its arguments, then the observed values,
    as tensors) and the chain's seed."""

    inputs: tuple[torch.Tensor, ...]
    seed: int


@dataclass(frozen=True)
class SamplerSettings:
    """What every chain of one batch shares."""

    num_samples: int
    warmup_steps: int
    step_size: float
    num_steps: int
    adapt_step_size: bool = True
    hold_num_steps: bool = False


@dataclass(frozen=True)
class ChainDraws:
    """One chain's post-warmup draws (constrained, ``(draws, *site_shape)``) and statistics."""

    samples: dict[str, np.ndarray]
    acceptance_rate: float
    divergences: int
    step_size: float
    num_steps: int
    error: str = ""


# report(stage, iterations done, partial) -> False to stop; partial() gives each chain's
# draws so far, per site, constrained.
BatchReport = Callable[[str, int, Callable[[], list[dict[str, np.ndarray]]]], "bool | None"]


def _fixed_support(support) -> bool:
    while isinstance(support, constraints.independent):
        support = support.base_constraint
    return any(support is fixed for fixed in _FIXED_SUPPORTS)


def check_batchable(graphs: PotentialGraphs) -> None:
    for name, support in graphs.supports.items():
        if not _fixed_support(support):
            raise NotBatchable(f"the support of {name!r} depends on the model's arguments")


def _row_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Each chain's sum over its ``dim`` numbers; a plain selection for one-number chains."""
    return x[:, 0] if dim == 1 else x.sum(-1)


@dataclass(frozen=True)
class _Schedule:
    """One iteration's trajectory for every chain, step by step.

    Leapfrog's two half kicks between consecutive drifts are one kick of their sum, so a
    step is kick, drift, gradient: ``kicks[0]`` is the first half step, ``kicks[k]`` the
    half steps of steps k-1 and k together, and ``last_kick`` the final half step. A chain
    whose trajectory is shorter than the batch's longest has zero kicks and drifts after
    its own last step, which leave a finite state exactly as it was; the pattern of
    operations a chain sees is therefore the same in any batch and any chunking.
    """

    kicks: torch.Tensor  # (steps, width, 1)
    drifts: torch.Tensor  # (steps, width, dim): step size times inverse mass
    last_kick: torch.Tensor  # (width, 1)


class _Compiled:
    """The batch's traced calls: chunks of leapfrog steps, and the end of an iteration."""

    def __init__(self, graphs: PotentialGraphs, gradient_invariants: tuple, value_invariants: tuple):
        self.graphs = graphs
        self.gradient_invariants, self.value_invariants = gradient_invariants, value_invariants

    def _chunk(self, length: int, example: tuple) -> Callable:
        gradient_core = self.graphs.gradient_core

        def steps(kicks, drifts, z, r, g, *invariants):
            for k in range(length):
                r = r - kicks[k] * g
                z = z + drifts[k] * r
                g = gradient_core(z, *invariants)
            return z, r, g

        return self.graphs.traced(("leapfrog", length, len(example)), lambda: (steps, example))

    def trajectory(self, schedule: _Schedule, z, r, g):
        """Every step but the last half kick: ``(z, r, g)``."""
        total, done = schedule.kicks.shape[0], 0
        while done < total:
            length = next(c for c in CHUNKS if c <= total - done)
            example = (schedule.kicks[done : done + length], schedule.drifts[done : done + length], z, r, g)
            z, r, g = self._chunk(length, (*example, *self.gradient_invariants))(*example, *self.gradient_invariants)
            done += length
        return z, r, g

    def end(self, *example) -> tuple:
        """The last half kick, the proposal's potential, and the Metropolis step, in one call."""
        value_core, dim = self.graphs.value_core, self.graphs.layout.dim

        def metropolis(last_kick, r_unscaled, mass_sqrt_inverse, z0, g0, potential0, z, r, g, uniform, *invariants):
            r = r - last_kick * g
            potential = value_core(z, *invariants)[1]
            r_new_unscaled = mass_sqrt_inverse * r
            delta = (0.5 * _row_sum(r_new_unscaled * r_new_unscaled, dim) + potential) - (
                0.5 * _row_sum(r_unscaled * r_unscaled, dim) + potential0
            )
            # 0 * x is 0 for finite x and NaN otherwise: a position or gradient that is not
            # finite anywhere makes the energy error NaN, and so the proposal rejected.
            delta = delta + 0.0 * (_row_sum(z, dim) + _row_sum(g, dim))
            delta = torch.where(torch.isfinite(delta), delta, torch.full_like(delta, math.inf))
            accept_prob = torch.exp(-delta).clamp(max=1.0)
            accepted = uniform < accept_prob
            keep = accepted.unsqueeze(-1)
            z = torch.where(keep, z, z0)
            g = torch.where(keep, g, g0)
            potential = torch.where(accepted, potential, potential0)
            return z, g, potential, accept_prob, accepted, delta

        full = (*example, *self.value_invariants)
        return self.graphs.traced(("metropolis", len(full)), lambda: (metropolis, full))(*full)

    def potential_after(self, last_kick, z, r, g) -> tuple[torch.Tensor, torch.Tensor]:
        """The last half kick and the potential, for the step-size search: ``(r, potential)``."""
        r = r - last_kick * g
        return r, self.graphs.gradient_and_value(z, self.value_invariants)[1]


class _Chains:
    """The batch's state and each chain's adaptation, Pyro's algorithm in lockstep."""

    def __init__(self, graphs: PotentialGraphs, specs: Sequence[ChainSpec], settings: SamplerSettings):
        self.graphs, self.settings = graphs, settings
        self.count, self.width, self.dim = len(specs), graphs.width, graphs.layout.dim
        dtype = graphs.dtype
        lanes = [specs[i] if i < len(specs) else specs[0] for i in range(self.width)]
        self.inputs = tuple(
            torch.stack([lane.inputs[j].to(dtype) for lane in lanes]) for j in range(len(specs[0].inputs))
        )
        self.generators = [torch.Generator().manual_seed(int(spec.seed)) for spec in specs]
        self.errors = [""] * self.count
        iterations = settings.warmup_steps + settings.num_samples
        # A chain's momenta and uniforms for the whole run come first, before the draws
        # whose number depends on the setting (the start's redraws, the step-size
        # searches), so that each stream is one fixed sequence.
        momenta = [torch.randn(iterations, self.dim, generator=g, dtype=dtype) for g in self.generators]
        uniforms = [torch.rand(iterations, generator=g, dtype=dtype) for g in self.generators]
        self.momenta = self._lanes(torch.stack(momenta, dim=1))
        self.uniforms = self._lanes(torch.stack(uniforms, dim=1))
        self.z = torch.zeros(self.width, self.dim, dtype=dtype)
        self._initialise()
        self.inverse_mass = torch.ones(self.width, self.dim, dtype=dtype)
        self._mass_sqrt = torch.ones_like(self.inverse_mass)
        self._mass_sqrt_inverse = torch.ones_like(self.inverse_mass)
        self.step_sizes = [float(settings.step_size)] * self.count
        self.trajectory_length = settings.step_size * settings.num_steps
        self.accepted = torch.zeros(self.width, dtype=torch.long)
        self.divergences = torch.zeros(self.width, dtype=torch.long)

    def _lanes(self, per_chain: torch.Tensor) -> torch.Tensor:
        """``(..., count, ...)`` along dim 1 padded to the width with copies of chain 0."""
        pad = self.width - self.count
        if pad == 0:
            return per_chain.contiguous()
        filler = per_chain[:, :1].expand(per_chain.shape[0], pad, *per_chain.shape[2:])
        return torch.cat([per_chain, filler], dim=1).contiguous()

    def _initialise(self) -> None:
        """Each chain's start: uniform on (-2, 2) unconstrained, redrawn (up to 100 times)
        while its potential or gradient is not finite, as Pyro's ``init_to_uniform``."""
        pending = list(range(self.count))
        for _ in range(MAX_INIT_TRIES):
            for i in pending:
                self.z[i] = torch.rand(self.dim, generator=self.generators[i], dtype=self.z.dtype) * (2 * INIT_RADIUS)
                self.z[i] -= INIT_RADIUS
            self.z[self.count :] = self.z[0]
            self.gradient_invariants, self.value_invariants = self.graphs.invariants(self.z, self.inputs)
            self.g, self.potential = self.graphs.gradient_and_value(self.z, self.value_invariants)
            fine = torch.isfinite(self.potential) & torch.isfinite(self.g).all(-1)
            pending = [i for i in pending if not bool(fine[i])]
            if not pending:
                break
        for i in pending:
            self.errors[i] = "Pyro found no starting point with a finite density for this setting in 100 tries."
        self.compiled = _Compiled(self.graphs, self.gradient_invariants, self.value_invariants)

    def num_steps(self, chain: int) -> int:
        """Pyro's rule (``HMC.num_steps``), or the set number when the page holds it; 0 for a
        chain that has failed, which then stands still (zero steps) while the others run."""
        if self.errors[chain]:
            return 0
        if self.settings.hold_num_steps:
            return self.settings.num_steps
        steps = max(1, int(self.trajectory_length / self.step_sizes[chain]))
        if steps > MAX_TRAJECTORY_STEPS:
            # Pyro would run it, for ever: the batch's trajectories are as long as its longest.
            self.errors[chain] = (
                f"The step size adapted down to {self.step_sizes[chain]:.2g}, so one draw would take {steps:,} "
                f"leapfrog steps (trajectory length {self.trajectory_length:g}). A shorter trajectory (fewer "
                "leapfrog steps or a smaller starting step), more warmup, or NUTS finishes."
            )
            return 0
        return steps

    def schedule(self, counts: Sequence[int], steps: Sequence[float]) -> _Schedule:
        """Each chain's kicks and drifts for trajectories of ``counts`` steps of size ``steps``."""
        lanes = torch.tensor(list(counts) + [0] * (self.width - self.count))
        sizes = torch.tensor(list(steps) + [0.0] * (self.width - self.count), dtype=self.z.dtype)
        longest = max(1, int(lanes.max()))  # a batch of failed chains still takes one (zero) step
        active = torch.arange(longest)[:, None] < lanes[None, :]
        half = torch.where(active, 0.5 * sizes, torch.zeros((), dtype=sizes.dtype))
        kicks = half.clone()
        kicks[1:] = half[:-1] + half[1:]
        drifts = torch.where(active.unsqueeze(-1), sizes[None, :, None] * self.inverse_mass[None], torch.zeros(()))
        return _Schedule(kicks.unsqueeze(-1).contiguous(), drifts.contiguous(), half[-1].unsqueeze(-1).contiguous())

    def set_inverse_mass(self, inverse_mass: torch.Tensor) -> None:
        # Pyro's BlockMassMatrix for a diagonal block: M^(1/2) = 1 / sqrt(M^-1).
        self.inverse_mass = inverse_mass
        self._mass_sqrt_inverse = inverse_mass.sqrt()
        self._mass_sqrt = self._mass_sqrt_inverse.reciprocal()

    @staticmethod
    def kinetic(r_unscaled: torch.Tensor) -> torch.Tensor:
        return 0.5 * (r_unscaled * r_unscaled).sum(-1)

    def transition(self, t: int, schedule: _Schedule) -> torch.Tensor:
        """Iteration ``t``'s trajectory and Metropolis step for every chain; its acceptance probabilities."""
        r_unscaled = self.momenta[t]
        z, r, g = self.compiled.trajectory(schedule, self.z, self._mass_sqrt * r_unscaled, self.g)
        self.z, self.g, self.potential, accept_prob, accepted, delta = self.compiled.end(
            schedule.last_kick,
            r_unscaled,
            self._mass_sqrt_inverse,
            self.z,
            self.g,
            self.potential,
            z,
            r,
            g,
            self.uniforms[t],
        )
        if t >= self.settings.warmup_steps:
            self.accepted += accepted
            self.divergences += delta > MAX_SLICED_ENERGY
        return accept_prob

    def find_reasonable_step_sizes(self) -> None:
        """Pyro's ``_find_reasonable_step_size`` for every chain at once."""
        count, dtype = self.count, self.z.dtype
        steps = list(self.step_sizes)
        direction: list[int | None] = [None] * count
        searching = list(range(count))
        for _ in range(MAX_SEARCH_ROUNDS + 1):
            r_unscaled = torch.zeros(self.width, self.dim, dtype=dtype)
            for i in searching:
                if direction[i] is not None:
                    steps[i] *= 2.0 ** direction[i]
                r_unscaled[i] = torch.randn(self.dim, generator=self.generators[i], dtype=dtype)
            counts = [1 if i in searching else 0 for i in range(count)]
            schedule = self.schedule(counts, steps)
            z, r, g = self.compiled.trajectory(schedule, self.z, self._mass_sqrt * r_unscaled, self.g)
            r, potential = self.compiled.potential_after(schedule.last_kick, z, r, g)
            delta = (self.kinetic(self._mass_sqrt_inverse * r) + potential) - (
                self.kinetic(r_unscaled) + self.potential
            )
            still = []
            for i in searching:
                # NaN compares False: a diverging step reads as "too big", as in Pyro.
                new_direction = 1 if -float(delta[i]) > DIRECTION_THRESHOLD else -1
                if direction[i] is None:
                    direction[i] = new_direction
                    still.append(i)
                elif new_direction == direction[i]:
                    still.append(i)
            searching = still
            if not searching:
                break
        self.step_sizes = [min(max(s, MIN_STEP_SIZE), MAX_STEP_SIZE) for s in steps]


class _Adaptation:
    """Pyro's warmup adaptation (``WarmupAdapter.step``), one dual averaging per chain."""

    def __init__(self, chains: _Chains, settings: SamplerSettings):
        self.chains, self.settings = chains, settings
        adapter = WarmupAdapter(adapt_step_size=settings.adapt_step_size, adapt_mass_matrix=True)
        adapter._warmup_steps = settings.warmup_steps
        self.windows = adapter._build_adaptation_schedule()
        self.window = 0
        self.averaging = [DualAveraging() for _ in range(chains.count)]
        self._welford_reset()
        if settings.adapt_step_size:
            self._reset_step_size()

    def _welford_reset(self) -> None:
        self.n = 0
        self.mean = torch.zeros_like(self.chains.z)
        self.m2 = torch.zeros_like(self.chains.z)

    def _reset_step_size(self) -> None:
        self.chains.find_reasonable_step_sizes()
        for averaging, step in zip(self.averaging, self.chains.step_sizes, strict=True):
            averaging.prox_center = math.log(10 * step)
            averaging.reset()

    def step(self, t: int, accept_prob: torch.Tensor) -> None:
        """After iteration ``t - 1`` (Pyro's counter after its increment)."""
        if t >= self.settings.warmup_steps:
            return
        window = self.windows[self.window]
        last = len(self.windows) - 1
        mass_phase = 0 < self.window < last
        if self.settings.adapt_step_size:
            probabilities = accept_prob[: self.chains.count].tolist()
            for i, (averaging, p) in enumerate(zip(self.averaging, probabilities, strict=True)):
                averaging.step(TARGET_ACCEPT_PROB - p)
                self.chains.step_sizes[i] = math.exp(averaging.get_state()[0])
        if mass_phase:
            self.n += 1
            delta_pre = self.chains.z - self.mean
            self.mean = self.mean + delta_pre / self.n
            self.m2 = self.m2 + delta_pre * (self.chains.z - self.mean)
        if t != window.end:
            return
        if self.window == last:
            self.window += 1
            if self.settings.adapt_step_size:
                for i, averaging in enumerate(self.averaging):
                    self.chains.step_sizes[i] = math.exp(averaging.get_state()[1])
            return
        if self.window > 0 and mass_phase and self.n >= 2:
            # Pyro's WelfordCovariance.get_covariance(regularize=True), diagonal.
            covariance = self.m2 / (self.n - 1)
            self.chains.set_inverse_mass((self.n / (self.n + 5.0)) * covariance + 1e-3 * (5.0 / (self.n + 5.0)))
            self._welford_reset()
            if self.settings.adapt_step_size:
                self._reset_step_size()
        self.window += 1


def input_tensors(model_args: Sequence, observations: Sequence[tuple[str, object]]) -> tuple[torch.Tensor, ...]:
    """A chain's inputs as the batched potential takes them: arguments, then observed values."""
    values = [*model_args, *(value for _, value in observations)]
    tensors = []
    for value in values:
        if isinstance(value, bool | int | str) or value is None:
            raise NotBatchable("a model argument is not a number the batch can vary")
        tensors.append(torch.as_tensor(value, dtype=torch.get_default_dtype()))
    return tuple(tensors)


def prepare(model: Callable, observed: tuple[str, ...], specs: Sequence[ChainSpec]) -> PotentialGraphs:
    """The structure's graphs for this batch; :class:`NotBatchable` when it has none."""
    if not 1 <= len(specs) <= MAX_BATCH:
        raise NotBatchable(f"a batch holds 1 to {MAX_BATCH} chains")
    graphs = graphs_for(model, observed, specs[0].inputs, padded_width(len(specs)))
    if graphs.layout.dim > MAX_DIM:
        raise NotBatchable(f"more than {MAX_DIM} latent values")
    check_batchable(graphs)
    if not graphs.traces:
        _trace_all(graphs, specs[0])
    return graphs


def _trace_all(graphs: PotentialGraphs, spec: ChainSpec) -> None:
    """Trace every chunk length and the Metropolis step now, on a dummy iteration: a run
    then never pauses to trace, and a worker forked after the warm-up has them all."""
    chains = _Chains(graphs, [spec], SamplerSettings(num_samples=1, warmup_steps=0, step_size=0.1, num_steps=1))
    for length in CHUNKS:
        schedule = chains.schedule([length], [0.1])
        z, r, g = chains.compiled.trajectory(schedule, chains.z, chains.momenta[0], chains.g)
    chains.transition(0, chains.schedule([1], [0.1]))


def sample_batch(
    model: Callable,
    observed: tuple[str, ...],
    specs: Sequence[ChainSpec],
    settings: SamplerSettings,
    report: BatchReport | None = None,
    report_every_s: float = 0.15,
) -> list[ChainDraws]:
    """Run every chain in ``specs`` together; each chain's result is that of its run alone.

    :raises NotBatchable: for a model the batched sampler cannot take.
    :raises RunCancelled: when ``report`` returns False.
    """
    graphs = prepare(model, observed, specs)
    # TorchScript's profiling executor guards and re-specialises every call, which on
    # these tensors of 32 numbers doubled the cost of a leapfrog step; the plain executor
    # runs the traced graph as recorded. The guard serialises runs, so the flag (global)
    # is this run's alone until it is restored.
    with torch.no_grad(), torch.jit.optimized_execution(False):
        chains = _Chains(graphs, specs, settings)
        adaptation = _Adaptation(chains, settings)
        warmup, iterations = settings.warmup_steps, settings.warmup_steps + settings.num_samples
        draws = torch.empty(settings.num_samples, chains.width, chains.dim, dtype=chains.z.dtype)
        schedule = None
        last_report = time.perf_counter()
        for t in range(iterations):
            if schedule is None or t <= warmup:
                counts = [chains.num_steps(i) for i in range(chains.count)]
                schedule = chains.schedule(counts, chains.step_sizes)
            accept_prob = chains.transition(t, schedule)
            if t >= warmup:
                draws[t - warmup] = chains.z
            else:
                adaptation.step(t + 1, accept_prob)
            now = time.perf_counter()
            if report is not None and (now - last_report >= report_every_s or t == iterations - 1):
                last_report = now
                done = t + 1
                stage = "sampling" if t >= warmup else "warmup"
                kept = max(0, done - warmup)
                if report(stage, done, lambda kept=kept: _constrained(graphs, draws[:kept], chains.count)) is False:
                    raise RunCancelled("Stopped on request.")
        per_chain = _constrained(graphs, draws, chains.count)
        counts = [chains.num_steps(i) for i in range(chains.count)]
        accepted = chains.accepted.tolist()
        divergences = chains.divergences.tolist()
    return [
        ChainDraws(
            samples=per_chain[i],
            acceptance_rate=accepted[i] / max(1, settings.num_samples),
            divergences=int(divergences[i]),
            step_size=float(chains.step_sizes[i]),
            num_steps=int(counts[i]),
            error=chains.errors[i],
        )
        for i in range(chains.count)
    ]


def _constrained(graphs: PotentialGraphs, flat_draws: torch.Tensor, count: int) -> list[dict[str, np.ndarray]]:
    """Each chain's draws per site, through Pyro's transforms to the constrained space."""
    values = graphs.layout.unflatten(flat_draws[:, :count])
    sites = {
        name: graphs.transforms[name].inv(value) if name in graphs.transforms else value
        for name, value in values.items()
    }
    return [{name: value[:, i].numpy().copy() for name, value in sites.items()} for i in range(count)]
