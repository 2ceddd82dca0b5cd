"""Inside HMC: Pyro's leapfrog on the scale posterior, one trajectory at a time."""

import time

import numpy as np
import streamlit as st

from ppl_models import hmc, scale
from ppl_models.scale import ScaleSettings
from ui import hmc_charts, hmc_panels, panels, style
from ui.controls import SEED, build, render
from ui.hmc_controls import TRAJECTORY_CONTROLS
from ui.notebook_button import notebook_button
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
explored = outcome.result
trajectory, oscillator = explored.trajectory, explored.oscillator
with key_numbers:
    hmc_panels.key_numbers(explored, settings)
show_provenance(outcome)

st.header("One trajectory")
if trajectory.momentum_drawn:
    st.caption(
        f"The momentum {trajectory.p[0]:.4f} was drawn from Normal(0, 1) with seed {settings.seed}, as Pyro's first "
        "HMC iteration from this start draws it; type one in the sidebar to choose it."
    )
last_step = len(trajectory.q) - 1
at, play = 0, False
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
hmc_panels.stability(oscillator, trajectory, settings)

st.header("Resonance: trajectory length against the period")
hmc_panels.resonance(explored.resonance, oscillator, settings, query)

st.header("A short chain")
hmc_panels.chain(explored, settings, query)

st.header("One NUTS tree")
hmc_panels.nuts_tree(explored.tree)

panels.model_section(
    hmc.explore_code(query, settings),
    scale.scale,
    (query.guess, query.prior_sd, query.noise_sd),
    (("measurement", query.measurement),),
)
notebook_button("hmc", hmc.explore_notebook, query, settings)
