"""The scale posterior as a Hamiltonian system: its potential from Pyro, and what leapfrog does to it.

The scale model's posterior is Normal(mu, s), so with unit mass (Pyro's inverse mass matrix
before adaptation) H(q, p) = U(q) + p^2 / 2 is a harmonic oscillator: the exact flow turns
(q - mu, s p) around a circle once every 2 pi s of time. Leapfrog with step e turns it by
theta = arccos(1 - e^2 / (2 s^2)) a step, which exists only for e < 2 s: that is the stability
limit, and past it the energy error grows without bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pyro
import torch
from pyro.infer.mcmc.util import initialize_model

from ppl_models import scale
from ppl_models.scale import ScaleSettings

# The energy error above which Pyro's HMC and NUTS count a divergence (their
# ``_max_sliced_energy``; tests/test_hmc.py reads it from Pyro's kernels).
PYRO_DIVERGENCE_ENERGY = 1000.0
# A trajectory "returns near its start" when its turns are this close to a whole number:
# successive draws then correlate above cos(2 pi x 0.1) = 0.81.
NEAR_TURN = 0.1

Potential = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def model_args(query: ScaleSettings) -> tuple[torch.Tensor, ...]:
    """The model's arguments in float64, so the energy errors shown are leapfrog's, not round-off's."""
    return tuple(torch.tensor(float(v), dtype=torch.float64) for v in (query.guess, query.prior_sd, query.noise_sd))


def conditioned(query: ScaleSettings) -> Callable:
    return pyro.condition(
        scale.scale, data={"measurement": torch.tensor(float(query.measurement), dtype=torch.float64)}
    )


def pyro_potential(query: ScaleSettings) -> Potential:
    """U(weight) = -log p(weight, measurement), exactly as Pyro's HMC derives it from the conditioned model.

    ``initialize_model`` also draws an initial point, from the global generator: callers seed after.
    """
    _, potential_fn, _, _ = initialize_model(conditioned(query), model_args=model_args(query))
    return potential_fn


@dataclass(frozen=True)
class Oscillator:
    """What the posterior's shape says about any trajectory on it."""

    mean: float
    sd: float
    lowest_potential: float  # U at the mean, Pyro's constant included

    @classmethod
    def of(cls, query: ScaleSettings, potential: Potential) -> Oscillator:
        exact = scale.exact_posterior(query)
        with torch.no_grad():
            lowest = float(potential({"weight": torch.tensor(exact.mean, dtype=torch.float64)}))
        return cls(exact.mean, exact.sd, lowest)

    def potential(self, q):
        return self.lowest_potential + (q - self.mean) ** 2 / (2 * self.sd**2)

    def energy(self, q, p):
        return self.potential(q) + p**2 / 2

    @property
    def stability_limit(self) -> float:
        return 2 * self.sd

    @property
    def period(self) -> float:
        """Time for the exact flow to go once around: 2 pi s."""
        return 2 * math.pi * self.sd

    def turn_per_step(self, step_size: float) -> float | None:
        """The angle leapfrog turns the phase point each step; None when it is unstable (no rotation)."""
        cosine = 1 - step_size**2 / (2 * self.sd**2)
        return math.acos(cosine) if cosine > -1 else None


@dataclass(frozen=True)
class Resonance:
    """The trajectory length against the posterior's period, and what it does to successive draws.

    :ivar exact_turns: (step x steps) / (2 pi s): turns of the exact flow in one trajectory.
    :ivar leapfrog_turns: turns leapfrog actually makes at this step size (None when unstable).
    :ivar draw_correlation: cos(steps x theta): how a draw's distance from the mean carries to
        the next when every proposal is accepted (leapfrog's position map on this posterior).
    """

    length: float
    period: float
    exact_turns: float
    leapfrog_turns: float | None
    draw_correlation: float | None

    @property
    def returns_near_start(self) -> bool:
        turns = self.leapfrog_turns
        return turns is not None and turns >= 1 - NEAR_TURN and _off_whole(turns) <= NEAR_TURN

    @property
    def lands_near_mirror(self) -> bool:
        """Half a turn (or k and a half): each draw lands near its reflection through the mean."""
        turns = self.leapfrog_turns
        return turns is not None and abs(_off_whole(turns - 0.5)) <= NEAR_TURN

    @property
    def too_short(self) -> bool:
        turns = self.leapfrog_turns
        return turns is not None and turns < NEAR_TURN


def _off_whole(turns: float) -> float:
    return abs(turns - round(turns))


def resonance(oscillator: Oscillator, step_size: float, num_steps: int) -> Resonance:
    theta = oscillator.turn_per_step(step_size)
    length = step_size * num_steps
    return Resonance(
        length=length,
        period=oscillator.period,
        exact_turns=length / oscillator.period,
        leapfrog_turns=None if theta is None else num_steps * theta / (2 * math.pi),
        draw_correlation=None if theta is None else math.cos(num_steps * theta),
    )
