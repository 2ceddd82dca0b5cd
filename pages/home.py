"""Home: what the app is, for whom, and a card per page."""

import streamlit as st

from ui import classroom, style
from ui.catalog import lecture_pages

style.title("Pyro Model Explorer")
st.markdown(
    "Explore the probabilistic programs of the causal-ML lecture on **Pyro** without editing "
    "any code. Move a slider for a prior, an observation (`measurement = 14`) or an "
    "intervention, and see at once what Pyro infers, next to the exact answer where one "
    "exists: posterior histograms, HMC/NUTS diagnostics, SVI loss curves.\n\n"
    "Made for students working through the lecture and for teachers demonstrating it to a "
    "class: results are shared between everyone on the server, and every setting is in the "
    "page's link, so a teacher can send the exact setting to the class."
)

with st.container(border=True):
    st.header("Teach a class")
    st.markdown(
        "Project the app and start a class: your students open one short link (or scan its QR code), and their "
        "pages follow yours, page and setting, until they choose to explore on their own. Turn on **Predict "
        "first** on a page to collect the class's guesses before the answer shows."
    )
    classroom.start_class_button()

for lecture in lecture_pages():
    with st.container(border=True):
        st.header(lecture.title)
        st.markdown(lecture.blurb)
        st.page_link(lecture.page, label=f"Open {lecture.title}", icon=":material/arrow_forward:")
