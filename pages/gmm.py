"""The lecture's Gaussian mixture: MAP by SVI with enumeration, live, on any data."""

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import gmm, gmm_data
from ppl_models.engine.mcmc import McmcSettings
from ui import charts, gmm_panels, panels, style
from ui.chart_view import chart
from ui.compare_views import GMM
from ui.gmm_controls import data_source, fit_settings
from ui.notebook_button import notebook_button
from ui.numbers import probability_text
from ui.predict import Prediction, predict_first
from ui.runs import LiveSlot, cached_run, show_provenance, show_unfinished
from ui.text import escape

style.title("Gaussian mixture: MAP by SVI with enumeration")
st.markdown(
    "The lecture clusters five points with a two-component mixture. `AutoDelta` turns SVI into "
    "MAP estimation of the weights, locations and shared scale, while `TraceEnum_ELBO` sums out "
    "each point's cluster assignment exactly. Change the data or K and watch the fit converge."
)

with st.sidebar:
    st.header("Data")
    data, data_problem = data_source("gmm")
    st.header("Model")
    prior, settings = fit_settings("gmm")

if data_problem:
    st.error(escape(data_problem))
    st.stop()

# The fitted numbers before the picture: at 1280x720 a projected page shows them unscrolled.
key_numbers = st.container()
live = LiveSlot("gmm-main")
outcome = cached_run(
    gmm.fit_map,
    data,
    prior,
    settings,
    label="Fitting the mixture",
    live=lambda p: live.show(charts.loss_curve(p.partial["loss"], "SVI loss so far")) if "loss" in p.partial else None,
)
if not outcome.ok:
    live.clear()
    show_unfinished(outcome)
    if outcome.interrupted:
        # The run got past the data's checks: the data, which need no fit, stay on the page.
        values = gmm_data.as_array(data)
        live.show(charts.density_histogram(values, None, f"The data: {len(values):,} points", "x", 60, "data"))
        with st.expander("Model and code"):
            st.code(gmm.fit_map_code(values, prior, settings), language="python")
    st.stop()
fit = outcome.result
low, high = float(np.min(fit.data)), float(np.max(fit.data))
reach = max(high - low, 1.0)
locations = Prediction(
    "the mixture's locations, lowest first",
    low - reach,
    high + reach,
    tuple(sorted(float(loc) for loc in fit.locs)),
    tuple(f"location {k + 1}" for k in range(len(fit.locs))),
)
if predict_first(locations):
    live.clear()
    st.stop()
panels.device_note(fit)
truth = (np.asarray(data.locs), data.scale) if isinstance(data, gmm_data.SyntheticData) else None
live.show(charts.mixture_density(fit.data, fit.weights, fit.locs, fit.scale, truth))

estimates, scale_col = key_numbers.columns([3, 1])
with estimates:
    panels.table(pd.DataFrame({"component": np.arange(1, settings.k + 1), "weight": fit.weights, "loc": fit.locs}))
scale_col.metric("scale", f"{fit.scale:.3f}", help="The shared standard deviation of every component (MAP).")
with key_numbers:
    gmm_panels.fit_check(fit)
note = " A random subsample of 5,000 points fed each step." if fit.subsampled else ""
st.caption(
    f"{len(fit.data):,} points; best of {settings.inits} {'spread-out' if settings.init == 'spread' else 'random'} "
    f"initialisations (#{fit.chosen_init}), "
    f"{settings.steps} steps.{note}"
)
show_provenance(outcome)
GMM.section(fit)

starts, convergence, members, posterior, model_tab = st.tabs(
    ["Initialisations", "Convergence", "Membership", "Full posterior (NUTS)", "Model and code"], key="gmm-tab"
)
with starts:
    chart(charts.start_scores_plot(fit.start_scores, fit.chosen_init, settings.init))
with convergence:
    loss_col, grad_col = st.columns(2)
    chart(charts.loss_curve(fit.svi.losses), loss_col)
    chart(charts.gradient_norms_plot(fit.svi.grad_norms), grad_col)
with members:
    shown = min(len(fit.data), 500)
    table = pd.DataFrame({"x": fit.data[:shown], "MAP component": fit.map_assignment[:shown] + 1})
    # Text, not numbers: "< 0.001" says "very unlikely" where 2e-9 printed as 0.000 says "impossible".
    probability_columns = {}
    for component in range(settings.k):
        name = f"P(component {component + 1})"
        table[name] = [probability_text(p) for p in fit.membership[:shown, component]]
        probability_columns[name] = st.column_config.TextColumn(alignment="right")
    panels.table(table, probability_columns)
    st.caption(
        "MAP component: Pyro's infer_discrete at temperature 0. P(component k): each component's share of "
        "the point's density under the MAP parameters, to three decimals."
        f"{' First 500 points shown.' if shown < len(fit.data) else ''}"
    )
with posterior:
    st.markdown(
        "MAP gives one point; NUTS samples the whole posterior of weights, locations and scale, with the "
        "assignments still summed out. **Label switching:** swapping two components' labels does not change "
        "the likelihood, so the posterior has K! mirror-image modes. Chains may jump between them, or settle "
        "in different ones, which makes per-label averages and R-hat meaningless. Below, each draw's "
        "components are sorted by location, which gives quantities without labels."
    )
    panels.glossary(panels.SAMPLER_TERMS)
    if st.toggle("Sample the full posterior with NUTS (2 chains, slower)", key="nuts"):
        nuts = McmcSettings(
            kernel="nuts",
            num_samples=150,
            warmup_steps=100,
            num_chains=2,
            max_tree_depth=6,
            seed=settings.seed,
            device=settings.device,
        )
        sampled = cached_run(gmm.sample_posterior, data, prior, settings.k, nuts, label="Sampling with NUTS")
        if sampled.ok:
            gmm_panels.label_free_posterior(sampled.result, fit, settings.k)
        else:
            show_unfinished(sampled)
with model_tab:
    st.code(gmm.fit_map_code(fit.data, prior, settings), language="python")
    notebook_button("gmm", gmm.fit_map_notebook, fit.data, prior, settings)
