"""Page pieces every model page shows the same way."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models.diagnostics import Advice, ChainStats, SiteSummary

DEVICE_KEY = "device"


def device_preference() -> str:
    """The device chosen in the shared sidebar (``auto`` until the user changes it)."""
    return st.session_state.get(DEVICE_KEY, "auto")


def advice(items: Sequence[Advice]) -> None:
    """Warn in plain words when the numbers on the page should not be trusted."""
    if not items:
        return
    lines = "\n".join(f"- **{item.problem}** {item.fix}" for item in items)
    st.error("**Don't trust this posterior yet.**\n\n" + lines)


def diagnostics_table(
    summaries: dict[str, SiteSummary], chains: Sequence[ChainStats], wall_time_s: float
) -> pd.DataFrame:
    """One row per quantity: the summary numbers, then what the sampler reported."""
    rows = []
    for name, s in summaries.items():
        rows.append(
            {
                "quantity": name,
                "mean": s.mean,
                "sd": s.sd,
                "90% HPDI": f"[{s.hpdi_low:.3f}, {s.hpdi_high:.3f}]",
                "ESS": round(s.ess),
                "R-hat": "needs 2+ chains" if s.rhat is None else f"{s.rhat:.3f}",
                "MCSE": s.mcse,
            }
        )
    table = pd.DataFrame(rows)
    sampler = pd.DataFrame(
        [
            {
                "chain": index + 1,
                "acceptance rate": c.acceptance_rate,
                "divergences": c.divergences,
                "step size": c.step_size,
                "leapfrog steps": "adaptive (NUTS)" if c.num_steps is None else c.num_steps,
            }
            for index, c in enumerate(chains)
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.dataframe(sampler, hide_index=True, width="stretch")
    st.caption(f"Wall time {wall_time_s:.2f} s. ESS and R-hat from `pyro.ops.stats`.")
    return table


def samples_csv(draws: dict[str, np.ndarray]) -> bytes:
    """Draws shaped ``(chains, draws)`` per quantity, as CSV with chain and draw columns."""
    first = next(iter(draws.values()))
    chains, count = first.shape
    frame = pd.DataFrame(
        {
            "chain": np.repeat(np.arange(1, chains + 1), count),
            "draw": np.tile(np.arange(count), chains),
            **{name: values.reshape(-1) for name, values in draws.items()},
        }
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def code_and_graph(code: str, graph_source: str, graph_caption: str) -> None:
    """The model's graph (from ``pyro.render_model``) and Pyro code for this setting."""
    graph, code_tab = st.tabs(["Model graph", "Pyro code"])
    with graph:
        st.graphviz_chart(graph_source)
        st.caption(graph_caption)
    with code_tab:
        st.caption("Paste into a notebook to reproduce this setting.")
        st.code(code, language="python")
