"""The inference controls that every MCMC/SVI page shares, and the settings they make."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ppl_models.engine import mcmc, svi
from ui.controls import Choice, Control, Slider, Toggle, render
from ui.panels import device_preference

ALGO = Choice(
    "algo",
    "Inference algorithm",
    ("hmc", "nuts", "svi"),
    ("HMC: fixed trajectory (the lecture's)", "NUTS: adaptive trajectory", "SVI: fit a normal guide"),
    "hmc",
    "How Pyro approximates the posterior: two MCMC samplers, or variational inference.",
)
MCMC_CONTROLS: list[Control] = [
    Slider(
        "samples",
        "Samples per chain",
        10,
        mcmc.MAX_SAMPLES,
        1000,
        10,
        "Draws kept after warmup, per chain.",
        number_box=True,
    ),
    Slider(
        "warmup",
        "Warmup steps",
        0,
        mcmc.MAX_WARMUP,
        50,
        10,
        "Draws thrown away while the sampler adapts its step size. The lecture used 50: often too few.",
        number_box=True,
    ),
    Slider(
        "chains",
        "Chains",
        1,
        mcmc.MAX_CHAINS,
        1,
        1,
        "Independent chains, run one after another. With 2 or more, R-hat compares them.",
    ),
    Slider(
        "step_size",
        "Step size",
        0.01,
        3.0,
        0.9,
        0.01,
        "Leapfrog step size (the starting value when adaptation is on).",
        number_box=True,
    ),
    Slider(
        "num_steps",
        "Leapfrog steps (HMC)",
        1,
        mcmc.MAX_NUM_STEPS,
        4,
        1,
        "Leapfrog steps per HMC iteration; ignored by NUTS, which picks its own.",
        number_box=True,
    ),
    Toggle(
        "adapt",
        "Adapt step size during warmup",
        True,
        "Pyro's default (the lecture's run adapted to 1.11). Off: the step size is used as given.",
    ),
    Toggle(
        "hold_steps",
        "Hold leapfrog steps fixed (HMC)",
        False,
        "Pyro keeps step size × steps fixed while adapting, so a smaller step means more steps. "
        "On: keep the number of steps and adapt only the step size (textbook HMC); often faster.",
    ),
]
SVI_CONTROLS: list[Control] = [
    Slider("svi_steps", "SVI steps", 10, svi.MAX_STEPS, 1000, 10, "Adam steps on the ELBO.", number_box=True),
    Slider("lr", "Learning rate", 0.001, 0.5, 0.05, 0.001, "Adam's learning rate.", number_box=True),
    Slider(
        "particles",
        "ELBO particles",
        1,
        32,
        8,
        1,
        "Samples per ELBO estimate, vectorised: more means smoother gradients.",
    ),
    Choice(
        "elbo",
        "ELBO",
        tuple(svi.ELBOS),
        tuple(svi.ELBOS.values()),
        "meanfield",
        "Which estimator of the evidence lower bound SVI maximises.",
    ),
]
SEED = Slider("seed", "Random seed", 0, 10_000, 0, 1, "Same seed, same draws.", number_box=True)


def inference_settings(page: str) -> mcmc.McmcSettings | svi.SviSettings:
    """Draw the algorithm choice and its settings; return the frozen settings to run."""
    algo = render([ALGO], page)["algo"]
    with st.expander("Sampler and optimizer settings", expanded=False):
        shown = SVI_CONTROLS if algo == "svi" else MCMC_CONTROLS
        values: dict[str, Any] = render([*shown, SEED], page)
    if algo == "svi":
        return svi.SviSettings(
            num_steps=values["svi_steps"],
            lr=values["lr"],
            num_particles=values["particles"],
            elbo=values["elbo"],
            seed=values["seed"],
            device=device_preference(),
        )
    return mcmc.McmcSettings(
        kernel=algo,
        num_samples=values["samples"],
        warmup_steps=values["warmup"],
        num_chains=values["chains"],
        step_size=values["step_size"],
        num_steps=values["num_steps"],
        adapt_step_size=values["adapt"],
        hold_num_steps=values["hold_steps"],
        seed=values["seed"],
        device=device_preference(),
    )
