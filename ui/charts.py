"""Pure plotly figure builders: data in, ``go.Figure`` out, no Streamlit calls.

Trace names are stable ("samples", "exact posterior", "prior", "chain 1", ...), so
tests read a chart's data back by name from the figure's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

CHAIN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
EXACT_COLOUR = "#111111"
PRIOR_COLOUR = "#8c8c8c"


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def density_histogram(
    draws: np.ndarray,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str = "",
    x_label: str = "",
    bins: int = 40,
) -> go.Figure:
    """A histogram of ``draws`` on a density scale, with named density curves over it.

    :param curves: name -> (x, density); drawn dashed for names starting with "prior".
    """
    fig = go.Figure()
    fig.add_histogram(
        x=np.asarray(draws).reshape(-1),
        histnorm="probability density",
        nbinsx=bins,
        name="samples",
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
