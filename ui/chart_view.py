"""The one way a plotly chart reaches the page: the figure, and its summary for screen readers.

A chart is a picture to a screen reader. Each builder in ``ui/charts.py`` writes a short
summary of what it plots, with the key numbers, into the figure; :func:`chart` puts that
summary just before the chart as text that is read aloud but not shown. Every
``plotly_chart`` of the app goes through here (``tests/test_charts.py`` checks).
"""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from ui.charts import summary_of
from ui.presenter import enlarge, presenting

# Visually hidden, still read aloud: the class's rule is in ui/style.py with the app's others.
SR_ONLY = "pme-sr-only"


def spoken_summary(figure: go.Figure) -> str:
    """What a screen reader says for ``figure``: its title, then the builder's summary."""
    title = figure.layout.title.text or "Chart"
    # One line: a blank line would end the HTML block and let the rest parse as markdown.
    return " ".join(f"Chart: {title}. {summary_of(figure)}".split())


def chart(figure: go.Figure, where=None, *, key: str | None = None) -> None:
    """Draw ``figure`` in ``where`` (a column, a placeholder; the page when None) with its summary.

    The summary can quote user values (a data set's numbers, a title with a typed value), so it
    passes through ``html.escape``: it is the only HTML the app writes itself.
    """
    if presenting():
        figure = enlarge(figure)
    box = (st if where is None else where).container()
    box.markdown(
        f'<p class="{SR_ONLY}">{html.escape(spoken_summary(figure))}</p>',
        unsafe_allow_html=True,
    )
    box.plotly_chart(figure, key=key)
