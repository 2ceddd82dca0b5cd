"""What a shapes setting is: a distribution family, its shapes and its plates.

Both the explorer (:mod:`ppl_models.shapes`) and the cost bound that runs before it
(:mod:`ppl_models.shapes_cost`) read a setting, and the explorer calls the bound; the
setting therefore lives here, below both, so that neither has to import the other's
module to know what a setting is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppl_models.engine.runtime.errors import InferenceError

# family -> (parameter names, whether the parameter's last dim is the event/categories)
FAMILIES = {
    "Normal": ("loc, scale", False),
    "Bernoulli": ("probs", False),
    "Categorical": ("probs (last dim: categories)", True),
    "Beta": ("concentration1, concentration0", False),
    "Poisson": ("rate", False),
    "Dirichlet": ("concentration (last dim: categories)", True),
    "MultivariateNormal": ("loc (last dim: dimension), covariance eye(d)", True),
}
MAX_DIM = 1000
# The explorer's one sample site; a plate may not take its name.
SITE_NAME = "x"


@dataclass(frozen=True)
class PlateSpec:
    name: str
    size: int
    dim: int | None = None  # None: Pyro picks the next free dim to the left


@dataclass(frozen=True)
class ShapesSettings:
    family: str = "Normal"
    param_shape: tuple[int, ...] = ()
    expand: tuple[int, ...] | None = None
    to_event: int = 0
    sample_shape: tuple[int, ...] = ()
    plates: tuple[PlateSpec, ...] = ()


PRESETS = {
    "mvn_expand": ShapesSettings("MultivariateNormal", (3,), expand=(5,)),
    "mvn_plate": ShapesSettings("MultivariateNormal", (3,), plates=(PlateSpec("x_axis", 5),)),
    "nested_plates": ShapesSettings("Normal", (), plates=(PlateSpec("x_axis", 320, -1), PlateSpec("y_axis", 200, -2))),
}


def parse_shape(text: str) -> tuple[int, ...]:
    """``"5, 3"`` -> ``(5, 3)``; empty -> ``()``. Sizes must be whole numbers from 1 to 1000."""
    parts = [p for p in text.replace("(", " ").replace(")", " ").replace(",", " ").split() if p]
    sizes = []
    for part in parts:
        try:
            size = int(part)
        except ValueError:
            quoted = part if len(part) <= 20 else part[:19] + "…"
            raise InferenceError(f"{quoted!r} is not a whole number; write a shape like 5, 3.") from None
        if not 1 <= size <= MAX_DIM:
            raise InferenceError(f"Every size must be between 1 and {MAX_DIM}; got {size}.")
        sizes.append(size)
    return tuple(sizes)
