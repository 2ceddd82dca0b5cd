"""The presenter view (``present=1``): a page as it reads from the back of a room.

Larger text on the charts and key numbers, and less of Streamlit's chrome: the sidebar
starts closed and the toolbar is hidden. It stays on while the session moves between pages
(the navigation drops a page's link parameters), until a link says ``present=0``.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

PRESENTING_KEY = "pme-presenting"
CHART_TEXT_PX = 22
CHART_TITLE_PX = 28

PRESENTER_STYLE = """
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] * {
  font-size: 3.6rem; line-height: 1.15; }
[data-testid="stMain"] [data-testid="stMetricDelta"],
[data-testid="stMain"] [data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"] * { font-size: 1.35rem; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; }
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none; }
"""


def presenting() -> bool:
    """Whether this session shows the presenter view; ``present=1`` turns it on, ``present=0`` off."""
    asked = st.query_params.get_all("present")
    if asked:
        st.session_state[PRESENTING_KEY] = asked[-1] == "1"
    on = bool(st.session_state.get(PRESENTING_KEY))
    if on and not asked:
        st.query_params["present"] = "1"  # so the projected page's link says how it looks
    return on


def enlarge(figure: go.Figure) -> go.Figure:
    """The same figure with its text at presenter size (a copy: cached figures stay as built)."""
    big = go.Figure(figure)
    big.update_layout(font=dict(size=CHART_TEXT_PX), title_font=dict(size=CHART_TITLE_PX))
    big.update_layout(legend=dict(font=dict(size=CHART_TEXT_PX)))
    big.update_xaxes(tickfont=dict(size=CHART_TEXT_PX), title_font=dict(size=CHART_TEXT_PX))
    big.update_yaxes(tickfont=dict(size=CHART_TEXT_PX), title_font=dict(size=CHART_TEXT_PX))
    height = big.layout.height
    if height:
        big.update_layout(height=int(height * 1.25))
    return big
