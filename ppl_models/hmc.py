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
nuts_draw = nuts.sample(dict(nuts.initial_params))["weight"].item()
print("NUTS draw", nuts_draw)
"""


def explore_notebook(query: ScaleSettings, settings: HmcSettings):
    """:func:`explore_code` as a notebook: the trajectory, the chain and the NUTS tree in steps, the page's
    metrics, the trajectory in phase space over the exact contours of H, H along it, and the chain's draws."""
    from ppl_models import notebooks
    from ppl_models.notebooks import Step

    drawn = "drawn from Normal(0, 1) with the seed, as Pyro's first HMC iteration draws it"
    momentum = drawn if settings.momentum is None else f"{settings.momentum:g}, as the page was given"
    steps = [
        Step("import math", "The libraries: Pyro's HMC and NUTS kernels, its model initialisation and its integrator."),
        Step(
            "def scale(",
            "**The model**: the lecture's scale model, a weight from the prior and one noisy measurement of it.",
        ),
        Step(
            "args = (",
            f"**The potential.** Conditioned on the measurement {query.measurement:g}, the posterior's negative log "
            "density U(q) = −log p(q, measurement) is the potential HMC's particle rolls in; `initialize_model` "
            "derives it as Pyro's HMC does. Everything is float64, so an energy error below is leapfrog's.",
        ),
        Step(
            "def energy(",
            "**The energy** H(q, p) = U(q) + p²/2 (unit mass), and the page's step size and number of steps.",
        ),
        Step(
            "# One trajectory",
            f"**One trajectory** from the start {settings.start:g} with the momentum {momentum}: "
            f"{settings.num_steps:,} steps of Pyro's `velocity_verlet`. The exact flow would keep H; the energy "
            "error is what leapfrog changed, and min(1, exp(−ΔH)) the chance Pyro's Metropolis step keeps the end.",
        ),
        Step(
            "# The short chain",
            f"**A short chain**: Pyro's `HMC` kernel without adaptation, {settings.trajectories:,} iterations from the "
            "start, each with a fresh momentum. These are the draws the page's chain shows.",
        ),
    ]
    if settings.momentum is not None:
        steps.append(
            Step(
                "class NUTSFromMomentum",
                "Pyro's NUTS draws its own first momentum; this subclass replaces it by the given one, so the tree "
                "starts where the trajectory above did.",
            )
        )
    steps.append(
        Step(
            "# One NUTS tree",
            "**One NUTS tree** from the same start, momentum and seed: Pyro doubles the trajectory until it turns "
            "back on itself, then draws one of its states.",
        )
    )
    numbers = (
        "The page's metrics: the trajectory's energy error and acceptance probability, the stability limit 2s (s "
        "the exact posterior sd), the chain's acceptance rate, mean and sd beside the exact posterior's, and the "
        "NUTS tree's draw. Probabilities are written as the page writes them, the ends in words.",
        """def probability_text(p):
    if p == 1.0:
        return "1.000"  # H went down: exactly 1, which "> 0.999" would hide
    return "< 0.001" if p < 0.001 else "> 0.999" if p > 0.999 else f"{p:.3f}"


guess, prior_sd, noise_sd = (float(a) for a in args)
precision = 1 / prior_sd**2 + 1 / noise_sd**2
mu = (guess / prior_sd**2 + measurement.item() / noise_sd**2) / precision
s = math.sqrt(1 / precision)
acceptance = min(1.0, math.exp(-energy_error)) if energy_error > -700 else 1.0
error_text = f"{energy_error:.5g}" if math.isfinite(energy_error) else "overflow (infinite)"
print(f"Energy error: {error_text} (after {num_steps:,} steps)")
print(f"Acceptance probability: {probability_text(acceptance)} (min(1, exp(−ΔH)))")
print(f"Stability limit 2s: {2 * s:.3f} (step {step_size:g})")
print(f"Acceptance rate: {kernel.diagnostics()['acceptance rate']:.3f}")
print(f"Chain mean: {draws.mean().item():.3f} (exact {mu:.3f})")
print(f"Chain sd: {(draws.std().item() if len(draws) > 1 else 0.0):.3f} (exact {s:.3f})")
print(f"NUTS draw: {nuts_draw:.4f}")""",
    )
    phase = (
        "**The trajectory in phase space**, weight against momentum, over contours of H. The exact flow keeps H, "
        "so it would stay on the dotted ellipse through the start; leapfrog's path is the line of steps. The same "
        "`velocity_verlet`, one step at a time, gives the same points as the run above; the path stops where the "
        "energy error passes 1000, where Pyro calls a trajectory divergent.",
        """qs, ps, hs = [q0.item()], [p0.item()], [h0]
z_at, r_at = z, r
for _ in range(num_steps):
    z_at, r_at, _, potential_at = velocity_verlet(z_at, r_at, potential_fn, lambda r: r, step_size, 1)
    h = energy(potential_at, r_at)
    if not math.isfinite(h) or abs(h - h0) > 1000:
        break
    qs.append(z_at["weight"].item())
    ps.append(r_at["weight"].item())
    hs.append(h)
lowest = potential_fn({"weight": torch.tensor(mu, dtype=f64)}).item()  # U at the posterior mean
radius = math.sqrt(max(2 * (h0 - lowest), 0.0))
reach = max(4.0, radius) * s
q_grid = np.linspace(min(mu - reach, min(qs)), max(mu + reach, max(qs)), 80)
p_reach = 1.1 * max(3.0, radius, max(abs(p) for p in ps))
p_grid = np.linspace(-p_reach, p_reach, 80)
H = lowest + (q_grid[None, :] - mu) ** 2 / (2 * s**2) + p_grid[:, None] ** 2 / 2
angle = np.linspace(0, 2 * np.pi, 241)
fig = go.Figure()
fig.add_contour(x=q_grid, y=p_grid, z=H, name="contours of H", showlegend=True, showscale=False, ncontours=14,
                contours=dict(coloring="lines"), colorscale=[[0, PRIOR], [1, PRIOR]], line=dict(width=1))
fig.add_scatter(x=mu + s * radius * np.cos(angle), y=radius * np.sin(angle), mode="lines",
                name="exact flow: H = H(start)", line=dict(color=EXACT, width=2.5, dash="dot"))
fig.add_scatter(x=qs, y=ps, mode="lines+markers", name="leapfrog path", line=dict(color="#1f77b4", width=2))
styled(fig, "One trajectory in phase space", "weight q", "momentum p", height=420).show()""",
    )
    energy = (
        "**The energy H along the trajectory**: the energy error is the gap at the end.",
        """fig = go.Figure()
fig.add_scatter(x=list(range(len(hs))), y=hs, mode="lines+markers", name="H after each step", line=dict(color=DRAWN))
fig.add_scatter(x=[0, max(len(hs) - 1, 1)], y=[h0, h0], mode="lines", name="H at the start (kept by the exact flow)",
                line=dict(color=EXACT, dash="dash"))
styled(fig, "The energy H along the trajectory", "leapfrog step", "H", height=300).show()""",
    )
    chain = (
        "**The chain's draws** against the exact posterior.",
        """grid = np.linspace(mu - 4 * s, mu + 4 * s, 300)
fig = go.Figure()
fig.add_histogram(x=draws.numpy(), histnorm="probability density", nbinsx=30, name="samples", marker_color=DRAWN,
                  opacity=0.65)
fig.add_scatter(x=grid, y=normal_pdf(grid, mu, s), mode="lines", name="exact posterior",
                line=dict(color=EXACT, width=2))
styled(fig, "The chain's draws", "weight", "density").show()""",
    )
    return notebooks.notebook(
        title="Inside HMC: one trajectory at a time",
        page="hmc",
        about="It follows one trajectory of Pyro's own leapfrog integrator on the scale posterior, runs a short "
        "chain of Pyro's HMC kernel and builds one NUTS tree.",
        settings=(query, settings),
        script=explore_code(query, settings),
        steps=steps,
        numbers=numbers,
        charts=(phase, energy, chain),
    )
