"""The scale model's controls: the scale page's and the variational-inference page's, one link vocabulary."""

from ppl_models import scale
from ui.controls import Slider

# The evidence is the control a student moves first: it leads the sidebar.
MODEL_CONTROLS = [
    Slider.for_field(
        scale.ScaleSettings,
        "measurement",
        label="Observed measurement",
        min=0.0,
        max=30.0,
        step=0.1,
        help="What the scale showed; Pyro conditions on it with pyro.condition.",
    ),
    Slider.for_field(
        scale.ScaleSettings,
        "guess",
        label="Prior guess of the weight",
        min=0.0,
        max=30.0,
        step=0.1,
        help="The mean of the prior: weight ~ Normal(guess, prior sd). The lecture used 10.",
    ),
    Slider.for_field(
        scale.ScaleSettings, "prior_sd", label="Prior sd", min=0.1, max=10.0, step=0.05, help="How unsure the guess is."
    ),
    Slider.for_field(
        scale.ScaleSettings,
        "noise_sd",
        label="Measurement noise sd",
        min=0.1,
        max=10.0,
        step=0.05,
        help="measurement ~ Normal(weight, noise sd): how noisy the scale is.",
    ),
]
