"""Figures of a comparison: A, the pinned setting's result, over B, the current one's (``ui/compare.py``).

Pure plotly builders like ``ui/charts.py``, with its two rules: A and B differ in more than
colour (A solid and hatched ``/``, B dashed and dotted ``.``), and each figure writes its
summary with the key numbers of both. Trace names start with ``A: `` or ``B: `` so that a
test reads each side's data back by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ui.charts import RANK_COLOURS, _count, _layout, _n, _peak, _summarise
from ui.figure_cache import shared_figure

# (colour, dash, marker symbol, bar pattern) of each side.
SIDES = {
    "A": (RANK_COLOURS[0], "solid", "diamond", "/"),
    "B": (RANK_COLOURS[1], "dash", "x", "."),
}


@shared_figure
def pinned_posteriors(
    sides: Mapping[str, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]],
    x_label: str,
    title: str,
    bins: int = 40,
) -> go.Figure:
    """Each side's draws as a density histogram on shared bins, and its exact posterior over them.

    :param sides: "A" / "B" -> (draws, (x, exact density)).
    """
    draws = {name: np.asarray(values).reshape(-1) for name, (values, _) in sides.items()}
    everything = np.concatenate(list(draws.values())) if draws else np.zeros(1)
    low, high = float(everything.min()), float(everything.max())
    size = (high - low) / bins if high > low else 1.0
    fig = go.Figure()
    for name, values in draws.items():
        colour, _, _, pattern = SIDES[name]
        fig.add_histogram(
            x=values,
            histnorm="probability density",
            xbins=dict(start=low, end=high + size, size=size),
            name=f"{name}: samples",
            marker=dict(color=colour, pattern=dict(shape=pattern)),
            opacity=0.5,
        )
    parts = []
    for name, (_, (x, y)) in sides.items():
        colour, dash, _, _ = SIDES[name]
        fig.add_scatter(
            x=x, y=y, mode="lines", name=f"{name}: exact posterior", line=dict(color=colour, width=2.5, dash=dash)
        )
        values = draws[name]
        parts.append(
            f"{name}: {len(values):,} draws, mean {_n(values.mean()) if len(values) else 'none'}, "
            f"the exact posterior peaking at {x_label} = {_peak(x, y)}"
        )
    fig.update_layout(barmode="overlay", bargap=0)
    summary = f"The posterior of {x_label} under A and under B. " + "; ".join(parts) + "."
    return _summarise(_layout(fig, title, x_label, "density"), summary)


@shared_figure
def pinned_answers(
    questions: Sequence[str],
    answers: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    y_label: str,
) -> go.Figure:
    """Each question's estimate under A and under B as grouped bars, each side's exact value marked.

    :param answers: "A" / "B" -> (estimates, exact values), one per question.
    """
    fig = go.Figure()
    for name, (estimates, _) in answers.items():
        colour, _, _, pattern = SIDES[name]
        fig.add_bar(
            x=list(questions),
            y=list(estimates),
            name=f"{name}: estimate",
            marker=dict(color=colour, pattern=dict(shape=pattern)),
            opacity=0.75,
            offsetgroup=name,
        )
    for name, (_, exact) in answers.items():
        colour, _, symbol, _ = SIDES[name]
        fig.add_scatter(
            x=list(questions),
            y=list(exact),
            mode="markers",
            name=f"{name}: exact",
            marker=dict(symbol=symbol, size=13, color=colour, line=dict(width=1.5, color="#333")),
            offsetgroup=name,
        )
    fig.update_layout(barmode="group", scattermode="group")
    parts = [
        f"{question}: "
        + ", ".join(
            f"{name} {_n(estimates[index])} (exact {_n(exact[index])})" for name, (estimates, exact) in answers.items()
        )
        for index, question in enumerate(questions)
    ]
    summary = f"{y_label} under A and under B, question by question. " + "; ".join(parts) + "."
    return _summarise(_layout(fig, title, "question", y_label, height=380), summary)


def _density(grid: np.ndarray, weights: np.ndarray, locs: np.ndarray, scale: float) -> np.ndarray:
    z = (grid[:, None] - np.asarray(locs)[None, :]) / scale
    return (np.asarray(weights)[None, :] * np.exp(-0.5 * z * z)).sum(axis=1) / (scale * np.sqrt(2 * np.pi))


@shared_figure
def pinned_mixtures(
    sides: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    title: str = "The fitted mixtures of A and B",
) -> go.Figure:
    """Each side's fitted mixture density on one grid, and its data as ticks on the axis.

    :param sides: "A" / "B" -> (data, weights, locs, scale). Data the two sides share are
        drawn once, as "data".
    """
    fitted = {name: tuple(np.asarray(part, dtype=float) for part in side) for name, side in sides.items()}
    spread = max((3 * float(scale) for *_, scale in fitted.values()), default=1.0)
    low = min(min(data.min(), locs.min()) for data, _, locs, _ in fitted.values()) - spread
    high = max(max(data.max(), locs.max()) for data, _, locs, _ in fitted.values()) + spread
    grid = np.linspace(low, high, 500)
    fig = go.Figure()
    parts = []
    for name, (data, weights, locs, scale) in fitted.items():
        colour, dash, _, _ = SIDES[name]
        density = _density(grid, weights, locs, float(scale))
        line = dict(color=colour, width=3, dash=dash)
        fig.add_scatter(x=grid, y=density, mode="lines", name=f"{name}: mixture", line=line)
        components = ", ".join(f"weight {_n(w)} at {_n(loc)}" for w, loc in zip(weights, locs, strict=True))
        parts.append(
            f"{name}: {_count(len(locs), 'component')} with scale {_n(scale)} over {len(data):,} points "
            f"({components}), the density peaking at x = {_peak(grid, density)}"
        )
    datas = [data for data, *_ in fitted.values()]
    shared = len(datas) == 2 and datas[0].shape == datas[1].shape and np.array_equal(datas[0], datas[1])
    ticks = {"data": datas[0]} if shared else {f"{name}: data": side[0] for name, side in fitted.items()}
    # Different data go on two rows just under the axis, so that the points they share stay visible.
    below = 0.05 * max((float(trace.y.max()) for trace in fig.data), default=1.0)
    for index, (name, data) in enumerate(ticks.items()):
        shown = data if len(data) <= 2000 else np.random.default_rng(0).choice(data, 2000, replace=False)
        colour = "#333" if shared else SIDES[name[0]][0]
        fig.add_scatter(
            x=shown,
            y=np.full_like(shown, -index * below),
            mode="markers",
            name=name,
            marker=dict(symbol=("line-ns-open", "cross-thin-open")[index], size=14, color=colour),
        )
    summary = (
        "The fitted mixtures of A and B"
        + (", on the same data" if shared else ", on different data")
        + ". "
        + "; ".join(parts)
        + "."
    )
    return _summarise(_layout(fig, title, "x", "probability density", height=380), summary)
