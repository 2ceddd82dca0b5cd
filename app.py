"""Pyro Model Explorer: the entry point. Page config, navigation, the shared sidebar."""

import streamlit as st

from ui.controls import Choice, render
from ui.panels import DEVICE_KEY
from ui.warmup import warm_default_settings

st.set_page_config(page_title="Pyro Model Explorer", page_icon=":material/casino:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/weather.py", title="Stochastic functions", icon=":material/sunny:", url_path="weather"),
    st.Page(
        "pages/causal.py", title="Interventions & counterfactuals", icon=":material/call_split:", url_path="causal"
    ),
    st.Page("pages/scale.py", title="Conditioning & HMC", icon=":material/balance:", url_path="scale"),
    st.Page("pages/gmm.py", title="Gaussian mixture", icon=":material/scatter_plot:", url_path="gmm"),
    st.Page("pages/shapes.py", title="Tensor shapes", icon=":material/view_in_ar:", url_path="shapes"),
]
DEVICE = Choice(
    DEVICE_KEY,
    "Compute device",
    ("auto", "cpu", "cuda"),
    (),
    "auto",
    "auto: the CPU for small models (faster: no GPU kernel-launch overhead), a GPU only for "
    "big data-parallel work, when one is present. cuda without a GPU falls back to the CPU.",
    compact=True,
)

navigation = st.navigation(PAGES)
with st.sidebar:
    render([DEVICE], "app")
warm_default_settings()
navigation.run()
