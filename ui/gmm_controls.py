"""The mixture page's controls: where the data comes from, the prior, and the fit."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ppl_models import gmm, gmm_data
from ppl_models.gmm_starts import STARTS
from ui.controls import SEED, Choice, Control, Slider, Text, build, default_of, render
from ui.panels import device_preference

SOURCE = Choice(
    "source",
    "Data source",
    ("numbers", "table", "csv", "synthetic"),
    ("type or paste numbers", "edit a table", "upload a CSV file", "draw from a known mixture"),
    "numbers",
    "Where the points to cluster come from. The lecture's five points are the default.",
)
DATA = Text(
    "data",
    "Numbers (comma-separated)",
    ", ".join(f"{v:g}" for v in gmm.LECTURE_DATA),
    "The data set, e.g. 0, 1, 10, 11, 12. Short data sets travel in the link.",
)
TRUE_LOCS = Text(
    "true_locs",
    "True component locations",
    ", ".join(f"{v:g}" for v in default_of(gmm_data.SyntheticData, "locs")),
    "Comma-separated; the components have equal weights.",
    field="locs",
)
# Filled from the controls as they are; the locations above are parsed first.
SYNTHETIC_NUMBERS = [
    Slider.for_field(
        gmm_data.SyntheticData,
        "scale",
        key="true_scale",
        label="True shared scale",
        min=0.1,
        max=10.0,
        step=0.1,
        help="Standard deviation of every true component.",
    ),
    Slider.for_field(
        gmm_data.SyntheticData,
        "n",
        key="true_n",
        label="Points to draw",
        min=2,
        max=gmm_data.MAX_POINTS,
        step=1,
        help="Up to 100,000.",
        number_box=True,
    ),
    Slider.for_field(
        gmm_data.SyntheticData,
        "seed",
        key="data_seed",
        label="Data seed",
        min=0,
        max=10_000,
        step=1,
        help="Which synthetic data set.",
        number_box=True,
    ),
]
MODEL = [
    Slider.for_field(
        gmm.GmmSettings,
        "k",
        label="Components K",
        min=1,
        max=gmm.MAX_K,
        step=1,
        help="How many Gaussians the mixture has.",
    ),
    Choice.for_field(
        gmm.GmmSettings,
        "init",
        label="Start",
        options=STARTS,
        captions=("the lecture's: K random data points", "spread out: k-means++ over the data"),
        help="Where SVI starts. The lecture's recipe puts the locations at K randomly chosen data points and keeps "
        "the start with the lowest initial loss; it often puts two locations in one group. A spread-out start "
        "(k-means++) draws each next location far from those already picked, keeps the start whose locations sit "
        "nearest the points, and starts the scale at their distance to them.",
    ),
]
PRIOR = [
    Slider.for_field(
        gmm.GmmPrior,
        "concentration",
        label="Dirichlet concentration",
        min=0.05,
        max=10.0,
        step=0.05,
        help="weights ~ Dirichlet(concentration * ones(K)); below 1 favours a few dominant components.",
    ),
    Slider.for_field(
        gmm.GmmPrior,
        "scale_sd",
        label="Prior sd of log scale",
        min=0.1,
        max=10.0,
        step=0.1,
        help="scale ~ LogNormal(0, this).",
    ),
    Slider.for_field(
        gmm.GmmPrior,
        "locs_sd",
        label="Prior sd of the locations",
        min=0.1,
        max=100.0,
        step=0.1,
        help="locs ~ Normal(0, this).",
        number_box=True,
    ),
]
FIT = [
    Slider.for_field(
        gmm.GmmSettings,
        "inits",
        label="Random initialisations",
        min=1,
        max=gmm.MAX_INITS,
        step=1,
        help="Start from the best (lowest initial loss) of this many random starts, as the lecture does.",
        number_box=True,
    ),
    Slider.for_field(
        gmm.GmmSettings,
        "steps",
        label="SVI steps",
        min=1,
        max=gmm.MAX_STEPS,
        step=1,
        help="Adam steps on the enumerated ELBO.",
        number_box=True,
    ),
    Slider.for_field(
        gmm.GmmSettings,
        "lr",
        label="Learning rate",
        min=0.001,
        max=1.0,
        step=0.001,
        help="Adam's learning rate (the lecture: 0.1).",
        number_box=True,
    ),
    Slider.for_field(
        gmm.GmmSettings,
        "beta1",
        label="Adam beta1",
        min=0.0,
        max=0.999,
        step=0.001,
        help="The lecture: 0.8.",
        number_box=True,
    ),
    Slider.for_field(
        gmm.GmmSettings,
        "beta2",
        label="Adam beta2",
        min=0.0,
        max=0.9999,
        step=0.0001,
        help="The lecture: 0.99.",
        number_box=True,
    ),
    SEED,
]


# The sources whose data travel in a link (a pinned comparison holds them); a table's rows
# and an uploaded file's do not.
LINKED_SOURCES = ("numbers", "synthetic")


def data_controls(source: str) -> list[Control]:
    """The controls that hold the data of a source that travels in a link."""
    return [DATA] if source == "numbers" else [TRUE_LOCS, *SYNTHETIC_NUMBERS]


def data_from(source: str, values: dict[str, Any]) -> tuple[float, ...] | gmm_data.SyntheticData:
    """The data set of a linked source from the controls' values by URL key.

    :raises gmm_data.DataError: with the message the page shows.
    """
    if source == "numbers":
        return gmm_data.parse_numbers(values["data"])
    locs = gmm_data.parse_numbers(values["true_locs"])
    if not locs:
        raise gmm_data.DataError("Give at least one true component location.")
    return build(gmm_data.SyntheticData, SYNTHETIC_NUMBERS, values, locs=locs)


def data_source(page: str) -> tuple[tuple[float, ...] | gmm_data.SyntheticData | None, str]:
    """The chosen data set, or None and a message saying what is wrong with it."""
    source = render([SOURCE], page)["source"]
    try:
        if source in LINKED_SOURCES:
            return data_from(source, render(data_controls(source), page)), ""
        if source == "table":
            edited = st.data_editor(
                pd.DataFrame({"x": list(gmm.LECTURE_DATA)}),
                num_rows="dynamic",
                key="gmm_table",
                column_config={"x": st.column_config.NumberColumn("x", help="One point per row.")},
            )
            return tuple(float(v) for v in edited["x"].dropna()), ""
        upload = st.file_uploader("CSV: one column of numbers, header allowed", type=["csv", "txt"])
        if upload is None:
            return None, "Upload a CSV file with one column of numbers to fit."
        return gmm_data.parse_csv(upload.getvalue()), ""
    except gmm_data.DataError as error:
        return None, str(error)


def settings_from(values: dict[str, Any], device: str) -> tuple[gmm.GmmPrior, gmm.GmmSettings]:
    """The prior and the fit's settings from the controls' values by URL key."""
    settings = build(gmm.GmmSettings, [*MODEL, *FIT], values, device=device)
    return build(gmm.GmmPrior, PRIOR, values), settings


def fit_settings(page: str) -> tuple[gmm.GmmPrior, gmm.GmmSettings]:
    # K and the prior stay in view; the fit's numbers wait in the expander.
    model = render([*MODEL, *PRIOR], page)
    with st.expander("Fit settings", expanded=False):
        fit = render(FIT, page)
    return settings_from({**model, **fit}, device_preference())


def controls_for(change: dict) -> dict:
    """The widget values that make ``change`` (settings fields to new values), by URL key."""
    key_of = {control.fills: control.key for control in [*MODEL, *PRIOR, *FIT]}
    return {key_of[name]: value for name, value in change.items()}
