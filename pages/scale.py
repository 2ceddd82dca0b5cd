"""Conditioning & HMC: the lecture's scale model, its exact posterior, and Pyro's answer."""

import numpy as np
import streamlit as st

from ppl_models import scale
from ui import charts, panels, style
from ui.compare_views import SCALE
from ui.controls import build, render
from ui.inference_controls import inference_settings
from ui.notebook_button import notebook_button
from ui.predict import Prediction, predict_first
from ui.runs import LiveSlot, cached_run, show_provenance, show_unfinished
from ui.scale_controls import MODEL_CONTROLS

style.title("Conditioning & HMC: the scale model")
st.markdown(
    "We guess an object's weight, then weigh it on a noisy scale. "
    "`pyro.condition` fixes the measurement, and Pyro infers the weight. Because both "
    "distributions are normal, the **exact** posterior is known, so you can see how well "
    "each inference method does."
)

with st.sidebar:
    st.header("Model and evidence")
    query = build(scale.ScaleSettings, MODEL_CONTROLS, render(MODEL_CONTROLS, "scale"))
    st.header("Inference")
    settings = inference_settings("scale")

exact, prior = scale.exact_posterior(query), scale.prior(query)
grid = np.linspace(
    min(prior.mean - 4 * prior.sd, exact.mean - 4 * exact.sd),
    max(prior.mean + 4 * prior.sd, exact.mean + 4 * exact.sd),
    300,
)
curves = {"exact posterior": (grid, exact.pdf(grid)), "prior": (grid, prior.pdf(grid))}
title = f"P(weight | measurement = {query.measurement:g})"
# The answer before the picture: at 1280x720 a projected page shows the numbers unscrolled.
key_numbers = st.container()
histogram = LiveSlot("weight-histogram")


def draw_partial(progress):
    if "weight" in progress.partial and len(progress.partial["weight"]) > 1:
        histogram.show(charts.density_histogram(progress.partial["weight"], curves, title + " (so far)", "weight"))
    elif "loss" in progress.partial:
        histogram.show(charts.loss_curve(progress.partial["loss"], "SVI loss so far"))


if predict_first(Prediction("the posterior mean of the weight", -100.0, 100.0, (exact.mean,))):
    st.stop()
outcome = cached_run(scale.infer_weight, query, settings, label="Inferring the weight", live=draw_partial)
if outcome.ok:
    result = outcome.result
    histogram.show(charts.density_histogram(result.weight_draws, curves, title, "weight"))
    with key_numbers:
        panels.estimate_metrics(result.mean, result.sd, exact.mean, exact.sd, "the guide's loc and scale (SVI)")
    panels.advice(result.advice)
    show_provenance(outcome)
    SCALE.section(result)
    if result.mcmc is not None:
        panels.mcmc_diagnostics(result.mcmc, "scale_samples.csv")
    else:
        panels.svi_convergence(result.svi, {"weight_loc": exact.mean, "weight_scale": exact.sd})
else:
    # What needs no inference stays: the exact posterior against the prior, and its numbers.
    histogram.show(charts.density_histogram(None, curves, title, "weight"))
    with key_numbers:
        panels.exact_metrics({"Exact posterior mean": exact.mean, "Exact posterior sd": exact.sd})
        show_unfinished(outcome)
panels.model_section(
    scale.infer_weight_code(query, settings),
    scale.scale,
    (query.guess, query.prior_sd, query.noise_sd),
    (("measurement", query.measurement),),
)
notebook_button("scale", scale.infer_weight_notebook, query, settings)
