"""Conditioning & HMC: the lecture's scale model, its exact posterior, and Pyro's answer."""

import numpy as np
import streamlit as st

from ppl_models import scale
from ppl_models.graphs import model_graph
from ui import charts, panels
from ui.controls import Slider, render
from ui.inference_controls import inference_settings
from ui.runs import cached_run, show_provenance

MODEL_CONTROLS = [
    Slider(
        "guess",
        "Prior guess of the weight",
        0.0,
        30.0,
        10.0,
        0.1,
        "The mean of the prior: weight ~ Normal(guess, prior sd). The lecture used 10.",
    ),
    Slider("prior_sd", "Prior sd", 0.1, 10.0, 1.0, 0.05, "How unsure the guess is."),
    Slider(
        "noise_sd",
        "Measurement noise sd",
        0.1,
        10.0,
        0.75,
        0.05,
        "measurement ~ Normal(weight, noise sd): how noisy the scale is.",
    ),
    Slider(
        "measurement",
        "Observed measurement",
        0.0,
        30.0,
        14.0,
        0.1,
        "What the scale showed; Pyro conditions on it with pyro.condition.",
    ),
]

st.title("Conditioning & HMC: the scale model")
st.markdown(
    "We guess an object's weight, then weigh it on a noisy scale. "
    "`pyro.condition` fixes the measurement, and Pyro infers the weight. Because both "
    "distributions are normal, the **exact** posterior is known, so you can see how well "
    "each inference method does."
)

with st.sidebar:
    st.header("Model and evidence")
    query = scale.ScaleQuery(**render(MODEL_CONTROLS, "scale"))
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
histogram_slot = st.empty()


def draw_partial(progress):
    if "weight" in progress.partial and len(progress.partial["weight"]) > 1:
        histogram_slot.plotly_chart(
            charts.density_histogram(progress.partial["weight"], curves, title + " (so far)", "weight")
        )
    elif "loss" in progress.partial:
        histogram_slot.plotly_chart(charts.loss_curve(progress.partial["loss"], "SVI loss so far"))


outcome = cached_run(scale.infer_weight, query, settings, label="Inferring the weight", live=draw_partial)
if not outcome.ok:
    histogram_slot.empty()
    st.error(outcome.error)
    st.stop()

result = outcome.result
histogram_slot.plotly_chart(charts.density_histogram(result.weight_draws, curves, title, "weight"))
mean_col, sd_col = st.columns(2)
mean_col.metric(
    "Posterior mean",
    f"{result.mean:.3f}",
    f"{result.mean - exact.mean:+.3f} vs exact {exact.mean:.3f}",
    delta_color="off",
    delta_arrow="off",
    help="Mean of the draws (MCMC) or the guide's loc (SVI), beside the exact value.",
)
sd_col.metric(
    "Posterior sd",
    f"{result.sd:.3f}",
    f"{result.sd - exact.sd:+.3f} vs exact {exact.sd:.3f}",
    delta_color="off",
    delta_arrow="off",
    help="Standard deviation of the draws, or the guide's scale.",
)
panels.advice(result.advice)
show_provenance(outcome)

if result.mcmc is not None:
    run = result.mcmc
    if run.device_note:
        st.info(run.device_note)
    st.subheader("Diagnostics")
    trace_col, acf_col = st.columns(2)
    trace_col.plotly_chart(charts.trace_plot(run.draws["weight"], "Trace of weight, per chain", "weight"))
    acf_col.plotly_chart(charts.autocorrelation_plot(run.autocorrelation["weight"], "Autocorrelation of weight"))
    panels.diagnostics_table(run.summaries, run.chains, run.wall_time_s)
    st.download_button("Download the samples (CSV)", panels.samples_csv(run.draws), "scale_samples.csv", "text/csv")
else:
    run = result.svi
    if run.device_note:
        st.info(run.device_note)
    st.subheader("How SVI converged")
    loss_col, path_col = st.columns(2)
    loss_col.plotly_chart(charts.loss_curve(run.losses))
    path_col.plotly_chart(
        charts.parameter_paths(
            run.trajectories,
            {"weight_loc": exact.mean, "weight_scale": exact.sd},
            "Guide parameters vs exact posterior",
        )
    )
    st.caption(f"{run.settings.num_steps} steps in {run.wall_time_s:.2f} s.")

st.subheader("The model")
graph = cached_run(
    model_graph,
    scale.scale,
    (query.guess, query.prior_sd, query.noise_sd),
    (("measurement", query.measurement),),
    label="Drawing the model",
)
panels.code_and_graph(
    scale.pyro_code(query, settings),
    graph.result if graph.ok else "digraph {}",
    "Drawn by pyro.render_model; the shaded node is observed.",
)
