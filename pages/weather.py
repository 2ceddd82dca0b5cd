"""Stochastic functions: the lecture's weather and ice-cream models, simulated."""

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import weather
from ui import charts, panels, style
from ui.chart_view import chart
from ui.controls import SEED, render
from ui.notebook_button import notebook_button
from ui.numbers import decimal_text
from ui.runs import cached_run, show_provenance, show_unfinished
from ui.weather_controls import draw_count, weather_settings

style.title("Stochastic functions: weather and ice cream")
st.markdown(
    "A stochastic function is ordinary Python plus calls to `pyro.sample`. Each call of the "
    "lecture's `ice_cream_sales()` draws a day: cloudy or sunny, a temperature that depends on "
    "the weather, and sales that jump when a sunny day is hot. Draw many days and compare what "
    "they show with the exact probabilities."
)

with st.sidebar:
    st.header("Model numbers")
    params = weather_settings("weather")
    st.header("Simulation")
    run_settings = render([draw_count(10_000), SEED], "weather")

outcome = cached_run(
    weather.simulate,
    params,
    run_settings["n"],
    run_settings["seed"],
    panels.device_preference(),
    label="Drawing days",
)
if not outcome.ok:
    show_unfinished(outcome)
    if outcome.interrupted:  # else the setting itself was refused, and its exact values with it
        panels.exact_metrics(weather.exact_values(params))
    st.stop()
draws = outcome.result
panels.device_note(draws)
cloudy = draws.samples["cloudy"] == 1
temp, sales = draws.samples["temp"], draws.samples["ice_cream"]
n = len(temp)
for column, shown in zip(st.columns(3), weather.estimates(params, cloudy, temp, sales), strict=True):
    column.metric(
        shown.label,
        f"{shown.estimate:.3f}",
        f"exact {shown.exact:.3f}",
        delta_color="off",
        delta_arrow="off",
        help=f"Monte Carlo estimate from {n:,} draws (standard error {shown.standard_error:.3f}); "
        "below it, the exact value.",
    )
    if shown.note:
        column.warning(shown.note)
show_provenance(outcome)

st.header("The first draws, as the lecture prints them")
first = pd.DataFrame(
    {
        "weather()": [
            f"('{'cloudy' if c else 'sunny'}', {decimal_text(t)})" for c, t in zip(cloudy[:8], temp[:8], strict=True)
        ],
        "ice_cream_sales()": sales[:8],
    }
)
panels.table(first)

grid = np.linspace(temp.min(), temp.max(), 300)
temperature_curves = {
    f"exact, {name} share": (grid, y) for name, y in weather.temperature_densities(params, grid).items()
}
sales_grid = np.linspace(sales.min(), sales.max(), 400)
temp_col, sales_col = st.columns(2)
chart(
    charts.split_density_bars(
        {"cloudy": temp[cloudy], "sunny": temp[~cloudy]},
        temperature_curves,
        "Temperature, split by weather",
        "temp (°F)",
    ),
    temp_col,
)
chart(
    charts.density_histogram(
        sales,
        {"exact density": (sales_grid, weather.sales_density(params, sales_grid))},
        "Ice-cream sales",
        "ice_cream",
        bins=80,
    ),
    sales_col,
)
st.caption(f"{n:,} days drawn at once inside pyro.plate in {draws.wall_time_s * 1000:.0f} ms on {draws.device}.")

panels.model_section(
    weather.simulate_code(params, n, run_settings["seed"]), weather.ice_cream_sales, params.as_args(), ()
)
notebook_button("weather", weather.simulate_notebook, params, n, run_settings["seed"])
