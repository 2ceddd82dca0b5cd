"""The inside-HMC page's explanations: each says, in words and numbers, what the posterior's shape makes of a setting.

The numbers come from :mod:`ppl_models.hmc_phase` (what must happen on a normal posterior)
beside what Pyro did (:mod:`ppl_models.hmc`); the page file only lays these out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import hmc
from ppl_models.hmc_nuts import NutsTree
from ppl_models.hmc_phase import PYRO_DIVERGENCE_ENERGY, Oscillator, Resonance
from ppl_models.scale import ScaleSettings, exact_posterior
from ui import charts, hmc_charts, panels
from ui.chart_view import chart
from ui.numbers import probability_text
from ui.scale_controls import MODEL_CONTROLS

# The scale page shows resonance's damage after a long warmup (tests/test_scale_model.py).
SCALE_PAGE_WARMUP = 300


def energy_text(value: float) -> str:
    return "overflow (infinite)" if not np.isfinite(value) else f"{value:.5g}"


def acceptance_text(value: float) -> str:
    # Exactly 1 whenever H went down: "> 0.999" would hide that.
    return "1.000" if value == 1.0 else probability_text(value)


def _plain_metric(column, label: str, value: str, note: str, help: str | None = None) -> None:
    column.metric(label, value, note, delta_color="off", delta_arrow="off", help=help)


def key_numbers(explored: hmc.HmcExplored, settings: hmc.HmcSettings) -> None:
    error_col, accept_col, limit_col = st.columns(3)
    trajectory = explored.trajectory
    _plain_metric(
        error_col,
        "Energy error",
        energy_text(trajectory.energy_error),
        f"after {settings.num_steps:,} steps",
        "ΔH = H(end) − H(start). The exact flow keeps H, so it is 0 there; leapfrog's is the error it makes.",
    )
    _plain_metric(
        accept_col,
        "Acceptance probability",
        acceptance_text(trajectory.acceptance),
        "min(1, exp(−ΔH))",
        "The chance Pyro's Metropolis step keeps the trajectory's end as the next draw.",
    )
    _plain_metric(
        limit_col,
        "Stability limit 2s",
        f"{explored.oscillator.stability_limit:.3f}",
        f"step {settings.step_size:g}",
        "Leapfrog is stable on a normal posterior of sd s only for steps below 2s.",
    )


def stability(oscillator: Oscillator, trajectory: hmc.Trajectory, settings: hmc.HmcSettings) -> None:
    """Stable or not, where the limit is, and what Pyro would call this trajectory."""
    theta = oscillator.turn_per_step(settings.step_size)
    limit = oscillator.stability_limit
    if trajectory.overflowed_at is not None:
        st.error(
            f"At step {trajectory.overflowed_at} the energy overflowed: the numbers passed what a computer can hold. "
            f"The path above stops at step {len(trajectory.q) - 1}."
        )
    if theta is not None:
        st.success(
            f"**Stable.** The step {settings.step_size:g} is below this posterior's limit 2s = 2 × {oscillator.sd:.3f} "
            f"= {limit:.3f}. Leapfrog turns the phase point by {theta:.3f} radians a step, and H stays within a band "
            "around its start; the energy error does not grow with more steps."
        )
    else:
        st.error(
            f"**Unstable.** The step {settings.step_size:g} is at or past this posterior's limit 2s = 2 × "
            f"{oscillator.sd:.3f} = {limit:.3f}. Leapfrog no longer goes round the mean: every step throws the phase "
            f"point further out, and the energy error grows without bound ({energy_text(trajectory.energy_error)} "
            f"after {settings.num_steps:,} steps). A step below {limit:.3f} is stable."
        )
    divergent = "a divergence" if trajectory.diverges else "not a divergence"
    st.markdown(
        f"**What Pyro calls a divergence.** Pyro's HMC and NUTS count one when a trajectory's energy error passes "
        f"{PYRO_DIVERGENCE_ENERGY:g} (their `max_sliced_energy`) or is not a number. This trajectory's energy error "
        f"is {energy_text(trajectory.energy_error)}: {divergent}."
    )
    beyond = np.flatnonzero(np.abs(trajectory.energy - trajectory.energy[0]) > PYRO_DIVERGENCE_ENERGY)
    if beyond.size:
        st.caption(
            f"The charts frame the path up to step {beyond[0] - 1}; after it the energy error is past "
            f"{PYRO_DIVERGENCE_ENERGY:g} and the path runs off them."
        )


def _resonance_verdict(turns: Resonance) -> None:
    said = f"{turns.length:.3g} is {turns.exact_turns:.2f} of the posterior's period {turns.period:.3g}" + (
        f", and at this step leapfrog turns {turns.leapfrog_turns:.2f} times" if turns.leapfrog_turns else ""
    )
    correlation = turns.draw_correlation
    if correlation is None:
        st.info(f"{said}. Past the stability limit there is no period to speak of: the trajectory runs away.")
    elif turns.returns_near_start:
        st.warning(
            f"**Every trajectory returns near its start.** {said}: a draw's distance from the mean carries over to "
            f"the next with factor cos(steps × turn) = {correlation:.2f}, so successive draws are strongly "
            "correlated and the chain hardly moves, whatever momentum it draws."
        )
    elif turns.lands_near_mirror:
        st.warning(
            f"**Every trajectory lands near the mirror image of its start.** {said}: a draw's distance from the mean "
            f"carries over with factor {correlation:.2f}, so successive draws alternate sides of the mean."
        )
    elif turns.too_short:
        st.warning(
            f"**The trajectory is short.** {said}: each moves only a little, so the chain explores by a slow random "
            f"walk (successive draws correlate {correlation:.2f})."
        )
    else:
        st.info(
            f"**No resonance.** {said}: a draw's distance from the mean carries over to the next with factor "
            f"{correlation:.2f}."
        )


def resonance(turns: Resonance, oscillator: Oscillator, settings: hmc.HmcSettings, query: ScaleSettings) -> None:
    length_col, period_col, turns_col = st.columns(3)
    _plain_metric(
        length_col,
        "Trajectory length",
        f"{turns.length:.3f}",
        f"step × steps = {settings.step_size:g} × {settings.num_steps:,}",
    )
    _plain_metric(period_col, "Posterior's period 2πs", f"{turns.period:.3f}", f"s = {oscillator.sd:.3f}")
    _plain_metric(
        turns_col,
        "Turns per trajectory",
        f"{turns.exact_turns:.3f}",
        "leapfrog: " + (f"{turns.leapfrog_turns:.3f}" if turns.leapfrog_turns is not None else "unstable"),
        "Trajectory length over the period: how many times the exact flow goes round in one trajectory. Below "
        "it, the turns leapfrog actually makes at this step size.",
    )
    _resonance_verdict(turns)
    st.page_link(
        "pages/scale.py",
        label="Pyro's HMC with this step and length on the scale page, and its warning",
        icon=":material/balance:",
        query_params={
            "algo": "hmc",
            "step_size": str(settings.step_size),
            "num_steps": str(settings.num_steps),
            "warmup": str(SCALE_PAGE_WARMUP),
            **{control.key: str(getattr(query, control.fills)) for control in MODEL_CONTROLS},
        },
    )
    st.caption(
        f"There Pyro adapts the step during {SCALE_PAGE_WARMUP} warmup steps but keeps the trajectory length "
        "step × steps, so a length near one period stays near it: the lecture's 0.9 × 4 = 3.6 against "
        "2π × 0.6 = 3.77."
    )


def chain(explored: hmc.HmcExplored, settings: hmc.HmcSettings, query: ScaleSettings) -> None:
    moves = explored.chain
    if moves is None:
        st.warning(explored.chain_problem)
        return
    oscillator = explored.oscillator
    st.markdown(
        f"{settings.trajectories:,} HMC iterations from the start {settings.start:g}, without adaptation: each draws "
        "a fresh momentum, runs the trajectory and accepts its end with the probability above. These are the draws "
        "Pyro's `HMC` kernel makes from this seed."
    )
    rate_col, mean_col, sd_col, divergence_col = st.columns(4)
    rate_col.metric("Acceptance rate", f"{moves.acceptance_rate:.3f}", help=panels.GLOSSARY["acceptance rate"])
    _plain_metric(
        mean_col, "Chain mean", f"{moves.summary.mean:.3f}", f"exact {oscillator.mean:.3f}", "Beside it, exact."
    )
    _plain_metric(sd_col, "Chain sd", f"{moves.summary.sd:.3f}", f"exact {oscillator.sd:.3f}", "Beside it, exact.")
    divergence_col.metric("Divergences", f"{moves.divergences:,}", help=panels.GLOSSARY["divergences"])
    grid = np.linspace(oscillator.mean - 4 * oscillator.sd, oscillator.mean + 4 * oscillator.sd, 300)
    exact = exact_posterior(query)
    histogram_col, moves_col = st.columns(2)
    with histogram_col:
        chart(
            charts.density_histogram(
                moves.draws, {"exact posterior": (grid, exact.pdf(grid))}, "The chain's draws", "weight", bins=30
            )
        )
    with moves_col:
        chart(hmc_charts.chain_moves(moves))
    panels.advice(moves.advice)


def _stopped_by(doubling) -> str:
    if doubling.sub_tree_turned:
        return "U-turn inside the new half"
    if doubling.diverged:
        return "divergence"
    return "U-turn" if doubling.u_turn else ""


def nuts_tree(tree: NutsTree) -> None:
    st.markdown(
        "NUTS needs no number of steps. From the same start and momentum it doubles the trajectory, forward or "
        "backward in time at random, until it turns back on itself. Pyro's test, on the whole trajectory after each "
        "doubling: with ρ = p_sum − (p_left + p_right)/2, stop when p_left·ρ ≤ 0 or p_right·ρ ≤ 0. "
        "It then returns one state of the whole tree, drawn in proportion to exp(−H)."
    )
    chart(hmc_charts.nuts_tree(tree))
    rows = pd.DataFrame(
        {
            "doubling": np.arange(1, len(tree.doublings) + 1),
            "direction": ["forward" if d.direction == 1 else "backward" for d in tree.doublings],
            "new steps": [d.leaves for d in tree.doublings],
            "p_left·ρ": [np.nan if d.rho_left is None else d.rho_left for d in tree.doublings],
            "p_right·ρ": [np.nan if d.rho_right is None else d.rho_right for d in tree.doublings],
            "stops here": [_stopped_by(d) for d in tree.doublings],
        }
    )
    panels.table(rows)
    reasons = {
        "u-turn": "the trajectory made a U-turn",
        "divergence": f"the energy error passed {PYRO_DIVERGENCE_ENERGY:g}: a divergence",
        "max depth": f"it reached Pyro's largest tree (depth {tree.max_depth}, {2**tree.max_depth - 1:,} steps)",
    }
    st.markdown(
        f"The tree stopped after {len(tree.doublings)} doublings and {tree.steps:,} leapfrog steps because "
        f"{reasons[tree.stop_reason]}. It returns weight **{tree.proposal:.4f}**."
    )
