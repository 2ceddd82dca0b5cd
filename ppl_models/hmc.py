"""Inside HMC: Pyro's leapfrog on the scale model's exact posterior, one trajectory at a time.

The page shows what ``HMC(conditioned_scale, step_size, num_steps)`` does in one iteration,
with Pyro's own parts: the potential ``initialize_model`` derives from the conditioned model,
the integrator ``pyro.ops.integrator.velocity_verlet``, the momentum and the Metropolis
draw in the order Pyro's ``HMC.sample`` makes them (so the short chain is Pyro's chain, draw
for draw: tests/test_hmc.py), and one tree of Pyro's ``NUTS`` (:mod:`ppl_models.hmc_nuts`).
The posterior is Normal(mu, s), so :mod:`ppl_models.hmc_phase` knows what every trajectory
must do, and the page says it beside what Pyro did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions.testing.fakes import NonreparameterizedNormal
from pyro.ops.integrator import potential_grad, velocity_verlet

from ppl_models.engine import diagnostics
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.hmc_nuts import NutsTree, build_tree
from ppl_models.hmc_phase import (
    PYRO_DIVERGENCE_ENERGY,
    Oscillator,
    Potential,
    Resonance,
    pyro_potential,
    resonance,
)
from ppl_models.scale import ScaleSettings

MAX_STEP_SIZE = 50.0
MAX_STEPS = 1000
MAX_TRAJECTORIES = 2000
MAX_ABS_START = 1000.0
MAX_ABS_MOMENTUM = 100.0
# Pyro evaluates its potential through a model trace at every leapfrog step (about half a
# millisecond here): the short chain gets this many steps in all.
MAX_CHAIN_LEAPFROG = 20_000
# Leapfrog steps between progress reports (each a chance to Stop), whatever the trajectory length.
STEPS_PER_REPORT = 200


@dataclass(frozen=True)
class HmcSettings:
    """One HMC iteration's settings, and the short chain's length.

    :ivar start: the weight the trajectory (and the chain) starts from.
    :ivar momentum: the trajectory's initial momentum; None draws it with ``seed``, as Pyro
        would for its first iteration.
    """

    step_size: float = 0.9
    num_steps: int = 4
    start: float = 10.0
    momentum: float | None = None
    trajectories: int = 200
    seed: int = 0

    def check(self) -> None:
        if not (math.isfinite(self.step_size) and self.step_size > 0):
            raise InferenceError("The step size must be a positive number: a step of 0 never moves.")
        if self.step_size > MAX_STEP_SIZE:
            raise InferenceError(f"The step size may be at most {MAX_STEP_SIZE:g}.")
        if not 1 <= self.num_steps <= MAX_STEPS:
            raise InferenceError(f"A trajectory takes 1 to {MAX_STEPS:,} leapfrog steps.")
        if not (math.isfinite(self.start) and abs(self.start) <= MAX_ABS_START):
            raise InferenceError(f"The start must be a finite weight between -{MAX_ABS_START:g} and {MAX_ABS_START:g}.")
        if self.momentum is not None and not (math.isfinite(self.momentum) and abs(self.momentum) <= MAX_ABS_MOMENTUM):
            raise InferenceError(
                f"The momentum must be a finite number between -{MAX_ABS_MOMENTUM:g} and {MAX_ABS_MOMENTUM:g}."
            )
        if not 1 <= self.trajectories <= MAX_TRAJECTORIES:
            raise InferenceError(f"The chain takes 1 to {MAX_TRAJECTORIES:,} trajectories.")

    @property
    def chain_leapfrog_steps(self) -> int:
        return self.trajectories * self.num_steps


@dataclass(frozen=True)
class Trajectory:
    """One leapfrog trajectory: the state after each step, from the start (index 0).

    Recording stops at the first state whose energy is not a finite number: past it the
    integrator has overflowed and Pyro would see ``inf`` or ``nan``.
    """

    q: np.ndarray
    p: np.ndarray
    energy: np.ndarray
    energy_error: float  # H at the end minus H at the start; inf when it overflowed
    acceptance: float  # min(1, exp(-energy error)), Pyro's accept_prob
    momentum_drawn: bool
    overflowed_at: int | None  # the step at which H stopped being finite

    @property
    def potential(self) -> np.ndarray:
        return self.energy - self.p**2 / 2

    @property
    def diverges(self) -> bool:
        """Pyro counts a divergence when the energy error passes its threshold (or is not a number)."""
        return not self.energy_error <= PYRO_DIVERGENCE_ENERGY


@dataclass(frozen=True)
class Chain:
    """Successive HMC iterations from the start, momentum redrawn each time: Pyro's chain."""

    draws: np.ndarray  # the state after each iteration
    proposals: np.ndarray  # each trajectory's end
    accepted: np.ndarray  # bool
    energy_errors: np.ndarray
    acceptance: np.ndarray  # each iteration's accept probability
    summary: diagnostics.SiteSummary
    advice: tuple[diagnostics.Advice, ...]

    @property
    def acceptance_rate(self) -> float:
        return float(self.accepted.mean())

    @property
    def divergences(self) -> int:
        return int(np.sum(~(self.energy_errors <= PYRO_DIVERGENCE_ENERGY)))


@dataclass(frozen=True)
class HmcExplored:
    oscillator: Oscillator
    trajectory: Trajectory
    resonance: Resonance
    tree: NutsTree
    chain: Chain | None
    chain_problem: str  # why there is no chain; empty when there is one


def _energy(potential: torch.Tensor, momentum: dict[str, torch.Tensor]) -> float:
    return float(potential) + 0.5 * float(momentum["weight"]) ** 2


def _draw_momentum(like: torch.Tensor) -> torch.Tensor:
    """Pyro's draw, as ``HMC._sample_r`` makes it: one standard normal per unit of mass, shaped to the site."""
    size = max(1, like.numel())
    draw = NonreparameterizedNormal(like.new_zeros(size), like.new_ones(size)).sample()
    return draw.reshape(like.shape)


def _unit_mass_kinetic_grad(r: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return dict(r)


def _accept_probability(energy_error: float) -> float:
    if math.isnan(energy_error):
        return 0.0
    return min(1.0, math.exp(-energy_error)) if energy_error > -700 else 1.0


def integrate(potential: Potential, start: float, momentum: torch.Tensor, step_size: float, num_steps: int):
    """Leapfrog ``num_steps`` from (start, momentum) with Pyro's integrator, one step at a time."""
    z = {"weight": torch.tensor(float(start), dtype=torch.float64)}
    r = {"weight": momentum.reshape(())}
    with pyro.validation_enabled(False), torch.no_grad():
        start_potential = potential(z)
    h0 = _energy(start_potential, r)
    qs, ps, hs = [float(start)], [float(r["weight"])], [h0]
    grads = None
    overflowed_at = None
    # Pyro's HMC turns argument checks off where NaNs are expected (warmup); a trajectory past
    # the stability limit overflows on purpose here.
    with pyro.validation_enabled(False):
        for step in range(1, num_steps + 1):
            z, r, grads, potential_energy = velocity_verlet(
                z, r, potential, _unit_mass_kinetic_grad, step_size, 1, z_grads=grads
            )
            h = _energy(potential_energy, r)
            if not math.isfinite(h):
                overflowed_at = step
                break
            qs.append(float(z["weight"]))
            ps.append(float(r["weight"]))
            hs.append(h)
    error = math.inf if overflowed_at is not None else hs[-1] - h0
    return Trajectory(np.array(qs), np.array(ps), np.array(hs), error, _accept_probability(error), False, overflowed_at)


def sample_chain(
    potential: Potential,
    oscillator: Oscillator,
    settings: HmcSettings,
    progress: ProgressCallback | None = None,
) -> Chain:
    """``settings.trajectories`` iterations of Pyro's ``HMC.sample`` without adaptation: momentum,
    trajectory, Metropolis draw, in Pyro's order from one seeded generator."""
    z = {"weight": torch.tensor(float(settings.start), dtype=torch.float64)}
    with pyro.validation_enabled(False):
        grads, current_potential = potential_grad(potential, z)
    draws, proposals, accepted, errors, probabilities = [], [], [], [], []
    report_every = max(1, STEPS_PER_REPORT // settings.num_steps)
    with pyro.validation_enabled(False):
        for t in range(settings.trajectories):
            if progress is not None and t % report_every == 0:
                partial = {"weight": np.array(draws)} if draws else {}
                if progress(Progress("sampling", t, settings.trajectories, partial=partial)) is False:
                    raise RunCancelled("Stopped on request.")
            r = {"weight": _draw_momentum(z["weight"])}
            energy_current = _energy(current_potential, r)
            z_new, r_new, grads_new, potential_new = velocity_verlet(
                z, r, potential, _unit_mass_kinetic_grad, settings.step_size, settings.num_steps, z_grads=grads
            )
            delta = _energy(potential_new, r_new) - energy_current
            delta = math.inf if math.isnan(delta) else delta
            accept_prob = torch.tensor(_accept_probability(delta), dtype=torch.float64)
            rand = dist.Uniform(torch.zeros_like(accept_prob), torch.ones_like(accept_prob)).sample()
            took = bool(rand < accept_prob)
            if took:
                z, grads, current_potential = z_new, grads_new, potential_new
            draws.append(float(z["weight"]))
            proposals.append(float(z_new["weight"]))
            accepted.append(took)
            errors.append(delta)
            probabilities.append(float(accept_prob))
    draws_array = np.array(draws)
    summary = diagnostics.summarize(draws_array.reshape(1, -1))
    advice = _chain_advice(np.array(accepted), np.array(errors), oscillator, settings)
    advice += diagnostics.advise_against_exact(
        summary.mean, summary.sd, oscillator.mean, oscillator.sd, summary.mcse, summary.ess
    )
    return Chain(
        draws_array,
        np.array(proposals),
        np.array(accepted),
        np.array(errors),
        np.array(probabilities),
        summary,
        tuple(advice),
    )


def _chain_advice(
    accepted: np.ndarray, errors: np.ndarray, oscillator: Oscillator, settings: HmcSettings
) -> list[diagnostics.Advice]:
    advice = []
    divergent = int(np.sum(~(errors <= PYRO_DIVERGENCE_ENERGY)))
    limit = f"below this posterior's stability limit {oscillator.stability_limit:.3f}"
    if divergent:
        advice.append(
            diagnostics.Advice(
                f"{divergent:,} of {len(errors):,} trajectories diverged (energy error above "
                f"{PYRO_DIVERGENCE_ENERGY:g}).",
                f"A step size {limit} keeps the trajectories on the posterior.",
            )
        )
    if accepted.mean() < diagnostics.LOW_ACCEPTANCE:
        advice.append(
            diagnostics.Advice(
                f"Only {accepted.mean():.0%} of the proposals were accepted: the chain mostly stays where it is.",
                "A smaller step size makes smaller energy errors, so more proposals are kept.",
            )
        )
    return advice


def explore(query: ScaleSettings, settings: HmcSettings, progress: ProgressCallback | None = None) -> HmcExplored:
    """One trajectory, its resonance, one NUTS tree and a short chain, all from the same seed.

    With the momentum left to the seed, the trajectory is the chain's first proposal and the
    NUTS tree starts from the same momentum: all three are Pyro's first iteration from ``start``.
    """
    query.check()
    settings.check()
    # Pyro's handler stack is one per process, and a session is a thread: alone, or not at all.
    with inference_guard(settings.seed):
        return _explore(query, settings, progress)


def _explore(query: ScaleSettings, settings: HmcSettings, progress: ProgressCallback | None) -> HmcExplored:
    potential = pyro_potential(query)
    oscillator = Oscillator.of(query, potential)
    start = torch.tensor(float(settings.start), dtype=torch.float64)

    pyro.set_rng_seed(settings.seed)
    if settings.momentum is None:
        momentum = _draw_momentum(start)
    else:
        momentum = torch.tensor(float(settings.momentum), dtype=torch.float64)
    trajectory = integrate(potential, settings.start, momentum, settings.step_size, settings.num_steps)
    if settings.momentum is None:
        trajectory = Trajectory(**{**trajectory.__dict__, "momentum_drawn": True})

    pyro.set_rng_seed(settings.seed)
    tree = build_tree(potential, settings.start, settings.step_size, settings.momentum)

    chain, problem = None, ""
    if settings.chain_leapfrog_steps > MAX_CHAIN_LEAPFROG:
        problem = (
            f"The chain would take {settings.trajectories:,} trajectories of {settings.num_steps:,} steps, "
            f"{settings.chain_leapfrog_steps:,} leapfrog steps; one page may take {MAX_CHAIN_LEAPFROG:,} on the "
            "shared server. Fewer trajectories or fewer steps per trajectory will run."
        )
    else:
        pyro.set_rng_seed(settings.seed)
        chain = sample_chain(potential, oscillator, settings, progress)
    return HmcExplored(
        oscillator,
        trajectory,
        resonance(oscillator, settings.step_size, settings.num_steps),
        tree,
        chain,
        problem,
    )


def explore_code(query: ScaleSettings, settings: HmcSettings) -> str:
    """A plain script of the page's three computations, with Pyro's own parts, printing its numbers."""
    f = repr
    if settings.momentum is None:
        momentum = (
            "# Drawn as Pyro's HMC draws its first momentum: Normal(0, 1) from the seeded generator.\n"
            "p0 = dist.Normal(torch.zeros(1, dtype=f64), torch.ones(1, dtype=f64)).sample().reshape(())"
        )
    else:
        momentum = f"p0 = torch.tensor({f(float(settings.momentum))}, dtype=f64)"
    nuts_class, nuts_given = "NUTS", ""
    if settings.momentum is not None:
        nuts_class = "NUTSFromMomentum"
        nuts_given = """

class NUTSFromMomentum(NUTS):
    \"\"\"Pyro's NUTS, its first momentum replaced by p0 (the draw is still made, as the page does).\"\"\"

    def _sample_r(self, name):
        r, r_unscaled = super()._sample_r(name)
        return ({k: p0.reshape(v.shape) for k, v in r.items()},
                {k: p0.reshape(v.shape) for k, v in r_unscaled.items()})
"""
    return f"""import math

import torch
import pyro
import pyro.distributions as dist
from pyro.infer.mcmc import HMC, NUTS
from pyro.infer.mcmc.util import initialize_model
from pyro.ops.integrator import velocity_verlet

f64 = torch.float64  # so the energy errors are leapfrog's, not round-off's


def scale(guess, prior_sd, noise_sd):
    weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
    return pyro.sample("measurement", dist.Normal(weight, noise_sd))


args = (torch.tensor({f(float(query.guess))}, dtype=f64), torch.tensor({f(float(query.prior_sd))}, dtype=f64),
        torch.tensor({f(float(query.noise_sd))}, dtype=f64))
measurement = torch.tensor({f(float(query.measurement))}, dtype=f64)
conditioned_scale = pyro.condition(scale, data={{"measurement": measurement}})
# Pyro's potential U(weight) = -log p(weight, measurement), as its HMC derives it.
_, potential_fn, _, _ = initialize_model(conditioned_scale, model_args=args)
# A trajectory past the stability limit overflows on purpose; Pyro's HMC also turns the
# argument checks off where that is expected.
pyro.enable_validation(False)


def energy(potential, r):
    return potential.item() + 0.5 * r["weight"].item() ** 2


step_size, num_steps = {f(float(settings.step_size))}, {settings.num_steps}

# One trajectory with Pyro's integrator, unit mass.
pyro.set_rng_seed({settings.seed})
q0 = torch.tensor({f(float(settings.start))}, dtype=f64)
{momentum}
z, r = {{"weight": q0}}, {{"weight": p0}}
h0 = energy(potential_fn(z), r)
z_end, r_end, _, potential_end = velocity_verlet(z, r, potential_fn, lambda r: r, step_size, num_steps)
energy_error = energy(potential_end, r_end) - h0
if math.isnan(energy_error):
    energy_error = math.inf
print("energy error", energy_error)
print("acceptance probability", min(1.0, math.exp(-energy_error)) if energy_error > -700 else 1.0)

# The short chain: Pyro's HMC kernel, no adaptation, {settings.trajectories} iterations from q0.
kernel = HMC(potential_fn=potential_fn, step_size=step_size, num_steps=num_steps, adapt_step_size=False)
kernel.initial_params = {{"weight": q0}}
kernel.setup(warmup_steps=0)
pyro.set_rng_seed({settings.seed})
state, draws = dict(kernel.initial_params), []
for _ in range({settings.trajectories}):
    state = kernel.sample(state)
    draws.append(state["weight"].item())
draws = torch.tensor(draws, dtype=f64)
print("chain mean", draws.mean().item(), "sd", draws.std().item() if len(draws) > 1 else 0.0,
      "acceptance rate", kernel.diagnostics()["acceptance rate"])
{nuts_given}
# One NUTS tree from the same start, and momentum, and seed.
nuts = {nuts_class}(potential_fn=potential_fn, step_size=step_size, adapt_step_size=False)
nuts.initial_params = {{"weight": q0}}
nuts.setup(warmup_steps=0)
pyro.set_rng_seed({settings.seed})
print("NUTS draw", nuts.sample(dict(nuts.initial_params))["weight"].item())
"""
