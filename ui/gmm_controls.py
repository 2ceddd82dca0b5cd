"""The mixture page's controls: where the data comes from, the prior, and the fit."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ppl_models import gmm, gmm_data
from ui.controls import Choice, Slider, Text, render

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
SYNTHETIC = [
    Text("true_locs", "True component locations", "0, 10", "Comma-separated; the components have equal weights."),
    Slider("true_scale", "True shared scale", 0.1, 10.0, 1.0, 0.1, "Standard deviation of every true component."),
    Slider("true_n", "Points to draw", 2, gmm_data.MAX_POINTS, 1000, 1, "Up to 100,000.", number_box=True),
    Slider("data_seed", "Data seed", 0, 10_000, 0, 1, "Which synthetic data set.", number_box=True),
]
MODEL = [
    Slider("k", "Components K", 1, gmm.MAX_K, 2, 1, "How many Gaussians the mixture has."),
    Slider(
        "concentration",
        "Dirichlet concentration",
        0.05,
        10.0,
        0.5,
        0.05,
        "weights ~ Dirichlet(concentration * ones(K)); below 1 favours a few dominant components.",
    ),
    Slider("scale_sd", "Prior sd of log scale", 0.1, 10.0, 2.0, 0.1, "scale ~ LogNormal(0, this)."),
    Slider("locs_sd", "Prior sd of the locations", 0.1, 100.0, 10.0, 0.1, "locs ~ Normal(0, this).", number_box=True),
]
FIT = [
    Slider(
        "inits",
        "Random initialisations",
        1,
        gmm.MAX_INITS,
        100,
        1,
        "Start from the best (lowest initial loss) of this many random starts, as the lecture does.",
        number_box=True,
    ),
    Slider("steps", "SVI steps", 1, gmm.MAX_STEPS, 200, 1, "Adam steps on the enumerated ELBO.", number_box=True),
    Slider("lr", "Learning rate", 0.001, 1.0, 0.1, 0.001, "Adam's learning rate (the lecture: 0.1).", number_box=True),
    Slider("beta1", "Adam beta1", 0.0, 0.999, 0.8, 0.001, "The lecture: 0.8.", number_box=True),
    Slider("beta2", "Adam beta2", 0.0, 0.9999, 0.99, 0.0001, "The lecture: 0.99.", number_box=True),
    Slider("seed", "Random seed", 0, 10_000, 0, 1, "Which random initialisations are tried.", number_box=True),
]


def data_source(page: str) -> tuple[tuple[float, ...] | gmm_data.SyntheticData | None, str]:
    """The chosen data set, or None and a message saying what is wrong with it."""
    source = render([SOURCE], page)["source"]
    try:
        if source == "numbers":
            return gmm_data.parse_numbers(render([DATA], page)["data"]), ""
        if source == "table":
            edited = st.data_editor(
                pd.DataFrame({"x": list(gmm.LECTURE_DATA)}),
                num_rows="dynamic",
                key="gmm_table",
                column_config={"x": st.column_config.NumberColumn("x", help="One point per row.")},
            )
            return tuple(float(v) for v in edited["x"].dropna()), ""
        if source == "csv":
            upload = st.file_uploader("CSV: one column of numbers, header allowed", type=["csv", "txt"])
            if upload is None:
                return None, "Upload a CSV file with one column of numbers to fit."
            return gmm_data.parse_csv(upload.getvalue()), ""
        values = render(SYNTHETIC, page)
        locs = gmm_data.parse_numbers(values["true_locs"])
        if not locs:
            return None, "Give at least one true component location."
        return gmm_data.SyntheticData(locs, values["true_scale"], values["true_n"], values["data_seed"]), ""
    except gmm_data.DataError as error:
        return None, str(error)


def fit_settings(page: str) -> tuple[gmm.GmmPrior, gmm.GmmSettings]:
    model = render(MODEL, page)
    with st.expander("Fit settings", expanded=False):
        fit = render(FIT, page)
    prior = gmm.GmmPrior(model["concentration"], model["scale_sd"], model["locs_sd"])
    return prior, gmm.GmmSettings(k=model["k"], **fit)
