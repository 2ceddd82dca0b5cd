"""The inside-HMC page's trajectory controls; the model's are the scale page's (``ui.scale_controls``)."""

from ppl_models import hmc
from ui.controls import Slider

TRAJECTORY_CONTROLS = [
    Slider.for_field(
        hmc.HmcSettings,
        "step_size",
        label="Step size",
        min=0.01,
        max=hmc.MAX_STEP_SIZE,
        step=0.01,
        help="How far one leapfrog step moves in time. Leapfrog is stable on this posterior only below 2 x its sd.",
        number_box=True,
        bound_reason="a step of 0 or less never moves",
    ),
    Slider.for_field(
        hmc.HmcSettings,
        "num_steps",
        label="Leapfrog steps",
        min=1,
        max=hmc.MAX_STEPS,
        step=1,
        help="Steps in one trajectory: HMC's num_steps. The lecture used 4.",
        number_box=True,
        bound_reason=f"more than {hmc.MAX_STEPS:,} steps is more than one page may compute",
    ),
    Slider.for_field(
        hmc.HmcSettings,
        "start",
        label="Start (initial weight)",
        min=-hmc.MAX_ABS_START,
        max=hmc.MAX_ABS_START,
        step=0.1,
        help="Where the trajectory, the NUTS tree and the chain start.",
        number_box=True,
    ),
    Slider.for_field(
        hmc.HmcSettings,
        "momentum",
        label="Initial momentum",
        min=-hmc.MAX_ABS_MOMENTUM,
        max=hmc.MAX_ABS_MOMENTUM,
        step=0.1,
        help="The trajectory's starting momentum p. Empty: drawn from Normal(0, 1) with the seed, as Pyro's HMC "
        "draws it.",
        number_box=True,
        placeholder="drawn with the seed",
    ),
    Slider.for_field(
        hmc.HmcSettings,
        "trajectories",
        label="Trajectories in the short chain",
        min=1,
        max=hmc.MAX_TRAJECTORIES,
        step=1,
        help="HMC iterations from the start, the momentum redrawn each time and each proposal accepted or rejected.",
        number_box=True,
    ),
]
