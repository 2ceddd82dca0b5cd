"""The shapes page's controls: a distribution, its shapes, up to three plates, presets."""

from __future__ import annotations

import streamlit as st

from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.shapes_cost import check
from ppl_models.shapes_settings import FAMILIES, MAX_DIM, PRESETS, PlateSpec, ShapesSettings, parse_shape
from ui.controls import Choice, Control, Slider, Text, default_of, render

PLATE_NAMES = ("x_axis", "y_axis", "z_axis")
DIMS = ("auto", "-1", "-2", "-3", "-4")

PRESET = Choice(
    "preset",
    "Start from the lecture",
    ("none", "mvn_expand", "mvn_plate", "nested_plates"),
    (
        "your own settings",
        "MultivariateNormal(zeros(3), eye(3)).expand([5])",
        "MultivariateNormal inside plate x_axis 5",
        "plates x_axis 320 and y_axis 200",
    ),
    "mvn_expand",
    "Load one of the lecture's examples into the controls below. Editing any of them afterwards "
    "makes the setting your own.",
)


def shape_text(shape: tuple[int, ...] | None) -> str:
    """A shape as its text box shows it: ``5, 3``; empty for () and for no shape at all."""
    return "" if shape is None else ", ".join(map(str, shape))


def _shape_box(name: str, label: str, help: str) -> Text:
    """A text box for a shape field of ShapesSettings, which the page parses (parse_shape)."""
    return Text(name, label, shape_text(default_of(ShapesSettings, name)), help, max_chars=40)


DISTRIBUTION: list[Control] = [
    Choice.for_field(
        ShapesSettings,
        "family",
        label="Distribution",
        options=tuple(FAMILIES),
        captions=(),
        help="Which distribution to build; its parameters are filled with simple values.",
        compact=True,
    ),
    _shape_box("param_shape", "Parameter shape", "e.g. 3 or 5, 3. Empty: a scalar parameter."),
    _shape_box("expand", ".expand(batch_shape)", "e.g. 5. Empty: no .expand."),
    Slider.for_field(
        ShapesSettings,
        "to_event",
        label=".to_event(n)",
        min=0,
        max=3,
        step=1,
        help="Move the n rightmost batch dims into the event (dependent).",
    ),
    _shape_box("sample_shape", "sample_shape for d.sample", "e.g. 10. Draws iid copies on the left."),
    # How many plates; each plate's own controls follow (plate_controls).
    Slider(
        "plates",
        "Nested pyro.plates",
        0,
        3,
        len(default_of(ShapesSettings, "plates")),
        1,
        "Outermost first; each plate declares one batch dim independent.",
    ),
]


def plate_controls(index: int) -> list[Control]:
    name = PLATE_NAMES[index]
    return [
        Slider(
            f"plate{index + 1}_size",
            f"plate {name!r}: size",
            1,
            MAX_DIM,
            5,
            1,
            "How many independent copies along this plate's dim.",
            number_box=True,
        ),
        Choice(
            f"plate{index + 1}_dim",
            f"plate {name!r}: dim",
            DIMS,
            (),
            "auto",
            "Which batch dim it owns, counted from the right; auto takes the next free one.",
            compact=True,
        ),
    ]


def _preset_values(spec: ShapesSettings) -> dict:
    values = {
        "family": spec.family,
        "param_shape": shape_text(spec.param_shape),
        "expand": shape_text(spec.expand),
        "to_event": spec.to_event,
        "sample_shape": shape_text(spec.sample_shape),
        "plates": len(spec.plates),
    }
    for index, plate in enumerate(spec.plates):
        values[f"plate{index + 1}_size"] = plate.size
        values[f"plate{index + 1}_dim"] = "auto" if plate.dim is None else str(plate.dim)
    return values


def _edited_since(preset: str) -> bool:
    """Whether a control was changed away from what ``preset`` put in it."""
    return any(
        key in st.session_state and st.session_state[key] != value
        for key, value in _preset_values(PRESETS[preset]).items()
    )


def apply_preset(page: str) -> None:
    """Load a chosen preset into the controls. On a page load, a link's own settings win
    over its preset, so a shared link shows exactly what its sender saw; once a control is
    edited, the preset no longer describes the setting and shows "none"."""
    applied = st.session_state.get("_applied_preset")
    own_settings = any(c.key in st.query_params for c in DISTRIBUTION)
    if "_show_preset" in st.session_state:
        # Set through the Session State API, so the browser is sent the choice: a radio the
        # student never touched otherwise shows its first option after the preset's rerun.
        st.session_state["preset"] = st.session_state.pop("_show_preset")
    elif applied is None and own_settings and "preset" not in st.query_params:
        st.session_state["preset"] = "none"
    elif applied not in (None, "none") and _edited_since(applied):
        st.session_state["preset"] = st.session_state["_applied_preset"] = "none"
    preset = render([PRESET], page)["preset"]
    applied = st.session_state.get("_applied_preset")
    if applied == preset:
        return
    st.session_state["_applied_preset"] = preset
    if preset == "none" or (applied is None and own_settings):
        return
    st.session_state.update(_preset_values(PRESETS[preset]), _show_preset=preset)
    st.rerun()


def shapes_settings(page: str) -> tuple[ShapesSettings | None, str]:
    """The setting the controls describe, or None and why not, in plain words (which may
    quote the student's own text: show it escaped)."""
    values = render(DISTRIBUTION, page)
    plates = []
    for index in range(values["plates"]):
        plate = render(plate_controls(index), page)
        dim = plate[f"plate{index + 1}_dim"]
        plates.append(
            PlateSpec(PLATE_NAMES[index], plate[f"plate{index + 1}_size"], None if dim == "auto" else int(dim))
        )
    try:
        expand = values["expand"].strip()
        spec = ShapesSettings(
            family=values["family"],
            param_shape=parse_shape(values["param_shape"]),
            expand=parse_shape(expand) if expand else None,
            to_event=values["to_event"],
            sample_shape=parse_shape(values["sample_shape"]),
            plates=tuple(plates),
        )
        # Refused here, before a run is queued: the message says what to make smaller.
        check(spec)
    except InferenceError as error:
        return None, str(error)
    return spec, ""
