"""The inference controls that every MCMC/SVI page shares, and the settings they make."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ppl_models.engine import mcmc, svi
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings
from ui.controls import SEED, Choice, Control, Slider, Toggle, build, render
from ui.panels import GLOSSARY, device_preference

# Fills McmcSettings.kernel, unless it says svi: that picks SviSettings instead.
ALGO = Choice.for_field(
    McmcSettings,
    "kernel",
    key="algo",
    label="Inference algorithm",
    options=("hmc", "nuts", "svi"),
    captions=("HMC: fixed trajectory (the lecture's)", "NUTS: adaptive trajectory", "SVI: fit a normal guide"),
    help="How Pyro approximates the posterior: two MCMC samplers, or variational inference.",
)
MCMC_CONTROLS: list[Control] = [
    Slider.for_field(
        McmcSettings,
        "num_samples",
        key="samples",
        label="Samples per chain",
        min=10,
        max=mcmc.MAX_SAMPLES,
        step=10,
        help="Draws kept after warmup, per chain.",
        number_box=True,
    ),
    Slider.for_field(
        McmcSettings,
        "warmup_steps",
        key="warmup",
        label="Warmup steps",
        min=0,
        max=mcmc.MAX_WARMUP,
        step=10,
        help=GLOSSARY["warmup"] + " The lecture used 50: often too few.",
        number_box=True,
    ),
    Slider.for_field(
        McmcSettings,
        "num_chains",
        key="chains",
        label="Chains",
        min=1,
        max=mcmc.MAX_CHAINS,
        step=1,
        help="Independent chains, run one after another. With 2 or more, R-hat compares them. R-hat: "
        + GLOSSARY["R-hat"],
    ),
    Slider.for_field(
        McmcSettings,
        "step_size",
        label="Step size",
        min=0.01,
        max=3.0,
        step=0.01,
        help=GLOSSARY["step size"] + " With adaptation on, this is where the tuning starts.",
        number_box=True,
    ),
    Slider.for_field(
        McmcSettings,
        "num_steps",
        label="Leapfrog steps (HMC)",
        min=1,
        max=mcmc.MAX_NUM_STEPS,
        step=1,
        help=GLOSSARY["leapfrog steps"] + " This sets HMC's number; NUTS ignores it.",
        number_box=True,
    ),
    Toggle.for_field(
        McmcSettings,
        "adapt_step_size",
        key="adapt",
        label="Adapt step size during warmup",
        help="Pyro's default: during warmup the step size is tuned towards an acceptance rate (the share of "
        "proposals accepted) of 0.8, "
        "so where it ends depends on the warmup and the seed (the diagnostics table shows it). "
        "Off: the step size is used as given.",
    ),
    Toggle.for_field(
        McmcSettings,
        "hold_num_steps",
        key="hold_steps",
        label="Hold leapfrog steps fixed (HMC)",
        help="Pyro keeps step size × steps fixed while adapting, so a smaller step means more steps. "
        "On: keep the number of steps and adapt only the step size (textbook HMC); often faster.",
    ),
    Choice.for_field(
        McmcSettings,
        "sampler",
        key="hmc_impl",
        label="HMC implementation",
        options=mcmc.SAMPLERS,
        captions=(
            "Batched: Pyro's algorithm, compiled, many chains at once",
            "Pyro's HMC class: draw for draw the code below",
        ),
        help="Both run Pyro's HMC algorithm on Pyro's potential with Pyro's adaptation. Batched runs it compiled "
        "and computes a class's settings together; each chain draws from its own random stream, so its draws "
        "differ from Pyro's class one by one but agree in distribution. Pyro's HMC class gives exactly the "
        "draws of the page's code. NUTS always runs Pyro's own.",
    ),
    SEED,
]
SVI_CONTROLS: list[Control] = [
    Slider.for_field(
        SviSettings,
        "num_steps",
        key="svi_steps",
        label="SVI steps",
        min=10,
        max=svi.MAX_STEPS,
        step=10,
        help="Adam steps on the ELBO.",
        number_box=True,
    ),
    Slider.for_field(
        SviSettings,
        "lr",
        label="Learning rate",
        min=0.001,
        max=0.5,
        step=0.001,
        help="Adam's learning rate.",
        number_box=True,
    ),
    Slider.for_field(
        SviSettings,
        "num_particles",
        key="particles",
        label="ELBO particles",
        min=1,
        max=32,
        step=1,
        help="Samples per ELBO estimate, vectorised: more means smoother gradients.",
    ),
    Choice.for_field(
        SviSettings,
        "elbo",
        label="ELBO",
        options=tuple(svi.ELBOS),
        captions=tuple(svi.ELBOS.values()),
        help="Which estimator of the evidence lower bound SVI maximises.",
    ),
    SEED,
]


def controls_for(algo: str) -> list[Control]:
    """The controls that make a run's settings with this algorithm."""
    return SVI_CONTROLS if algo == "svi" else MCMC_CONTROLS


def settings_from(algo: str, values: dict[str, Any], device: str) -> McmcSettings | SviSettings:
    """The frozen settings to run, from the controls' values by URL key (``ui.compare`` makes a
    pinned setting's with it too)."""
    if algo == "svi":
        return build(SviSettings, SVI_CONTROLS, values, device=device)
    return build(McmcSettings, MCMC_CONTROLS, values, kernel=algo, device=device)


def inference_settings(page: str) -> McmcSettings | SviSettings:
    """Draw the algorithm choice and its settings; return the frozen settings to run."""
    algo = render([ALGO], page)["algo"]
    with st.expander("Sampler and optimizer settings", expanded=False):
        values: dict[str, Any] = render(controls_for(algo), page)
    return settings_from(algo, values, device_preference())
