"""The comparable pages (scale, causal, mixture): how a pinned setting becomes the page's own run,
and A's numbers and chart beside B's. The machinery is ``ui/compare.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import causal, gmm, scale
from ppl_models.causal import CausalSettings
from ppl_models.scale import ScaleSettings
from ppl_models.weather import WeatherSettings
from ui import compare_charts, inference_controls, panels
from ui.chart_view import chart
from ui.compare import SIDE_WORDS, Comparable, Side
from ui.controls import SEED, Control, build
from ui.gmm_controls import (
    DATA,
    FIT,
    LINKED_SOURCES,
    MODEL,
    PRIOR,
    SOURCE,
    SYNTHETIC_NUMBERS,
    TRUE_LOCS,
    data_controls,
    data_from,
    settings_from,
)
from ui.inference_controls import ALGO, MCMC_CONTROLS, SVI_CONTROLS
from ui.scale_controls import MODEL_CONTROLS
from ui.weather_controls import DAY, DO_WEATHER, TEMP, WEATHER_CONTROLS, draw_count


def _distinct(*controls: Control) -> tuple[Control, ...]:
    """Each control once, by URL key (the seed is the sampler's and SVI's)."""
    distinct: dict[str, Control] = {}
    for control in controls:
        distinct.setdefault(control.key, control)
    return tuple(distinct.values())


def _columns(a: Side, b: Side):
    """A's column and B's, each headed by its side."""
    columns = st.columns(2)
    for column, side in zip(columns, (a, b), strict=True):
        column.markdown(f"**{SIDE_WORDS[side.name]}**")
    return zip(columns, (a, b), strict=True)


# ---- the scale page ----------------------------------------------------------------------------


def _scale_query(values: Mapping[str, Any]) -> ScaleSettings:
    return build(ScaleSettings, MODEL_CONTROLS, values)


def _scale_run(values: Mapping[str, Any], device: str) -> tuple:
    settings = inference_controls.settings_from(values["algo"], values, device)
    return (scale.infer_weight, _scale_query(values), settings)


def _scale_show(a: Side, b: Side) -> None:
    exact = {side.name: scale.exact_posterior(_scale_query(side.values)) for side in (a, b)}
    for column, side in _columns(a, b):
        for label, value, truth in (
            ("posterior mean", side.result.mean, exact[side.name].mean),
            ("posterior sd", side.result.sd, exact[side.name].sd),
        ):
            column.metric(
                f"{side.name}: {label}",
                f"{value:.3f}",
                f"{value - truth:+.3f} vs exact {truth:.3f}",
                delta_color="off",
                delta_arrow="off",
                help=f"{SIDE_WORDS[side.name]}: from its draws (MCMC) or its guide (SVI); beside it, the exact value.",
            )
    low = min(e.mean - 4 * e.sd for e in exact.values())
    high = max(e.mean + 4 * e.sd for e in exact.values())
    grid = np.linspace(low, high, 300)
    sides = {side.name: (side.result.weight_draws, (grid, exact[side.name].pdf(grid))) for side in (a, b)}
    chart(compare_charts.pinned_posteriors(sides, "weight", "P(weight | measurement): A and B"))


SCALE = Comparable(
    page="scale",
    every=_distinct(*MODEL_CONTROLS, ALGO, *MCMC_CONTROLS, *SVI_CONTROLS),
    controls=lambda values: [*MODEL_CONTROLS, ALGO, *inference_controls.controls_for(values["algo"])],
    run=_scale_run,
    show=_scale_show,
)


# ---- the causal page ---------------------------------------------------------------------------

# As pages/causal.py draws them: the simulation's (its number of draws is the page's own) and the questions.
CAUSAL_RUN: list[Control] = [draw_count(20_000), SEED]
QUESTION_CONTROLS: list[Control] = [TEMP, DO_WEATHER, *DAY]
QUESTIONS = ("seeing", "doing temp", "doing weather", "imagining")


def _causal_run(values: Mapping[str, Any], device: str) -> tuple:
    return (
        causal.answer,
        build(WeatherSettings, WEATHER_CONTROLS, values),
        build(CausalSettings, QUESTION_CONTROLS, values),
        values["n"],
        values["seed"],
        device,
    )


def _answers(result: causal.CausalAnswers) -> dict[str, causal.Answer]:
    """The four answers by the question each metric names."""
    q = result.question
    return {
        f"E[sales | temp = {q.temp:g}]": result.conditioned,
        f"E[sales | do(temp = {q.temp:g})]": result.intervened,
        f"E[sales | do(weather = {q.do_weather})]": result.weather_intervened,
        "E[counterfactual sales]": result.counterfactual,
    }


def _causal_show(a: Side, b: Side) -> None:
    for column, side in _columns(a, b):
        for label, answer in _answers(side.result).items():
            column.metric(
                f"{side.name}: {label}",
                f"{answer.mean:.1f}",
                f"exact {answer.exact:.1f}",
                delta_color="off",
                delta_arrow="off",
                help=f"{SIDE_WORDS[side.name]}. Effective sample size {answer.ess:,.0f}.",
            )
    answers = {side.name: tuple([answer.mean for answer in _answers(side.result).values()]) for side in (a, b)}
    exact = {side.name: tuple([answer.exact for answer in _answers(side.result).values()]) for side in (a, b)}
    chart(
        compare_charts.pinned_answers(
            QUESTIONS,
            {name: (answers[name], exact[name]) for name in answers},
            "The answers of A and B",
            "expected sales",
        )
    )


CAUSAL = Comparable(
    page="causal",
    every=_distinct(*WEATHER_CONTROLS, *CAUSAL_RUN, *QUESTION_CONTROLS),
    controls=lambda values: [*WEATHER_CONTROLS, *CAUSAL_RUN, *QUESTION_CONTROLS],
    run=_causal_run,
    show=_causal_show,
)


# ---- the mixture page --------------------------------------------------------------------------


def _gmm_controls(values: Mapping[str, Any]) -> list[Control]:
    source = values["source"]
    data = data_controls(source) if source in LINKED_SOURCES else []
    return [SOURCE, *data, *MODEL, *PRIOR, *FIT]


def _gmm_run(values: Mapping[str, Any], device: str) -> tuple:
    return (gmm.fit_map, data_from(values["source"], values), *settings_from(values, device))


def _gmm_refuse(values: Mapping[str, Any]) -> str:
    if values["source"] in LINKED_SOURCES:
        return ""
    return (
        "the data of a table or an uploaded file do not travel in a link, and a pinned setting lives in the "
        "link; type the numbers or draw synthetic data to pin a setting"
    )


def _gmm_show(a: Side, b: Side) -> None:
    for column, side in _columns(a, b):
        fit = side.result
        with column:
            panels.table(
                pd.DataFrame(
                    {
                        "component": np.arange(1, len(fit.locs) + 1),
                        f"{side.name}: weight": fit.weights,
                        f"{side.name}: loc": fit.locs,
                    }
                )
            )
        said = f"{SIDE_WORDS[side.name]}: the shared scale of the components (MAP)."
        column.metric(f"{side.name}: scale", f"{fit.scale:.3f}", help=said)
    sides = {side.name: (side.result.data, side.result.weights, side.result.locs, side.result.scale) for side in (a, b)}
    chart(compare_charts.pinned_mixtures(sides))


GMM = Comparable(
    page="gmm",
    every=_distinct(SOURCE, DATA, TRUE_LOCS, *SYNTHETIC_NUMBERS, *MODEL, *PRIOR, *FIT),
    controls=_gmm_controls,
    run=_gmm_run,
    show=_gmm_show,
    label="Fitting A, the pinned setting",
    refuse=_gmm_refuse,
)
