"""The mixture page's account of a fit that went wrong: what, why, and the fix in one click."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ppl_models.gmm import GmmFit
from ppl_models.gmm_health import FitSummary
from ui.gmm_controls import controls_for
from ui.text import escape


def _apply(values: dict) -> None:
    # A callback runs before the rerun draws the widgets, so they take these values and the
    # link follows them (every control is bound to the query string).
    st.session_state.update(values)


def _row(fit: FitSummary) -> dict:
    return {
        "fit": fit.label,
        "weights": " / ".join(f"{w:.3f}" for w in fit.weights),
        "locations": " / ".join(f"{m:.2f}" for m in fit.locs),
        "scale": round(fit.scale, 3),
        "loss (this page's prior)": round(fit.loss, 2),
        "log-likelihood": round(fit.log_likelihood, 2),
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
            st.dataframe(pd.DataFrame([_row(compared) for compared in diagnosis.compared]), hide_index=True)
