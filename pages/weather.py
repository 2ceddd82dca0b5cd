"""Stochastic functions: the lecture's weather and ice-cream models, simulated."""

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import weather
from ppl_models.exact import Normal
from ui import charts, panels
from ui.controls import render
from ui.runs import cached_run, show_provenance
from ui.shell import require_app_shell
from ui.weather_controls import SEED, draw_count, weather_params

require_app_shell()

st.title("Stochastic functions: weather and ice cream")
st.markdown(
    "A stochastic function is ordinary Python plus calls to `pyro.sample`. Each call of the "
    "lecture's `ice_cream_sales()` draws a day: cloudy or sunny, a temperature that depends on "
    "the weather, and sales that jump when a sunny day is hot. Draw many days and compare what "
    "they show with the exact probabilities."
)

with st.sidebar:
    st.header("Model numbers")
    params = weather_params("weather")
    st.header("Simulation")
    run_settings = render([draw_count(10_000), SEED], "weather")

outcome = cached_run(weather.simulate, params, run_settings["n"], run_settings["seed"], label="Drawing days")
if not outcome.ok:
    st.error(outcome.error)
    st.stop()
draws = outcome.result
cloudy = draws.samples["cloudy"] == 1
temp, sales = draws.samples["temp"], draws.samples["ice_cream"]
n = len(temp)
high = ~cloudy & (temp > params.threshold)

estimates = [
    ("P(cloudy)", cloudy.mean(), params.p_cloudy, cloudy.std() / np.sqrt(n)),
    ("P(high-sales day)", high.mean(), weather.p_high_regime(params), high.std() / np.sqrt(n)),
    ("E[sales]", sales.mean(), weather.expected_sales(params), sales.std() / np.sqrt(n)),
]
for column, (label, estimate, exact, standard_error) in zip(st.columns(3), estimates, strict=True):
    column.metric(
        label,
        f"{estimate:.3f}",
        f"exact {exact:.3f}",
        delta_color="off",
        delta_arrow="off",
        help=f"Monte Carlo estimate from {n:,} draws (standard error {standard_error:.3f}); below it, the exact value.",
    )
show_provenance(outcome)

st.subheader("The first draws, as the lecture prints them")
first = pd.DataFrame(
    {
        "weather()": [f"('{'cloudy' if c else 'sunny'}', {t:.2f})" for c, t in zip(cloudy[:8], temp[:8], strict=True)],
        "ice_cream_sales()": np.round(sales[:8], 2),
    }
)
st.dataframe(first, hide_index=True)

grid = np.linspace(temp.min(), temp.max(), 300)
temperature_curves = {
    "exact, cloudy share": (grid, params.p_cloudy * Normal(params.cloudy_mean, params.cloudy_sd).pdf(grid)),
    "exact, sunny share": (grid, (1 - params.p_cloudy) * Normal(params.sunny_mean, params.sunny_sd).pdf(grid)),
}
sales_grid = np.linspace(sales.min(), sales.max(), 400)
p_high = weather.p_high_regime(params)
sales_density = p_high * Normal(params.high_sales, params.sales_sd).pdf(sales_grid) + (1 - p_high) * Normal(
    params.low_sales, params.sales_sd
).pdf(sales_grid)
temp_col, sales_col = st.columns(2)
temp_col.plotly_chart(
    charts.split_density_bars(
        {"cloudy": temp[cloudy], "sunny": temp[~cloudy]}, temperature_curves, "Temperature, split by weather", "temp"
    )
)
sales_col.plotly_chart(
    charts.density_histogram(
        sales, {"exact density": (sales_grid, sales_density)}, "Ice-cream sales", "ice_cream", bins=80
    )
)
st.caption(f"{n:,} days drawn at once inside pyro.plate in {draws.wall_time_s * 1000:.0f} ms on {draws.device}.")

panels.model_section(
    weather.simulation_code(params, n, run_settings["seed"]), weather.ice_cream_sales, params.as_args(), ()
)
