"""Pure plotly figure builders: data in, ``go.Figure`` out, no Streamlit calls.

Trace names are stable ("samples", "exact posterior", "prior", "chain 1", ...), so
tests read a chart's data back by name from the figure's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

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


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=TEXT_PX),
        title_font=dict(size=TITLE_PX),
        legend=dict(orientation="h", y=-0.25, font=dict(size=TEXT_PX)),
    )
    fig.update_xaxes(tickfont=dict(size=TEXT_PX), title_font=dict(size=TEXT_PX))
    fig.update_yaxes(tickfont=dict(size=TEXT_PX), title_font=dict(size=TEXT_PX))
    return fig


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
    fig = go.Figure()
    if draws is not None:
        fig.add_histogram(
            x=np.asarray(draws).reshape(-1),
            histnorm="probability density",
            nbinsx=bins,
            name=draws_name,
            marker_color="#4c78a8",
            opacity=0.65,
        )
    for name, (x, y) in (curves or {}).items():
        is_prior = name.startswith("prior")
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=name,
            line=dict(color=PRIOR_COLOUR if is_prior else EXACT_COLOUR, width=2, dash="dash" if is_prior else "solid"),
        )
    return _layout(fig, title, x_label, "density")


def ranked_histograms(
    series: Mapping[str, np.ndarray],
    title: str,
    x_label: str,
    marks: Mapping[str, float] | None = None,
    bins: int = 40,
) -> go.Figure:
    """Overlaid density histograms, one colour per named series, on shared bins.

    The draws go into the figure as they are (plotly bins them), so a test can read them
    back by the series' name. Bins are shared so that overlapping series compare bar for bar.

    :param marks: name -> a value drawn as a dashed vertical line in that series' colour.
    """
    fig = go.Figure()
    arrays = {name: np.asarray(values).reshape(-1) for name, values in series.items()}
    everything = np.concatenate(list(arrays.values())) if arrays else np.zeros(1)
    low, high = float(everything.min()), float(everything.max())
    size = (high - low) / bins if high > low else 1.0
    colours = {name: RANK_COLOURS[index % len(RANK_COLOURS)] for index, name in enumerate(arrays)}
    for name, values in arrays.items():
        fig.add_histogram(
            x=values,
            histnorm="probability density",
            xbins=dict(start=low, end=high + size, size=size),
            name=name,
            marker_color=colours[name],
            opacity=0.55,
        )
    for name, value in (marks or {}).items():
        fig.add_vline(x=value, line=dict(color=colours.get(name, EXACT_COLOUR), dash="dash", width=2))
    fig.update_layout(barmode="overlay", bargap=0)
    return _layout(fig, title, x_label, "density")


def trace_plot(draws: np.ndarray, title: str, y_label: str) -> go.Figure:
    """One line per chain of ``draws`` shaped ``(chains, draws)``."""
    fig = go.Figure()
    for chain, values in enumerate(np.asarray(draws)):
        fig.add_scatter(
            y=values,
            mode="lines",
            name=f"chain {chain + 1}",
            line=dict(width=1, color=CHAIN_COLOURS[chain % len(CHAIN_COLOURS)]),
        )
    return _layout(fig, title, "iteration", y_label, height=280)


def autocorrelation_plot(acf: np.ndarray, title: str) -> go.Figure:
    """Autocorrelation by lag, one line per chain of ``acf`` shaped ``(chains, lags)``."""
    fig = go.Figure()
    for chain, values in enumerate(np.asarray(acf)):
        fig.add_scatter(
            x=np.arange(len(values)),
            y=values,
            mode="lines+markers",
            name=f"chain {chain + 1}",
            marker=dict(size=4),
            line=dict(color=CHAIN_COLOURS[chain % len(CHAIN_COLOURS)]),
        )
    fig.add_hline(y=0, line=dict(color="#999", width=1))
    return _layout(fig, title, "lag", "autocorrelation", height=280)


def loss_curve(losses: Sequence[float], title: str = "SVI loss (negative ELBO)") -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(y=np.asarray(losses), mode="lines", name="loss", line=dict(color="#4c78a8"))
    return _layout(fig, title, "step", "loss", height=300)


def parameter_paths(paths: Mapping[str, np.ndarray], targets: Mapping[str, float], title: str) -> go.Figure:
    """Each parameter's value over the steps, with its exact target as a dotted line."""
    fig = go.Figure()
    for index, (name, values) in enumerate(paths.items()):
        colour = CHAIN_COLOURS[index % len(CHAIN_COLOURS)]
        fig.add_scatter(y=np.asarray(values), mode="lines", name=name, line=dict(color=colour))
        if name in targets:
            fig.add_hline(
                y=targets[name],
                line=dict(color=colour, dash="dot"),
                annotation_text=f"exact {name} = {targets[name]:.3f}",
            )
    return _layout(fig, title, "step", "value", height=300)


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
        counts, _ = np.histogram(values, bins=edges)
        fig.add_bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts / max(everything.size, 1) / width,
            width=width,
            name=name,
            marker_color=CHAIN_COLOURS[index % len(CHAIN_COLOURS)],
            opacity=0.6,
        )
    for index, (name, (x, y)) in enumerate(curves.items()):
        fig.add_scatter(
            x=x, y=y, mode="lines", name=name, line=dict(color=CHAIN_COLOURS[index % len(CHAIN_COLOURS)], width=2)
        )
    fig.update_layout(barmode="stack", bargap=0)
    return _layout(fig, title, x_label, "density")


def _point_mass(draws: np.ndarray, weights: np.ndarray) -> float | None:
    """The value every draw with weight takes, when they all take one (a point mass)."""
    held = np.asarray(draws)[np.asarray(weights) > 0]
    if len(held) and np.ptp(held) <= 1e-9 * (1 + abs(float(held[0]))):
        return float(held[0])
    return None


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
    for index, (name, (draws, weights)) in enumerate(series.items()):
        colour = CHAIN_COLOURS[index % len(CHAIN_COLOURS)]
        if masses[name] is not None:
            fig.add_bar(
                x=[masses[name]],
                y=[1.0],
                width=max(width, (high - low) / 60),
                name=f"{name}: every draw {masses[name]:.1f}",
                marker_color=colour,
            )
            fig.add_annotation(
                x=masses[name], y=1.0, text=f"{masses[name]:.1f}: probability 1", showarrow=False, yshift=10
            )
        else:
            mass, _ = np.histogram(draws, bins=edges, weights=weights, density=False)
            fig.add_bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=mass if as_probability else mass / width,
                width=width,
                name=name,
                opacity=0.55,
                marker_color=colour,
            )
        if means and name in means:
            fig.add_vline(x=means[name], line=dict(color=colour, dash="dash"))
    fig.update_layout(barmode="overlay", bargap=0)
    if as_probability:
        # Room for the stems' labels, and for stems at the ends of the range to show whole.
        pad = 0.06 * (high - low)
        fig.update_yaxes(range=[0, 1.2])
        fig.update_xaxes(range=[low - pad, high + pad])
    return _layout(fig, title, x_label, "probability per bin" if as_probability else "density")


def mixture_density(
    data: np.ndarray,
    weights: np.ndarray,
    locs: np.ndarray,
    scale: float,
    truth: tuple[np.ndarray, float] | None = None,
    title: str = "Density of the fitted mixture",
) -> go.Figure:
    """Each weighted component, their sum, the data as ticks on the axis, and the truth if known."""
    spread = max(3 * scale, 1e-6)
    grid = np.linspace(min(data.min(), locs.min()) - spread, max(data.max(), locs.max()) + spread, 500)
    fig = go.Figure()
    total = np.zeros_like(grid)
    for index, (weight, loc) in enumerate(zip(weights, locs, strict=True)):
        density = weight * np.exp(-0.5 * ((grid - loc) / scale) ** 2) / (scale * np.sqrt(2 * np.pi))
        total += density
        fig.add_scatter(
            x=grid,
            y=density,
            mode="lines",
            name=f"component {index + 1}",
            line=dict(color=CHAIN_COLOURS[index % len(CHAIN_COLOURS)] if index < 4 else None),
        )
    fig.add_scatter(x=grid, y=total, mode="lines", name="mixture", line=dict(color=EXACT_COLOUR, dash="dash"))
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
    return _layout(fig, title, "x", "probability density", height=380)


# What each kind of start is chosen by (ppl_models/gmm_starts.py), as the chart names it.
START_SCORES = {
    "lecture": ("initial loss", "Initial loss of each random initialisation"),
    "spread": (
        "mean squared distance",
        "Each spread-out start's mean squared distance from the points to their nearest location",
    ),
}


def start_scores_plot(scores: np.ndarray, chosen: int, start: str) -> go.Figure:
    """What every start was scored by, the chosen (lowest) one marked."""
    name, title = START_SCORES[start]
    fig = go.Figure()
    fig.add_scatter(x=np.arange(len(scores)), y=scores, mode="markers", name=name, marker=dict(color="#4c78a8", size=6))
    fig.add_scatter(
        x=[chosen],
        y=[scores[chosen]],
        mode="markers",
        name="chosen",
        marker=dict(color="#d62728", size=14, symbol="star"),
    )
    return _layout(fig, title, "initialisation", name, height=300)


def gradient_norms_plot(norms: Mapping[str, np.ndarray]) -> go.Figure:
    """Each parameter's gradient norm over the steps, on a log scale (the lecture's hooks)."""
    fig = go.Figure()
    for index, (name, values) in enumerate(norms.items()):
        fig.add_scatter(
            y=np.asarray(values), mode="lines", name=name, line=dict(color=CHAIN_COLOURS[index % len(CHAIN_COLOURS)])
        )
    fig.update_yaxes(type="log")
    return _layout(fig, "Gradient norm per parameter", "step", "gradient norm", height=300)
