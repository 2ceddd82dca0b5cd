"""Inside HMC: Pyro's leapfrog on the scale posterior, one trajectory at a time."""

import time

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import hmc, scale
from ppl_models.hmc_phase import PYRO_DIVERGENCE_ENERGY
from ppl_models.scale import ScaleSettings
from ui import charts, hmc_charts, panels, style
from ui.chart_view import chart
from ui.controls import SEED, build, render
from ui.hmc_controls import TRAJECTORY_CONTROLS
from ui.numbers import probability_text
from ui.runs import LiveSlot, cached_run, show_provenance, show_unfinished
from ui.scale_controls import MODEL_CONTROLS

# A played trajectory shows at most this many frames, about a second and a half in all.
PLAY_FRAMES = 40
PLAY_SECONDS = 1.6

style.title("Inside HMC: one trajectory at a time")
st.markdown(
    "HMC proposes a draw by giving the weight q a random momentum p and following the energy "
    "H(q, p) = U(q) + p²/2, with U(q) = −log p(q, measurement), for a fixed number of leapfrog steps. "
    "On the scale model the posterior is exactly normal, so the exact flow is known: it keeps H constant and "
    "goes round an ellipse once every 2π × (posterior sd). Here is what Pyro's own integrator does instead."
)

with st.sidebar:
    st.header("Model and evidence")
    query = build(ScaleSettings, MODEL_CONTROLS, render(MODEL_CONTROLS, "hmc"))
    st.header("Trajectory")
    values = render([*TRAJECTORY_CONTROLS, SEED], "hmc")
    settings = build(hmc.HmcSettings, TRAJECTORY_CONTROLS, values, seed=values["seed"])

key_numbers = st.container()
outcome = cached_run(hmc.explore, query, settings, label="Following Pyro's leapfrog")
if not outcome.ok:
    show_unfinished(outcome)
    st.stop()
result = outcome.result
trajectory, oscillator, turns = result.trajectory, result.oscillator, result.resonance
last_step = len(trajectory.q) - 1


def energy_text(value: float) -> str:
    return "overflow (infinite)" if not np.isfinite(value) else f"{value:.5g}"


def acceptance_text(value: float) -> str:
    # Exactly 1 whenever H went down: "> 0.999" would hide that.
    return "1.000" if value == 1.0 else probability_text(value)


with key_numbers:
    error_col, accept_col, limit_col = st.columns(3)
    error_col.metric(
        "Energy error",
        energy_text(trajectory.energy_error),
        f"after {settings.num_steps:,} steps",
        delta_color="off",
        delta_arrow="off",
        help="ΔH = H(end) − H(start). The exact flow keeps H, so it is 0 there; leapfrog's is the error it makes.",
    )
    accept_col.metric(
        "Acceptance probability",
        acceptance_text(trajectory.acceptance),
        "min(1, exp(−ΔH))",
        delta_color="off",
        delta_arrow="off",
        help="The chance Pyro's Metropolis step keeps the trajectory's end as the next draw.",
    )
    limit_col.metric(
        "Stability limit 2s",
        f"{oscillator.stability_limit:.3f}",
        f"step {settings.step_size:g}",
        delta_color="off",
        delta_arrow="off",
        help="Leapfrog is stable on a normal posterior of sd s only for steps below 2s.",
    )
show_provenance(outcome)

st.header("One trajectory")
if trajectory.momentum_drawn:
    st.caption(
        f"The momentum {trajectory.p[0]:.4f} was drawn from Normal(0, 1) with seed {settings.seed}, as Pyro's first "
        "HMC iteration from this start draws it; type one in the sidebar to choose it."
    )
if last_step >= 1:
    at = st.slider(
        "Leapfrog step shown",
        0,
        last_step,
        last_step,
        key=f"hmc-at-{last_step}",
        help="Step through the trajectory: the path so far, the particle in the well, and H after that step.",
    )
    play = st.button("Play the trajectory", icon=":material/play_arrow:", help="Draw it step by step from the start.")
else:
    at, play = 0, False
phase_slot = LiveSlot("hmc-phase")
well_col, energy_col = st.columns(2)
with well_col:
    well_slot = LiveSlot("hmc-well")
with energy_col:
    energy_slot = LiveSlot("hmc-energy")


def draw(step: int) -> None:
    phase_slot.show(hmc_charts.phase_portrait(oscillator, trajectory, step))
    well_slot.show(hmc_charts.potential_well(oscillator, trajectory, step))
    energy_slot.show(hmc_charts.energy_along_path(trajectory, step))


if play:
    frames = np.unique(np.linspace(0, last_step, min(PLAY_FRAMES, last_step + 1)).round().astype(int))
    for step in frames:
        draw(int(step))
        time.sleep(PLAY_SECONDS / len(frames))
draw(at)
if trajectory.overflowed_at is not None:
    st.error(
        f"At step {trajectory.overflowed_at} the energy overflowed: the numbers passed what a computer can hold. "
        f"The path above stops at step {last_step}."
    )

theta = oscillator.turn_per_step(settings.step_size)
limit = oscillator.stability_limit
if theta is not None:
    st.success(
        f"**Stable.** The step {settings.step_size:g} is below this posterior's limit 2s = 2 × {oscillator.sd:.3f} = "
        f"{limit:.3f}. Leapfrog turns the phase point by {theta:.3f} radians a step, and H stays within a band "
        "around its start; the energy error does not grow with more steps."
    )
else:
    st.error(
        f"**Unstable.** The step {settings.step_size:g} is at or past this posterior's limit 2s = 2 × "
        f"{oscillator.sd:.3f} = {limit:.3f}. Leapfrog no longer goes round the mean: every step throws the phase "
        f"point further out, and the energy error grows without bound ({energy_text(trajectory.energy_error)} after "
        f"{settings.num_steps:,} steps). A step below {limit:.3f} is stable."
    )
divergent = "a divergence" if trajectory.diverges else "not a divergence"
st.markdown(
    f"**What Pyro calls a divergence.** Pyro's HMC and NUTS count one when a trajectory's energy error passes "
    f"{PYRO_DIVERGENCE_ENERGY:g} (their `max_sliced_energy`) or is not a number. This trajectory's energy error is "
    f"{energy_text(trajectory.energy_error)}: {divergent}."
)

st.header("Resonance: trajectory length against the period")
length_col, period_col, turns_col = st.columns(3)
length_col.metric(
    "Trajectory length",
    f"{turns.length:.3f}",
    f"step × steps = {settings.step_size:g} × {settings.num_steps:,}",
    delta_color="off",
    delta_arrow="off",
)
period_col.metric(
    "Posterior's period 2πs", f"{turns.period:.3f}", f"s = {oscillator.sd:.3f}", delta_color="off", delta_arrow="off"
)
turns_col.metric(
    "Turns per trajectory",
    f"{turns.exact_turns:.3f}",
    "leapfrog: " + (f"{turns.leapfrog_turns:.3f}" if turns.leapfrog_turns is not None else "unstable"),
    delta_color="off",
    delta_arrow="off",
    help="Trajectory length over the period: how many times the exact flow goes round in one trajectory. Below "
    "it, the turns leapfrog actually makes at this step size.",
)
said = f"{turns.length:.3g} is {turns.exact_turns:.2f} of the posterior's period {turns.period:.3g}" + (
    f", and at this step leapfrog turns {turns.leapfrog_turns:.2f} times" if turns.leapfrog_turns else ""
)
if turns.draw_correlation is None:
    st.info(f"{said}. Past the stability limit there is no period to speak of: the trajectory runs away.")
elif turns.returns_near_start:
    st.warning(
        f"**Every trajectory returns near its start.** {said}: a draw's distance from the mean carries over to the "
        f"next with factor cos(steps × turn) = {turns.draw_correlation:.2f}, so successive draws are strongly "
        "correlated and the chain hardly moves, whatever momentum it draws."
    )
elif turns.lands_near_mirror:
    st.warning(
        f"**Every trajectory lands near the mirror image of its start.** {said}: a draw's distance from the mean "
        f"carries over with factor {turns.draw_correlation:.2f}, so successive draws alternate sides of the mean."
    )
elif turns.too_short:
    st.warning(
        f"**The trajectory is short.** {said}: each moves only a little, so the chain explores by a slow random "
        f"walk (successive draws correlate {turns.draw_correlation:.2f})."
    )
else:
    st.info(
        f"**No resonance.** {said}: a draw's distance from the mean carries over to the next with factor "
        f"{turns.draw_correlation:.2f}."
    )
st.page_link(
    "pages/scale.py",
    label="Pyro's HMC with this step and length on the scale page, and its warning",
    icon=":material/balance:",
    query_params={
        "algo": "hmc",
        "step_size": str(settings.step_size),
        "num_steps": str(settings.num_steps),
        **{control.key: str(getattr(query, control.fills)) for control in MODEL_CONTROLS},
    },
)
st.caption(
    "There Pyro adapts the step during warmup but keeps the trajectory length step × steps, so a length near one "
    "period stays near it: the lecture's 0.9 × 4 = 3.6 against 2π × 0.6 = 3.77."
)

st.header("A short chain")
chain = result.chain
if chain is None:
    st.warning(result.chain_problem)
else:
    st.markdown(
        f"{settings.trajectories:,} HMC iterations from the start {settings.start:g}, without adaptation: each draws a "
        "fresh momentum, runs the trajectory and accepts its end with the probability above. These are the draws "
        "Pyro's `HMC` kernel makes from this seed."
    )
    rate_col, mean_col, sd_col, divergence_col = st.columns(4)
    rate_col.metric("Acceptance rate", f"{chain.acceptance_rate:.3f}", help=panels.GLOSSARY["acceptance rate"])
    for column, label, value, exact in (
        (mean_col, "Chain mean", chain.summary.mean, oscillator.mean),
        (sd_col, "Chain sd", chain.summary.sd, oscillator.sd),
    ):
        column.metric(
            label, f"{value:.3f}", f"exact {exact:.3f}", delta_color="off", delta_arrow="off", help="Beside it, exact."
        )
    divergence_col.metric("Divergences", f"{chain.divergences:,}", help=panels.GLOSSARY["divergences"])
    grid = np.linspace(oscillator.mean - 4 * oscillator.sd, oscillator.mean + 4 * oscillator.sd, 300)
    exact = scale.exact_posterior(query)
    histogram_col, moves_col = st.columns(2)
    with histogram_col:
        chart(
            charts.density_histogram(
                chain.draws, {"exact posterior": (grid, exact.pdf(grid))}, "The chain's draws", "weight", bins=30
            )
        )
    with moves_col:
        chart(hmc_charts.chain_moves(chain))
    panels.advice(chain.advice)

st.header("One NUTS tree")
tree = result.tree
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
        "stops here": [
            "U-turn inside the new half"
            if d.sub_tree_turned
            else "divergence"
            if d.diverged
            else "U-turn"
            if d.u_turn
            else ""
            for d in tree.doublings
        ],
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

panels.model_section(
    hmc.explore_code(query, settings),
    scale.scale,
    (query.guess, query.prior_sd, query.noise_sd),
    (("measurement", query.measurement),),
)
