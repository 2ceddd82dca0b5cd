"""The mixture page's longer pieces: a failed fit's account (what, why, the fix in one click) and
the NUTS posterior read without labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import gmm_posterior
from ppl_models.engine.mcmc import McmcResult
from ppl_models.gmm import GmmFit
from ppl_models.gmm_health import FitSummary
from ui import charts, panels
from ui.chart_view import chart
from ui.gmm_controls import controls_for
from ui.numbers import decimal_text
from ui.text import escape


def _apply(values: dict) -> None:
    # A callback runs before the rerun draws the widgets, so they take these values and the
    # link follows them (every control is bound to the query string).
    st.session_state.update(values)


def _row(fit: FitSummary) -> dict:
    return {
        "fit": fit.label,
        "weights": " / ".join(decimal_text(w) for w in fit.weights),
        "locations": " / ".join(decimal_text(m) for m in fit.locs),
        "scale": fit.scale,
        "loss (this page's prior)": fit.loss,
        "log-likelihood": fit.log_likelihood,
        "problems": len(fit.check.problems),
    }


def fit_check(fit: GmmFit) -> None:
    """Nothing when the fit passed its check; otherwise its problems, their cause and the fix."""
    if fit.check.ok:
        return
    lines = "\n".join(f"- {escape(problem)}" for problem in fit.check.problems)
    st.error("**Don't trust this fit yet.**\n\n" + lines)
    diagnosis = fit.diagnosis
    if diagnosis is None:
        return
    with st.container(border=True):
        for heading, text in diagnosis.explanation:
            st.markdown(f"**{escape(heading)}.** {escape(text)}")
        if diagnosis.remedy:
            st.button(
                f"Apply the fix: {diagnosis.remedy_label}",
                type="primary",
                on_click=_apply,
                args=(controls_for(diagnosis.remedy),),
                help="Changes the setting (and the link) to the one whose fit was just checked and has none of "
                "these problems.",
                key="gmm-remedy",
            )
        if len(diagnosis.compared) > 1:
            st.markdown("**The fits side by side**: every loss is this page's objective; the lowest is MAP's choice.")
            panels.table(pd.DataFrame([_row(compared) for compared in diagnosis.compared]))


def label_free_posterior(run: McmcResult, fit: GmmFit, k: int) -> None:
    """The NUTS run read without labels: its advice, label switching named, the sorted
    posterior against the MAP fit, then the per-label traces and diagnostics."""
    panels.device_note(run)
    view = gmm_posterior.label_free(run)
    panels.advice(view.advice)
    (st.warning if view.switching.detected else st.info)("\n\n".join(view.notes))
    st.header("The posterior without labels")
    ranks = [gmm_posterior.rank_name(rank, k) for rank in range(k)]
    by_location = np.argsort(fit.locs)
    draws = view.sorted_draws
    chart(
        charts.ranked_histograms(
            {rank: draws[f"locs[{r}]"] for r, rank in enumerate(ranks)},
            "Locations, sorted in each draw",
            "location",
            marks=dict(zip(ranks, fit.locs[by_location], strict=True)),
        )
    )
    weight_col, scale_col = st.columns(2)
    chart(
        charts.ranked_histograms(
            {rank: draws[f"weights[{r}]"] for r, rank in enumerate(ranks)},
            "Weights, in the order of the locations",
            "weight",
            marks=dict(zip(ranks, fit.weights[by_location], strict=True)),
            # Weights live on [0, 1]: finer bins than this show sampling noise, not shape.
            bins=20,
        ),
        weight_col,
    )
    chart(
        charts.ranked_histograms({"scale": draws["scale"]}, "The shared scale", "scale", marks={"scale": fit.scale}),
        scale_col,
    )
    summary = panels.summary_frame(view.summaries)
    panels.table(summary, width="stretch")
    st.caption(
        "Every draw's components put in order of location, each keeping its own weight: the lowest "
        "location means the same in every chain and every mode. Dashed lines: the MAP fit above."
    )
    st.header("Per label, as sampled")
    trace_cols = st.columns(2)
    for i in range(k):
        name = f"locs[{i}]"
        chart(charts.trace_plot(run.draws[name], f"Trace of {name}, per chain", name), trace_cols[i % 2])
    panels.diagnostics_table(run.summaries, run.chains, run.wall_time_s)
