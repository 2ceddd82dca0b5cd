"""Pure plotly figure builders: data in, ``go.Figure`` out, no Streamlit calls.

Trace names are stable ("samples", "exact posterior", "prior", "chain 1", ...), so
tests read a chart's data back by name from the figure's JSON.

Two rules for people who cannot see the chart as drawn (issue 16, point 11):

- Colour never carries meaning alone: every series also has its own dash pattern, marker
  symbol or bar pattern, and a legend name.
- Every figure carries a one- or two-sentence summary with its key numbers in
  ``layout.meta["summary"]`` (:func:`summary_of`); the page renders it as screen-reader
  text beside the chart (``ui/chart_view.py``). The builder writes it because only the
  builder knows the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ui.figure_cache import shared_figure

CHAIN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
# The app has a light and a dark theme and plotly follows it, so a fixed line colour has to
# stand out on both backgrounds (at least 3:1 against white and against Streamlit's dark
# #171614): black, the usual "truth" colour, vanishes on the dark one.
EXACT_COLOUR = "#d9480f"
PRIOR_COLOUR = "#8c8c8c"
# A projected chart is read from the back of a room: nothing smaller than 14 px.
TEXT_PX = 14
TITLE_PX = 18
# One per mixture component, up to the page's largest K (6); the first four are the chains'.
RANK_COLOURS = (*CHAIN_COLOURS, "#9467bd", "#8c564b")
# Paired with the colours above by index, so two series differ in more than colour. "dot" is
# left out: exact targets and the true mixture are dotted.
DASHES = ("solid", "dash", "dashdot", "longdash", "longdashdot", "8px,3px,2px,3px,2px,3px")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star-triangle-down")
BAR_PATTERNS = ("", "/", ".", "x", "-", "|")
# A mixture's components: the dashes without "solid", which is the mixture's own line.
COMPONENT_DASHES = (*DASHES[1:], "12px,3px,3px,3px")


def _style(index: int) -> tuple[str, str, str, str]:
    """The ``index``-th series' colour, dash pattern, marker symbol and bar pattern."""
    at = index % len(RANK_COLOURS)
    return RANK_COLOURS[at], DASHES[at], SYMBOLS[at], BAR_PATTERNS[at]


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" + ("" if number == 1 else "s")


def _n(value: float) -> str:
    """A number as a summary reads it: three significant figures, thousands separated."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _peak(x: np.ndarray, y: np.ndarray) -> str:
    x, y = np.asarray(x), np.asarray(y)
    if not len(y):
        return "nowhere (no points)"
    at = int(np.argmax(y))
    return f"{_n(x[at])} (height {_n(y[at])})"


def _with_layout(fig: go.Figure, changes: dict) -> go.Figure:
    """``fig`` with ``changes`` deep-merged into its layout, as a new figure.

    ``update_layout`` resolves every key through plotly's property machinery and its
    relayout batch: about 9 ms a call, where building a figure from its traces and a layout
    dict takes 1 ms. A fresh page draws three charts or more, and a class's fresh results
    arrive together (bench/class_batch.py).
    """
    layout = fig.layout.to_plotly_json()
    # The default template comes back with a new figure; copied, it would be validated
    # again, property by property (most of a chart's cost).
    layout.pop("template", None)

    def merge(into: dict, more: dict) -> dict:
        for key, value in more.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value
        return into

    return go.Figure(data=fig.data, layout=merge(layout, changes))


def _summarise(fig: go.Figure, summary: str) -> go.Figure:
    # One property set directly: update_layout would cost a relayout batch (see _with_layout).
    fig.layout.meta = {"summary": summary}
    return fig


def summary_of(fig: go.Figure | dict) -> str:
    """The summary a builder wrote into ``fig`` (a figure or its JSON); empty if none."""
    # The layout's own meta, not a JSON copy of the whole layout: this runs for every chart drawn.
    meta = (fig.get("layout", {}).get("meta") if isinstance(fig, dict) else fig.layout.meta) or {}
    return meta.get("summary", "") if isinstance(meta, dict) else ""


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 340, **more: Any) -> go.Figure:
    """The app's chart style; ``more`` are further layout properties (``shapes``, ``barmode``)."""

    # One merge of nested dicts (_with_layout): "xaxis_title"-style paths and update_xaxes
    # calls made this 20 ms a chart, the largest cost of a fresh page.
    def axis(label: str) -> dict:
        return dict(title=dict(text=label, font=dict(size=TEXT_PX)), tickfont=dict(size=TEXT_PX))

    return _with_layout(
        fig,
        dict(
            title=dict(text=title, font=dict(size=TITLE_PX)),
            xaxis=axis(x),
            yaxis=axis(y),
            height=height,
            margin=dict(l=10, r=10, t=50, b=10),
            font=dict(size=TEXT_PX),
            legend=dict(orientation="h", y=-0.25, font=dict(size=TEXT_PX)),
            **more,
        ),
    )


@shared_figure
def density_histogram(
    draws: np.ndarray | None,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str = "",
    x_label: str = "",
    bins: int = 40,
    draws_name: str = "samples",
) -> go.Figure:
    """A histogram of ``draws`` on a density scale, with named density curves over it.

    :param draws: None for the curves alone (a run stopped before it gave draws).
    :param curves: name -> (x, density); drawn dashed for names starting with "prior".
    """
    values = np.asarray(draws if draws is not None else []).reshape(-1)
    fig = go.Figure()
    if draws is not None:
        fig.add_histogram(
            x=values,
            histnorm="probability density",
            nbinsx=bins,
            name=draws_name,
            marker_color="#4c78a8",
            opacity=0.65,
        )
    peaks = []
    for name, (x, y) in (curves or {}).items():
        is_prior = name.startswith("prior")
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=name,
            line=dict(color=PRIOR_COLOUR if is_prior else EXACT_COLOUR, width=2, dash="dash" if is_prior else "solid"),
        )
        peaks.append(f"the {name} peaks at {x_label or 'x'} = {_peak(x, y)}")
    drawn = (
        f"Histogram of {len(values):,} draws of {x_label or 'the quantity'}, mean {_n(values.mean())}, "
        f"sd {_n(values.std())}."
        if len(values)
        else f"No draws of {x_label or 'the quantity'} yet."
    )
    summary = drawn + (" Over it, " + "; ".join(peaks) + "." if peaks else "")
    return _summarise(_layout(fig, title, x_label, "density"), summary)


@shared_figure
def ranked_histograms(
    series: Mapping[str, np.ndarray],
    title: str,
    x_label: str,
    marks: Mapping[str, float] | None = None,
    bins: int = 40,
) -> go.Figure:
    """Overlaid density histograms, one colour and bar pattern per named series, on shared bins.

    The draws go into the figure as they are (plotly bins them), so a test can read them
    back by the series' name. Bins are shared so that overlapping series compare bar for bar.

    :param marks: name -> a value drawn as a vertical line in that series' colour and dash,
        labelled with the series' name.
    """
    fig = go.Figure()
    arrays = {name: np.asarray(values).reshape(-1) for name, values in series.items()}
    everything = np.concatenate(list(arrays.values())) if arrays else np.zeros(1)
    low, high = float(everything.min()), float(everything.max())
    size = (high - low) / bins if high > low else 1.0
    styles = {name: _style(index) for index, name in enumerate(arrays)}
    for name, values in arrays.items():
        colour, _, _, pattern = styles[name]
        fig.add_histogram(
            x=values,
            histnorm="probability density",
            xbins=dict(start=low, end=high + size, size=size),
            name=name,
            marker=dict(color=colour, pattern=dict(shape=pattern)),
            opacity=0.55,
        )
    for index, (name, value) in enumerate((marks or {}).items()):
        colour, dash = styles[name][:2] if name in styles else (EXACT_COLOUR, "dash")
        fig.add_vline(
            x=value,
            line=dict(color=colour, dash=dash, width=2),
            # Alternate the labels' sides so that close marks stay readable.
            annotation_text=name,
            annotation_position="top right" if index % 2 == 0 else "top left",
        )
    fig.update_layout(barmode="overlay", bargap=0)
    parts = [f"{name}: {len(values):,} draws, mean {_n(values.mean())}" for name, values in arrays.items()]
    summary = f"Overlaid histograms of {x_label}, {len(arrays)} series: " + "; ".join(parts) + "."
    if marks:
        summary += " Vertical lines mark " + "; ".join(f"{name} at {_n(value)}" for name, value in marks.items()) + "."
    return _summarise(_layout(fig, title, x_label, "density"), summary)


@shared_figure
def trace_plot(draws: np.ndarray, title: str, y_label: str) -> go.Figure:
    """One line per chain of ``draws`` shaped ``(chains, draws)``."""
    fig = go.Figure()
    chains = np.asarray(draws)
    for chain, values in enumerate(chains):
        colour, dash, _, _ = _style(chain)
        fig.add_scatter(y=values, mode="lines", name=f"chain {chain + 1}", line=dict(width=1, color=colour, dash=dash))
    per_chain = "; ".join(
        f"chain {chain + 1} mean {_n(values.mean())}, from {_n(values.min())} to {_n(values.max())}"
        for chain, values in enumerate(chains)
        if len(values)
    )
    count = chains.shape[1] if chains.ndim == 2 else 0
    summary = f"The draws of {y_label}, {count:,} iterations in each of {_count(len(chains), 'chain')}: {per_chain}."
    return _summarise(_layout(fig, title, "iteration", y_label, height=280), summary)


def _first_lag_below(values: np.ndarray, level: float = 0.1) -> str:
    below = np.flatnonzero(np.asarray(values) < level)
    return (
        f"falls below {level} at lag {int(below[0])}"
        if len(below)
        else f"stays above {level} up to lag {len(values) - 1}"
    )


@shared_figure
def autocorrelation_plot(acf: np.ndarray, title: str) -> go.Figure:
    """Autocorrelation by lag, one line per chain of ``acf`` shaped ``(chains, lags)``."""
    fig = go.Figure()
    rows = np.asarray(acf)
    for chain, values in enumerate(rows):
        colour, dash, symbol, _ = _style(chain)
        fig.add_scatter(
            x=np.arange(len(values)),
            y=values,
            mode="lines+markers",
            name=f"chain {chain + 1}",
            marker=dict(size=5, symbol=symbol),
            line=dict(color=colour, dash=dash),
        )
    drops = "; ".join(f"chain {chain + 1} {_first_lag_below(values)}" for chain, values in enumerate(rows))
    summary = f"Autocorrelation of {_count(len(rows), 'chain')} by lag, up to lag {rows.shape[-1] - 1}. {drops}."
    # The zero line as a layout shape: add_hline's subplot handling cost 10 ms a chart.
    zero = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color="#999", width=1))
    return _summarise(_layout(fig, title, "lag", "autocorrelation", height=280, shapes=[zero]), summary)


@shared_figure
def loss_curve(losses: Sequence[float], title: str = "SVI loss (negative ELBO)") -> go.Figure:
    values = np.asarray(losses, dtype=float)
    fig = go.Figure()
    fig.add_scatter(y=values, mode="lines", name="loss", line=dict(color="#4c78a8"))
    if len(values):
        lowest = int(np.argmin(values))
        summary = (
            f"Loss over {len(values):,} steps: from {_n(values[0])} to {_n(values[-1])}, "
            f"lowest {_n(values[lowest])} at step {lowest}."
        )
    else:
        summary = "No loss recorded yet."
    return _summarise(_layout(fig, title, "step", "loss", height=300), summary)


@shared_figure
def parameter_paths(paths: Mapping[str, np.ndarray], targets: Mapping[str, float], title: str) -> go.Figure:
    """Each parameter's value over the steps, with its exact target as a labelled dotted line."""
    fig = go.Figure()
    parts = []
    for index, (name, values) in enumerate(paths.items()):
        colour, dash, _, _ = _style(index)
        values = np.asarray(values)
        fig.add_scatter(y=values, mode="lines", name=name, line=dict(color=colour, dash=dash))
        part = f"{name} ends at {_n(values[-1])}" if len(values) else f"{name} has no steps"
        if name in targets:
            fig.add_hline(
                y=targets[name],
                line=dict(color=colour, dash="dot"),
                annotation_text=f"exact {name} = {targets[name]:.3f}",
            )
            part += f" (exact {_n(targets[name])})"
        parts.append(part)
    steps = max((len(np.asarray(v)) for v in paths.values()), default=0)
    summary = f"{_count(len(parts), 'parameter')} over {steps:,} steps: " + "; ".join(parts) + "."
    return _summarise(_layout(fig, title, "step", "value", height=300), summary)


@shared_figure
def split_density_bars(
    groups: Mapping[str, np.ndarray],
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    title: str,
    x_label: str,
    bins: int = 60,
) -> go.Figure:
    """Stacked bars of each group's share of the whole density (so the stack is the
    histogram of all draws), with each group's exact weighted density over it."""
    everything = np.concatenate([np.asarray(v) for v in groups.values()])
    edges = np.histogram_bin_edges(everything, bins=bins) if everything.size else np.linspace(0, 1, bins + 1)
    width = edges[1] - edges[0]
    fig = go.Figure()
    for index, (name, values) in enumerate(groups.items()):
        colour, _, _, pattern = _style(index)
        counts, _ = np.histogram(values, bins=edges)
        fig.add_bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts / max(everything.size, 1) / width,
            width=width,
            name=name,
            marker=dict(color=colour, pattern=dict(shape=pattern)),
            opacity=0.6,
        )
    for index, (name, (x, y)) in enumerate(curves.items()):
        colour, dash, _, _ = _style(index)
        fig.add_scatter(x=x, y=y, mode="lines", name=name, line=dict(color=colour, width=2, dash=dash))
    fig.update_layout(barmode="stack", bargap=0)
    total = max(everything.size, 1)
    shares = "; ".join(
        f"{name} {len(values):,} ({len(values) / total:.0%}), mean {_n(np.mean(values)) if len(values) else 'none'}"
        for name, values in groups.items()
    )
    peaks = "; ".join(f"{name} peaks at {_peak(x, y)}" for name, (x, y) in curves.items())
    summary = f"Stacked histogram of {everything.size:,} draws of {x_label}, by group: {shares}."
    if peaks:
        summary += f" Exact curves: {peaks}."
    return _summarise(_layout(fig, title, x_label, "density"), summary)


def _point_mass(draws: np.ndarray, weights: np.ndarray) -> float | None:
    """The value every draw with weight takes, when they all take one (a point mass)."""
    held = np.asarray(draws)[np.asarray(weights) > 0]
    if len(held) and np.ptp(held) <= 1e-9 * (1 + abs(float(held[0]))):
        return float(held[0])
    return None


@shared_figure
def weighted_histograms(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    title: str,
    x_label: str,
    means: Mapping[str, float] | None = None,
    bins: int = 60,
) -> go.Figure:
    """Overlaid histograms of weighted draws, one per named (draws, weights).

    Densities, unless a series is a point mass (a counterfactual that the observed day
    fixes exactly): a density has no height there, so every series is then drawn as
    probability per bin, and a point mass as one labelled stem of probability 1.
    """
    fig = go.Figure()
    masses = {name: _point_mass(draws, weights) for name, (draws, weights) in series.items()}
    spread = [np.asarray(d) for name, (d, _) in series.items() if masses[name] is None]
    points = [m for m in masses.values() if m is not None]
    everything = np.concatenate([*spread, np.asarray(points)]) if spread or points else np.zeros(1)
    low, high = float(everything.min()), float(everything.max())
    if high - low < 1e-9 * (1 + abs(low)):
        low, high = low - max(1.0, 0.05 * abs(low)), high + max(1.0, 0.05 * abs(high))
    edges = np.histogram_bin_edges(everything, bins=bins, range=(low, high))
    width = edges[1] - edges[0]
    as_probability = bool(points)
    parts = []
    for index, (name, (draws, weights)) in enumerate(series.items()):
        colour, dash, _, pattern = _style(index)
        if masses[name] is not None:
            fig.add_bar(
                x=[masses[name]],
                y=[1.0],
                width=max(width, (high - low) / 60),
                name=f"{name}: every draw {masses[name]:.1f}",
                marker=dict(color=colour, pattern=dict(shape=pattern)),
            )
            fig.add_annotation(
                x=masses[name], y=1.0, text=f"{masses[name]:.1f}: probability 1", showarrow=False, yshift=10
            )
            parts.append(f"{name}: every draw is {masses[name]:.1f} (probability 1)")
        else:
            mass, _ = np.histogram(draws, bins=edges, weights=weights, density=False)
            fig.add_bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=mass if as_probability else mass / width,
                width=width,
                name=name,
                opacity=0.55,
                marker=dict(color=colour, pattern=dict(shape=pattern)),
            )
            total = float(np.sum(weights))
            mean = float(np.sum(np.asarray(draws) * weights) / total) if total > 0 else float("nan")
            parts.append(f"{name}: {len(draws):,} weighted draws, mean {_n(mean)}")
        if means and name in means:
            fig.add_vline(
                x=means[name],
                line=dict(color=colour, dash=dash if dash != "solid" else "dot"),
                annotation_text=f"mean {means[name]:.1f}",
                annotation_position="top right" if index % 2 == 0 else "top left",
            )
    fig.update_layout(barmode="overlay", bargap=0)
    if as_probability:
        # Room for the stems' labels, and for stems at the ends of the range to show whole.
        pad = 0.06 * (high - low)
        fig.update_yaxes(range=[0, 1.2])
        fig.update_xaxes(range=[low - pad, high + pad])
    summary = f"Overlaid histograms of {x_label}: " + "; ".join(parts) + "."
    return _summarise(_layout(fig, title, x_label, "probability per bin" if as_probability else "density"), summary)


@shared_figure
def mixture_density(
    data: np.ndarray,
    weights: np.ndarray,
    locs: np.ndarray,
    scale: float,
    truth: tuple[np.ndarray, float] | None = None,
    title: str = "Density of the fitted mixture",
) -> go.Figure:
    """Each weighted component, their sum, the data as ticks on the axis, and the truth if known.

    Components differ by dash pattern as well as colour; the mixture is the thick solid line,
    the truth the dotted one.
    """
    spread = max(3 * scale, 1e-6)
    grid = np.linspace(min(data.min(), locs.min()) - spread, max(data.max(), locs.max()) + spread, 500)
    fig = go.Figure()
    total = np.zeros_like(grid)
    for index, (weight, loc) in enumerate(zip(weights, locs, strict=True)):
        density = weight * np.exp(-0.5 * ((grid - loc) / scale) ** 2) / (scale * np.sqrt(2 * np.pi))
        total += density
        colour, _, _, _ = _style(index)
        dash = COMPONENT_DASHES[index % len(COMPONENT_DASHES)]
        fig.add_scatter(
            x=grid, y=density, mode="lines", name=f"component {index + 1}", line=dict(color=colour, dash=dash)
        )
    fig.add_scatter(x=grid, y=total, mode="lines", name="mixture", line=dict(color=EXACT_COLOUR, width=3))
    if truth is not None:
        true_locs, true_scale = truth
        true_density = sum(
            np.exp(-0.5 * ((grid - loc) / true_scale) ** 2) / (true_scale * np.sqrt(2 * np.pi)) / len(true_locs)
            for loc in true_locs
        )
        fig.add_scatter(
            x=grid,
            y=true_density,
            mode="lines",
            name="true mixture",
            line=dict(color=PRIOR_COLOUR, dash="dot", width=2),
        )
    shown = data if len(data) <= 2000 else np.random.default_rng(0).choice(data, 2000, replace=False)
    fig.add_scatter(
        x=shown,
        y=np.zeros_like(shown),
        mode="markers",
        name="data",
        marker=dict(symbol="line-ns-open", size=14, color="#333"),
    )
    components = "; ".join(
        f"component {index + 1} weight {_n(weight)} at {_n(loc)}"
        for index, (weight, loc) in enumerate(zip(weights, locs, strict=True))
    )
    summary = (
        f"A mixture of {len(locs)} normal components with shared scale {_n(scale)}, over {len(data):,} data points: "
        f"{components}. The mixture's density peaks at x = {_peak(grid, total)}."
    )
    return _summarise(_layout(fig, title, "x", "probability density", height=380), summary)


# What each kind of start is chosen by (ppl_models/gmm_starts.py), as the chart names it.
START_SCORES = {
    "lecture": ("initial loss", "Initial loss of each random initialisation"),
    "spread": (
        "mean squared distance",
        "Each spread-out start's mean squared distance from the points to their nearest location",
    ),
}


@shared_figure
def start_scores_plot(scores: np.ndarray, chosen: int, start: str) -> go.Figure:
    """What every start was scored by, the chosen (lowest) one marked by a larger star."""
    name, title = START_SCORES[start]
    values = np.asarray(scores, dtype=float)
    fig = go.Figure()
    fig.add_scatter(x=np.arange(len(values)), y=values, mode="markers", name=name, marker=dict(color="#4c78a8", size=6))
    fig.add_scatter(
        x=[chosen],
        y=[values[chosen]],
        mode="markers",
        name="chosen",
        marker=dict(color="#d62728", size=14, symbol="star"),
    )
    summary = (
        f"The {name} of each of {len(values):,} initialisations, from {_n(values.min())} to {_n(values.max())}; "
        f"the chosen one, #{chosen}, scores {_n(values[chosen])}."
    )
    return _summarise(_layout(fig, title, "initialisation", name, height=300), summary)


@shared_figure
def gradient_norms_plot(norms: Mapping[str, np.ndarray]) -> go.Figure:
    """Each parameter's gradient norm over the steps, on a log scale (the lecture's hooks)."""
    fig = go.Figure()
    parts = []
    for index, (name, values) in enumerate(norms.items()):
        colour, dash, _, _ = _style(index)
        values = np.asarray(values)
        fig.add_scatter(y=values, mode="lines", name=name, line=dict(color=colour, dash=dash))
        if len(values):
            parts.append(f"{name} from {_n(values[0])} to {_n(values[-1])}")
    fig.update_yaxes(type="log")
    steps = max((len(np.asarray(v)) for v in norms.values()), default=0)
    summary = (
        f"Gradient norm of {_count(len(norms), 'parameter')} over {steps:,} steps, on a log scale: "
        + "; ".join(parts)
        + "."
    )
    return _summarise(_layout(fig, "Gradient norm per parameter", "step", "gradient norm", height=300), summary)


@shared_figure
def probability_bars(
    values: np.ndarray,
    estimate: np.ndarray,
    exact: np.ndarray,
    title: str,
    x_label: str,
    estimate_name: str = "Pyro's estimate",
) -> go.Figure:
    """A probability per whole number as bars, the exact probability as a marked line over them."""
    values, estimate, exact = (np.asarray(v, dtype=float) for v in (values, estimate, exact))
    fig = go.Figure()
    fig.add_bar(x=values, y=estimate, name=estimate_name, marker=dict(color="#4c78a8"), opacity=0.75)
    fig.add_scatter(
        x=values,
        y=exact,
        mode="lines+markers",
        name="exact",
        line=dict(color=EXACT_COLOUR, width=2, dash="dot"),
        marker=dict(symbol="diamond", size=9, color=EXACT_COLOUR),
    )
    top = int(np.argmax(exact)) if len(exact) else 0
    summary = (
        f"Bars of {estimate_name} for {x_label} from {_n(values[0])} to {_n(values[-1])}; the exact answer is "
        f"highest at {x_label} = {_n(values[top])} ({_n(exact[top])}), where the estimate is {_n(estimate[top])}."
        if len(values)
        else "No values."
    )
    return _summarise(_layout(fig, title, x_label, "probability"), summary)


@shared_figure
def paths_plot(paths: Sequence[np.ndarray], title: str, y_label: str) -> go.Figure:
    """Walks of different lengths, each a line from its first value to its last, the end marked."""
    fig = go.Figure()
    for index, path in enumerate(paths):
        colour, dash, symbol, _ = _style(index)
        fig.add_scatter(
            x=np.arange(len(path)),
            y=path,
            mode="lines+markers",
            name=f"run {index + 1}: {_count(len(path), 'value')}",
            line=dict(color=colour, dash=dash, width=1.5),
            marker=dict(symbol=symbol, size=6),
            showlegend=index < 6,
        )
    lengths = [len(path) for path in paths]
    summary = (
        f"{_count(len(paths), 'walk')}, from {min(lengths)} to {max(lengths)} values long"
        f" (each line ends where its walk ends)."
        if paths
        else "No walks."
    )
    return _summarise(_layout(fig, title, "step i", y_label), summary)


@shared_figure
def elbo_curves(noisy: np.ndarray, exact: np.ndarray, log_evidence: float, title: str, objective: str) -> go.Figure:
    """SVI's noisy estimate of its objective at each step, the exact objective of the guide after
    it, and log p(x) as a line above them."""
    noisy, exact = np.asarray(noisy, dtype=float), np.asarray(exact, dtype=float)
    steps = np.arange(1, len(noisy) + 1)
    fig = go.Figure()
    fig.add_scatter(x=steps, y=noisy, mode="lines", name=f"{objective}, estimated", line=dict(color="#4c78a8", width=1))
    fig.add_scatter(
        x=steps, y=exact, mode="lines", name=f"{objective}, exact", line=dict(color=EXACT_COLOUR, width=2.5)
    )
    fig.add_scatter(
        x=[1, max(len(noisy), 1)],
        y=[log_evidence, log_evidence],
        mode="lines",
        name="log evidence",
        line=dict(color=PRIOR_COLOUR, width=2, dash="dash"),
    )
    # The estimates' first steps can be thousands of nats below: the view starts where the exact curve is.
    if len(exact):
        low = float(np.percentile(exact, 5))
        spread = max(log_evidence - low, 1.0)
        fig.update_yaxes(range=[low - 0.2 * spread, log_evidence + 0.3 * spread])
    summary = (
        f"{_count(len(noisy), 'step')} of SVI: the exact {objective} goes from {_n(exact[0])} to {_n(exact[-1])}; "
        f"the log evidence is {_n(log_evidence)}."
        if len(noisy)
        else "No steps yet."
    )
    return _summarise(_layout(fig, title, "step", "nats", height=320), summary)


@shared_figure
def kl_curve(kl: np.ndarray, floor: float | None = None) -> go.Figure:
    """KL(q || posterior) after each step, on a log scale, with the least a guide family can reach."""
    kl = np.asarray(kl, dtype=float)
    steps = np.arange(1, len(kl) + 1)
    fig = go.Figure()
    fig.add_scatter(x=steps, y=kl, mode="lines", name="KL(q || posterior), exact", line=dict(color=EXACT_COLOUR))
    if floor is not None:
        fig.add_scatter(
            x=[1, max(len(kl), 1)],
            y=[floor, floor],
            mode="lines",
            name="the family's floor",
            line=dict(color=PRIOR_COLOUR, dash="dash"),
        )
    fig.update_yaxes(type="log", exponentformat="power")
    summary = (
        f"KL from {_n(kl[0])} to {_n(kl[-1])} over {_count(len(kl), 'step')}"
        + (f", above a floor of {_n(floor)}." if floor is not None else ".")
        if len(kl)
        else "No steps yet."
    )
    return _summarise(_layout(fig, "KL(q || posterior)", "step", "nats (log scale)", height=280), summary)


@shared_figure
def guide_over_posterior(grid: np.ndarray, posterior: np.ndarray, guide: np.ndarray | None, loc: float) -> go.Figure:
    """The guide's density over the exact posterior's; a Delta guide is a stem at its point."""
    fig = go.Figure()
    fig.add_scatter(x=grid, y=posterior, mode="lines", name="exact posterior", line=dict(color=EXACT_COLOUR, width=2.5))
    if guide is not None:
        fig.add_scatter(
            x=grid, y=guide, mode="lines", name="guide q", line=dict(color="#4c78a8", width=2.5, dash="dash")
        )
        said = f"the guide q peaks at {_peak(grid, guide)}"
    else:
        top = float(np.max(posterior))
        fig.add_scatter(
            x=[loc, loc],
            y=[0, top],
            mode="lines+markers",
            name="guide q: a point (Delta)",
            line=dict(color="#4c78a8", width=3, dash="dash"),
            marker=dict(symbol="diamond", size=9),
        )
        said = f"the Delta guide sits at weight = {_n(loc)}"
    summary = f"The exact posterior peaks at {_peak(grid, posterior)}; {said}."
    return _summarise(_layout(fig, "The guide over the exact posterior", "weight", "density"), summary)


@shared_figure
def noise_plot(values: Sequence[float], variances: Sequence[float], x_label: str, title: str) -> go.Figure:
    """The measured variance of a gradient estimate against what averages it, on log-log axes."""
    values, variances = np.asarray(values, dtype=float), np.asarray(variances, dtype=float)
    fig = go.Figure()
    fig.add_scatter(
        x=values,
        y=variances,
        mode="lines+markers",
        name="measured variance",
        line=dict(color="#4c78a8"),
        marker=dict(symbol="circle", size=9),
    )
    if len(values):
        reference = variances[0] * values[0] / values
        fig.add_scatter(
            x=values, y=reference, mode="lines", name=f"1 / {x_label}", line=dict(color=PRIOR_COLOUR, dash="dash")
        )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    summary = (
        f"Gradient variance {_n(variances[0])} at {x_label} {_n(values[0])}, {_n(variances[-1])} at {_n(values[-1])}."
        if len(values)
        else "Nothing measured."
    )
    return _summarise(_layout(fig, title, x_label, "variance of the gradient", height=300), summary)
