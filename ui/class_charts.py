"""The class's figures: its guesses, with the answer and one student's own guess marked.

Pure plotly builders under :mod:`ui.charts`' rules (tests/test_charts.py checks them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.charts import BAR_PATTERNS, EXACT_COLOUR, RANK_COLOURS, _layout, _n, _summarise
from ui.figure_cache import shared_figure

OWN_COLOUR = "#1f77b4"


@shared_figure
def guesses_histogram(
    guesses: np.ndarray, names: Sequence[str], answer: Sequence[float] | None, own: Sequence[float] | None
) -> go.Figure:
    """One histogram of the class's guesses per number asked, the answer and this student's guess as lines."""
    guesses = np.asarray(guesses, dtype=float).reshape(len(guesses), -1) if len(guesses) else np.zeros((0, len(names)))
    fig = go.Figure()
    # Bins over everything marked, about 20 across: plotly's own choice for two guesses is one bar
    # as wide as the chart, and the answer may lie outside the guesses' range.
    marked = [*guesses.ravel(), *(answer or ()), *(own or ())]
    low, high = (min(marked), max(marked)) if marked else (0.0, 1.0)
    width = max((high - low) / 20, 1e-3 * max(1.0, abs(low), abs(high)))
    for i, name in enumerate(names):
        label = f"the class's guesses{': ' + name if name else ''}"
        fig.add_histogram(
            x=guesses[:, i],
            name=label,
            xbins=dict(start=low - width, end=high + width, size=width),
            marker=dict(color=RANK_COLOURS[i % len(RANK_COLOURS)], pattern=dict(shape=BAR_PATTERNS[i % 6])),
            opacity=0.7,
        )
    fig.update_xaxes(range=[low - 2 * width, high + 2 * width])
    top = max(1, len(guesses))
    for values, name, colour, dash in (
        (answer, "the answer", EXACT_COLOUR, "solid"),
        (own, "your guess", OWN_COLOUR, "dash"),
    ):
        if values is None:
            continue
        xs, ys = [], []
        for value in values:
            xs += [value, value, None]
            ys += [0, top, None]
        fig.add_scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=colour, width=3, dash=dash))
    fig.update_layout(barmode="overlay")
    spread = (
        f"{len(guesses):,} guess{'' if len(guesses) == 1 else 'es'}, from {_n(guesses.min())} to "
        f"{_n(guesses.max())}, median "
        f"{', '.join(_n(m) for m in np.median(guesses, axis=0))}"
        if len(guesses)
        else "No guesses yet"
    )
    summary = (
        spread
        + (f"; the answer is {', '.join(_n(a) for a in answer)}" if answer is not None else "")
        + (f"; your guess is {', '.join(_n(g) for g in own)}." if own is not None else ".")
    )
    return _summarise(_layout(fig, "The class's guesses", "guess", "students", height=300), summary)
