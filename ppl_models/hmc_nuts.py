"""One NUTS tree, built by Pyro's own ``NUTS`` kernel and recorded leaf by leaf.

A subclass of Pyro's kernel notes every leapfrog leaf it makes, every doubling and every
U-turn check it runs; the tree, the proposal and the stopping rule are Pyro's, untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pyro.infer.mcmc import NUTS

from ppl_models.hmc_phase import Potential

# Pyro's default: at most 2^10 - 1 leapfrog steps in one tree.
MAX_TREE_DEPTH = 10


@dataclass(frozen=True)
class Leaf:
    """One leapfrog state of the tree, ``index`` steps from the start (negative: backwards in time)."""

    index: int
    q: float
    p: float
    energy: float
    doubling: int


@dataclass(frozen=True)
class Doubling:
    """One doubling: 2^depth new leaves at one end, and whether the tree stopped after it.

    :ivar rho_left, rho_right: Pyro's U-turn test on the whole trajectory after this doubling
        (Betancourt's generalised criterion): p_left x rho and p_right x rho with
        rho = p_sum - (p_left + p_right) / 2; a U-turn when either is at most 0. None when
        the tree stopped inside the new half (a sub-tree turned or diverged) before the test.
    """

    depth: int
    direction: int
    leaves: int
    sub_tree_turned: bool
    diverged: bool
    rho_left: float | None
    rho_right: float | None

    @property
    def u_turn(self) -> bool:
        return self.sub_tree_turned or (
            self.rho_left is not None and self.rho_right is not None and min(self.rho_left, self.rho_right) <= 0
        )


@dataclass(frozen=True)
class NutsTree:
    start_q: float
    start_p: float
    start_energy: float
    leaves: tuple[Leaf, ...]
    doublings: tuple[Doubling, ...]
    proposal: float
    max_depth: int

    @property
    def stop_reason(self) -> str:
        last = self.doublings[-1]
        if last.diverged:
            return "divergence"
        if last.u_turn:
            return "u-turn"
        return "max depth"

    @property
    def steps(self) -> int:
        return len(self.leaves)


def _only(values: dict) -> float:
    """The one site's value: Pyro keys momenta by site name, and by tuples of names in the mass matrix's terms."""
    (value,) = values.values()
    return float(value)


class _RecordingNuts(NUTS):
    """Pyro's NUTS, noting its leaves, doublings and U-turn tests as it builds one tree."""

    def __init__(self, potential: Potential, step_size: float, momentum: torch.Tensor | None):
        super().__init__(
            potential_fn=potential, step_size=step_size, adapt_step_size=False, max_tree_depth=MAX_TREE_DEPTH
        )
        self._given_momentum = momentum
        self._nesting = 0
        self._left, self._right = 0, 0
        self._direction = 1
        self.leaves: list[Leaf] = []
        self.doublings: list[Doubling] = []
        self.start_momentum: float | None = None
        self._last_check: tuple[float, float] | None = None

    def _sample_r(self, name):
        r, r_unscaled = super()._sample_r(name)
        if self._given_momentum is not None:
            # The tree from the page's momentum; the random draw above is still made, so the
            # directions that follow come from the same stream as without it.
            r = {name: self._given_momentum.reshape(value.shape) for name, value in r.items()}
            r_unscaled = {name: self._given_momentum.reshape(value.shape) for name, value in r_unscaled.items()}
        self.start_momentum = float(r["weight"])
        return r, r_unscaled

    def _build_basetree(self, z, r, z_grads, log_slice, direction, energy_current):
        tree = super()._build_basetree(z, r, z_grads, log_slice, direction, energy_current)
        if direction == 1:
            self._right += 1
            index = self._right
        else:
            self._left -= 1
            index = self._left
        energy = float(tree.z_proposal_pe) + 0.5 * _only(tree.r_right_unscaled) ** 2
        self.leaves.append(
            Leaf(index, float(tree.z_right["weight"]), float(tree.r_right["weight"]), energy, len(self.doublings))
        )
        return tree

    def _build_tree(self, z, r, z_grads, log_slice, direction, tree_depth, energy_current):
        self._nesting += 1
        try:
            tree = super()._build_tree(z, r, z_grads, log_slice, direction, tree_depth, energy_current)
        finally:
            self._nesting -= 1
        if self._nesting == 0:
            added = sum(1 for leaf in self.leaves if leaf.doubling == len(self.doublings))
            self.doublings.append(
                Doubling(tree_depth, direction, added, bool(tree.turning), bool(tree.diverging), None, None)
            )
        return tree

    def _is_turning(self, r_left_unscaled, r_right_unscaled, r_sum):
        turning = super()._is_turning(r_left_unscaled, r_right_unscaled, r_sum)
        if self._nesting == 0 and self.doublings:
            left, right = _only(r_left_unscaled), _only(r_right_unscaled)
            rho = _only(r_sum) - (left + right) / 2
            last = self.doublings[-1]
            self.doublings[-1] = Doubling(
                last.depth, last.direction, last.leaves, last.sub_tree_turned, last.diverged, left * rho, right * rho
            )
        return turning


def build_tree(potential: Potential, start: float, step_size: float, momentum: float | None) -> NutsTree:
    """One transition of Pyro's NUTS from ``start``; the caller seeds the generator first."""
    given = None if momentum is None else torch.tensor(float(momentum), dtype=torch.float64)
    kernel = _RecordingNuts(potential, step_size, given)
    kernel.initial_params = {"weight": torch.tensor(float(start), dtype=torch.float64)}
    kernel.setup(warmup_steps=0)
    start_z = {"weight": kernel.initial_params["weight"]}
    proposal = kernel.sample(start_z)
    start_potential = float(potential(start_z))
    return NutsTree(
        start_q=float(start),
        start_p=kernel.start_momentum,
        start_energy=start_potential + 0.5 * kernel.start_momentum**2,
        leaves=tuple(sorted(kernel.leaves, key=lambda leaf: leaf.index)),
        doublings=tuple(kernel.doublings),
        proposal=float(proposal["weight"]),
        max_depth=MAX_TREE_DEPTH,
    )
