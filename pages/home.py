"""Home: what the app is, for whom, and a card per page."""

import streamlit as st

from ui.shell import require_app_shell

require_app_shell()

st.title("Pyro Model Explorer")
st.markdown(
    "Explore the probabilistic programs of the causal-ML lecture on **Pyro** without editing "
    "any code. Move a slider for a prior, an observation (`measurement = 14`) or an "
    "intervention, and see at once what Pyro infers, next to the exact answer where one "
    "exists: posterior histograms, HMC/NUTS diagnostics, SVI loss curves.\n\n"
    "Made for students working through the lecture and for teachers demonstrating it to a "
    "class: results are shared between everyone on the server, and every setting is in the "
    "page's link, so a teacher can send the exact setting to the class."
)

CARDS = [
    (
        "pages/weather.py",
        "Stochastic functions",
        "The lecture's weather and ice-cream models: draw up to 100,000 days at once and compare "
        "what they show with the exact probabilities.",
    ),
    (
        "pages/causal.py",
        "Interventions & counterfactuals",
        "Seeing, doing and imagining: E[sales | temp = t] against E[sales | do(temp = t)], and what "
        "an observed day would have sold at another temperature.",
    ),
    (
        "pages/scale.py",
        "Conditioning & HMC",
        "The scale model: condition on a measurement with `pyro.condition`, infer the weight with "
        "HMC, NUTS or SVI, and check every answer against the exact posterior.",
    ),
]

CARDS.append(
    (
        "pages/gmm.py",
        "Gaussian mixture",
        "MAP by SVI with enumeration on the lecture's data, or on yours: the best of many initialisations, "
        "the loss converging live, each point's cluster, and the full posterior by NUTS.",
    )
)
CARDS.append(
    (
        "pages/shapes.py",
        "Tensor shapes",
        "sample_shape + batch_shape + event_shape, .expand, .to_event and nested pyro.plates: build a "
        "distribution, watch the shapes, and read Pyro's own explanation when they do not fit.",
    )
)

for page, title, description in CARDS:
    with st.container(border=True):
        st.subheader(title)
        st.markdown(description)
        st.page_link(page, label=f"Open {title}", icon=":material/arrow_forward:")
