"""The inside-HMC page's figures: phase space, the potential well, energy along a path, the chain, a NUTS tree.

Pure plotly builders like :mod:`ui.charts`, under the same two rules (series told apart by
more than colour; a summary with the key numbers in every figure); tests/test_charts.py
checks the builders of both modules.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ppl_models.hmc import Chain, Trajectory
from ppl_models.hmc_nuts import NutsTree
from ppl_models.hmc_phase import PYRO_DIVERGENCE_ENERGY, Oscillator
from ui.charts import EXACT_COLOUR, PRIOR_COLOUR, _count, _layout, _n, _style, _summarise
from ui.figure_cache import shared_figure

PATH_COLOUR = "#1f77b4"
PARTICLE_COLOUR = "#d62728"
REJECTED_COLOUR = "#7f7f7f"
# One per doubling of the deepest tree Pyro builds (10); none is the start's, the draw's or the ends' mark.
DOUBLING_SYMBOLS = (
    "circle",
    "diamond",
    "triangle-up",
    "triangle-down",
    "cross",
    "x",
    "pentagon",
    "hexagon",
    "triangle-left",
    "triangle-right",
)


def _shown(trajectory: Trajectory) -> np.ndarray:
    """The states a chart frames: those before the energy error passed Pyro's divergence threshold."""
    sane = np.abs(trajectory.energy - trajectory.energy[0]) <= PYRO_DIVERGENCE_ENERGY
    return sane if sane.any() else np.ones_like(sane)


def _radius(oscillator: Oscillator, trajectory: Trajectory) -> float:
    """The exact flow's ellipse through the start: |p| reaches this, |q - mean| this times s."""
    return float(np.sqrt(max(2 * (trajectory.energy[0] - oscillator.lowest_potential), 0.0)))


def _window(oscillator: Oscillator, trajectory: Trajectory) -> tuple[tuple[float, float], tuple[float, float]]:
    """The view: the posterior's +-4 sd, the exact ellipse, and the path until it diverged."""
    shown = _shown(trajectory)
    qs, ps = trajectory.q[shown], trajectory.p[shown]
    reach = _radius(oscillator, trajectory)
    q_reach = max(4.0, reach) * oscillator.sd
    q_low = min(oscillator.mean - q_reach, float(np.min(qs)))
    q_high = max(oscillator.mean + q_reach, float(np.max(qs)))
    p_reach = max(3.0, reach, float(np.max(np.abs(ps))))
    q_pad = 0.05 * (q_high - q_low)
    return (q_low - q_pad, q_high + q_pad), (-1.1 * p_reach, 1.1 * p_reach)


@shared_figure
def phase_portrait(oscillator: Oscillator, trajectory: Trajectory, at: int) -> go.Figure:
    """The leapfrog path in (weight, momentum) over contours of H, up to step ``at``."""
    (q_low, q_high), (p_low, p_high) = _window(oscillator, trajectory)
    q_grid, p_grid = np.linspace(q_low, q_high, 80), np.linspace(p_low, p_high, 80)
    energy = oscillator.energy(q_grid[None, :], p_grid[:, None])
    fig = go.Figure()
    fig.add_contour(
        x=q_grid,
        y=p_grid,
        z=energy,
        name="contours of H",
        showlegend=True,
        showscale=False,
        contours=dict(coloring="lines"),
        colorscale=[[0, PRIOR_COLOUR], [1, PRIOR_COLOUR]],
        line=dict(width=1),
        ncontours=14,
        hoverinfo="skip",
    )
    # The exact flow keeps H: the trajectory should stay on this ellipse.
    angle = np.linspace(0, 2 * np.pi, 241)
    radius = _radius(oscillator, trajectory)
    fig.add_scatter(
        x=oscillator.mean + oscillator.sd * radius * np.cos(angle),
        y=radius * np.sin(angle),
        mode="lines",
        name="exact flow: H = H(start)",
        line=dict(color=EXACT_COLOUR, width=2.5, dash="dot"),
    )
    upto = slice(0, at + 1)
    fig.add_scatter(
        x=trajectory.q[upto],
        y=trajectory.p[upto],
        mode="lines+markers",
        name="leapfrog path",
        line=dict(color=PATH_COLOUR, width=2),
        marker=dict(symbol="circle", size=7),
    )
    fig.add_scatter(
        x=[trajectory.q[at]],
        y=[trajectory.p[at]],
        mode="markers",
        name=f"step {at}",
        marker=dict(symbol="diamond", size=15, color=PARTICLE_COLOUR, line=dict(width=1, color="white")),
    )
    fig.update_xaxes(range=[q_low, q_high])
    fig.update_yaxes(range=[p_low, p_high])
    summary = (
        f"Phase space, weight against momentum: the leapfrog path at step {at} of {len(trajectory.q) - 1} is at "
        f"weight {_n(trajectory.q[at])}, momentum {_n(trajectory.p[at])}; the exact flow would keep to the ellipse "
        f"H = {_n(trajectory.energy[0])} around the posterior mean {_n(oscillator.mean)}."
    )
    return _summarise(_layout(fig, "One trajectory in phase space", "weight q", "momentum p", height=420), summary)


@shared_figure
def potential_well(oscillator: Oscillator, trajectory: Trajectory, at: int) -> go.Figure:
    """U(q) from Pyro, the particle on it at step ``at``, and its total energy as a level above the well."""
    shown = _shown(trajectory)
    (q_low, q_high), _ = _window(oscillator, trajectory)
    grid = np.linspace(q_low, q_high, 300)
    well = oscillator.potential(grid)
    fig = go.Figure()
    fig.add_scatter(x=grid, y=well, mode="lines", name="U(q) = -log p(q, measurement)", line=dict(color=EXACT_COLOUR))
    fig.add_scatter(
        x=[q_low, q_high],
        y=[trajectory.energy[at]] * 2,
        mode="lines",
        name="total energy H at this step",
        line=dict(color=PRIOR_COLOUR, dash="dash"),
    )
    fig.add_scatter(
        x=[trajectory.q[at]],
        y=[trajectory.potential[at]],
        mode="markers",
        name=f"particle at step {at}",
        marker=dict(symbol="diamond", size=15, color=PARTICLE_COLOUR, line=dict(width=1, color="white")),
    )
    top = max(float(trajectory.energy[shown].max()), float(oscillator.potential(oscillator.mean + 3 * oscillator.sd)))
    spread = top - oscillator.lowest_potential
    fig.update_yaxes(range=[oscillator.lowest_potential - 0.05 * spread, top + 0.15 * spread])
    fig.update_xaxes(range=[q_low, q_high])
    summary = (
        f"The potential U(q) is lowest, {_n(oscillator.lowest_potential)}, at the posterior mean "
        f"{_n(oscillator.mean)}; at step {at} the particle is at weight {_n(trajectory.q[at])} with U = "
        f"{_n(trajectory.potential[at])} and total energy {_n(trajectory.energy[at])}."
    )
    return _summarise(_layout(fig, "The particle in the potential well", "weight q", "energy", height=340), summary)


@shared_figure
def energy_along_path(trajectory: Trajectory, at: int) -> go.Figure:
    """H after each leapfrog step against H at the start: the energy error is the gap at the end."""
    steps = np.arange(len(trajectory.energy))
    fig = go.Figure()
    fig.add_scatter(
        x=steps,
        y=trajectory.energy,
        mode="lines+markers",
        name="H after each step",
        line=dict(color=PATH_COLOUR),
        marker=dict(symbol="circle", size=7),
    )
    fig.add_scatter(
        x=[0, max(len(steps) - 1, 1)],
        y=[trajectory.energy[0]] * 2,
        mode="lines",
        name="H at the start (kept by the exact flow)",
        line=dict(color=EXACT_COLOUR, dash="dash"),
    )
    fig.add_scatter(
        x=[at],
        y=[trajectory.energy[at]],
        mode="markers",
        name=f"step {at}",
        marker=dict(symbol="diamond", size=15, color=PARTICLE_COLOUR),
    )
    summary = (
        f"H starts at {_n(trajectory.energy[0])} and is {_n(trajectory.energy[-1])} after "
        f"{_count(len(steps) - 1, 'step')}: an energy error of {_n(trajectory.energy[-1] - trajectory.energy[0])}."
    )
    return _summarise(_layout(fig, "The energy H along the trajectory", "leapfrog step", "H", height=300), summary)


@shared_figure
def chain_moves(chain: Chain) -> go.Figure:
    """Each iteration's proposal, accepted or rejected, and where the chain is after it."""
    steps = np.arange(1, len(chain.draws) + 1)
    fig = go.Figure()
    fig.add_scatter(
        x=steps,
        y=chain.draws,
        mode="lines",
        name="the chain (state after each iteration)",
        line=dict(color=PATH_COLOUR),
    )
    for took, name, colour, symbol in (
        (True, "proposal accepted", "#2ca02c", "circle"),
        (False, "proposal rejected", REJECTED_COLOUR, "x"),
    ):
        chosen = chain.accepted == took
        fig.add_scatter(
            x=steps[chosen],
            y=chain.proposals[chosen],
            mode="markers",
            name=name,
            marker=dict(symbol=symbol, size=7, color=colour),
        )
    # The view frames the chain: a divergent proposal, thousands of sds away, would flatten it to a line.
    low, high = float(chain.draws.min()), float(chain.draws.max())
    pad = max(high - low, 1e-6)
    fig.update_yaxes(range=[low - 0.5 * pad, high + 0.5 * pad])
    summary = (
        f"{_count(len(steps), 'iteration')}: {int(chain.accepted.sum()):,} proposals accepted, "
        f"{int((~chain.accepted).sum()):,} rejected; the chain's mean is {_n(chain.summary.mean)}."
    )
    return _summarise(_layout(fig, "The chain, trajectory by trajectory", "iteration", "weight", height=320), summary)


@shared_figure
def nuts_tree(tree: NutsTree) -> go.Figure:
    """The tree's leaves by their place on the trajectory (steps from the start), one series per doubling."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0],
        y=[tree.start_q],
        mode="markers",
        name="start",
        marker=dict(symbol="square", size=12, color=PRIOR_COLOUR),
    )
    for number, doubling in enumerate(tree.doublings):
        leaves = [leaf for leaf in tree.leaves if leaf.doubling == number]
        colour, _, _, _ = _style(number)
        symbol = DOUBLING_SYMBOLS[number % len(DOUBLING_SYMBOLS)]
        way = "forward" if doubling.direction == 1 else "backward"
        fig.add_scatter(
            x=[leaf.index for leaf in leaves],
            y=[leaf.q for leaf in leaves],
            mode="markers",
            name=f"doubling {number + 1}: {_count(doubling.leaves, 'step')} {way}",
            marker=dict(symbol=symbol, size=10, color=colour),
        )
    ends = [min(tree.leaves, key=lambda leaf: leaf.index), max(tree.leaves, key=lambda leaf: leaf.index)]
    if tree.stop_reason == "u-turn":
        fig.add_scatter(
            x=[leaf.index for leaf in ends],
            y=[leaf.q for leaf in ends],
            mode="markers",
            name="the ends where the U-turn test fired",
            marker=dict(symbol="circle-open", size=22, color=PARTICLE_COLOUR, line=dict(width=3)),
        )
    fig.add_scatter(
        x=[next(leaf.index for leaf in tree.leaves if leaf.q == tree.proposal)]
        if any(leaf.q == tree.proposal for leaf in tree.leaves)
        else [0],
        y=[tree.proposal],
        mode="markers",
        name="the draw NUTS returns",
        marker=dict(symbol="star", size=16, color=EXACT_COLOUR),
    )
    summary = (
        f"NUTS built {_count(len(tree.doublings), 'doubling')}, {_count(tree.steps, 'leapfrog step')}, and stopped "
        f"by {tree.stop_reason}; it returns weight {_n(tree.proposal)}, from a start at {_n(tree.start_q)}."
    )
    return _summarise(
        _layout(fig, "One NUTS tree, built by doubling", "leapfrog steps from the start", "weight q", height=360),
        summary,
    )
