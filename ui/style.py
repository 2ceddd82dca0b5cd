"""The app's few style rules, sent once per run from ``app.py``.

Each rule is here because a setting of Streamlit or plotly could not say it.
"""

import streamlit as st

# Plotly, under Streamlit's chart theme, draws tick labels and axis titles in a faded grey
# (3.7:1 on white): too pale to read from the back of a classroom. ``currentColor`` is the
# theme's own text colour, so the charts stay readable when the student picks the dark theme.
_CHART_TEXT = """
.js-plotly-plot .main-svg :is(.xtick, .ytick) text,
.js-plotly-plot .main-svg text:is(.xtitle, .ytitle, .gtitle, .legendtext, .annotation-text) {
  fill: currentColor !important;
}
"""

# Streamlit's header shows its own Stop while any script runs. It halts the script without
# a rerun: the run ends with no message and no Run again, the page left half drawn. A
# page's Stop is ui.runs.LiveRun's alone; the running figure beside it still says a run is on.
_ONE_STOP_BUTTON = """
[data-testid="stStatusWidget"] button { display: none; }
"""


def apply_page_style() -> None:
    # A <style>-only st.html goes to Streamlit's event container: it takes no room on the page.
    st.html(f"<style>{_CHART_TEXT}{_ONE_STOP_BUTTON}</style>")
