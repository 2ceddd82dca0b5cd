"""Page pieces every model page shows the same way."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models.engine.diagnostics import Advice, ChainStats, SiteSummary
from ppl_models.engine.graphs import model_graph
from ppl_models.engine.mcmc import McmcResult
from ppl_models.engine.svi import SviResult
from ui import charts
from ui.chart_view import chart
from ui.numbers import NUMBER_FORMAT, decimal_text
from ui.runs import cached_run
from ui.text import escape

DEVICE_KEY = "device"


def device_preference() -> str:
    """The device chosen in the shared sidebar (``auto`` until the user changes it)."""
    return st.session_state.get(DEVICE_KEY, "auto")


def device_note(result) -> None:
    """Say so when the run did not get the device the sidebar asked for (cuda without a GPU).

    Read with a default: not every result type carries a note yet.
    """
    note = getattr(result, "device_note", "")
    if note:
        st.info(note)


def estimate_metrics(mean: float, sd: float, exact_mean: float, exact_sd: float, svi_source: str) -> None:
    """ "Posterior mean" and "Posterior sd" metrics, each beside its exact value."""
    mean_col, sd_col = st.columns(2)
    for column, label, value, exact in (
        (mean_col, "Posterior mean", mean, exact_mean),
        (sd_col, "Posterior sd", sd, exact_sd),
    ):
        column.metric(
            label,
            f"{value:.3f}",
            f"{value - exact:+.3f} vs exact {exact:.3f}",
            delta_color="off",
            delta_arrow="off",
            help=f"From the draws (MCMC) or {svi_source}; beside it, the difference from the exact value.",
        )


def exact_metrics(values: Mapping[str, float], digits: int = 3) -> None:
    """The exact answers alone, one metric each: what a page still knows when its run gave nothing."""
    for column, (label, value) in zip(st.columns(len(values)), values.items(), strict=True):
        column.metric(
            label, f"{value:.{digits}f}", help="Exact: computed from the model's formulas, without inference."
        )


def mcmc_diagnostics(run: McmcResult, csv_name: str) -> None:
    """Per-quantity trace and autocorrelation plots, the diagnostics table, a CSV download."""
    device_note(run)
    st.header("Diagnostics")
    glossary(SAMPLER_TERMS)
    for name, draws in run.draws.items():
        trace_col, acf_col = st.columns(2)
        chart(charts.trace_plot(draws, f"Trace of {name}, per chain", name), trace_col)
        chart(charts.autocorrelation_plot(run.autocorrelation[name], f"Autocorrelation of {name}"), acf_col)
    diagnostics_table(run.summaries, run.chains, run.wall_time_s)
    st.download_button("Download the samples (CSV)", samples_csv(run.draws), csv_name, "text/csv")


def svi_convergence(run: SviResult, exact_params: dict[str, float]) -> None:
    """The loss curve and each guide parameter's path toward its exact value."""
    device_note(run)
    st.header("How SVI converged")
    loss_col, path_col = st.columns(2)
    chart(charts.loss_curve(run.losses), loss_col)
    chart(charts.parameter_paths(run.trajectories, exact_params, "Guide parameters vs exact posterior"), path_col)
    st.caption(f"{run.settings.num_steps} steps in {run.wall_time_s:.2f} s.")


def advice(items: Sequence[Advice]) -> None:
    """Warn in plain words when the numbers on the page should not be trusted."""
    if not items:
        return
    lines = "\n".join(f"- **{item.problem}** {item.fix}" for item in items)
    st.error("**Don't trust this posterior yet.**\n\n" + lines)
    # The advice is often the first place a page uses the jargon.
    glossary(terms_in(lines), "What these words mean")


# Every word of MCMC jargon the pages show, in plain words: the diagnostics tables' header
# tooltips (column_help), the sidebar's help texts and the "What these numbers mean"
# expanders (glossary) all read it, so a term means the same wherever it appears.
GLOSSARY = {
    "mean": "The average of the draws: the Monte Carlo estimate of the posterior mean.",
    "sd": "The standard deviation of the draws: how wide the posterior is.",
    "90% HPDI": "Highest posterior density interval: the narrowest range holding 90% of the draws.",
    "ESS": "Effective sample size: how many independent, equally weighted draws the draws at hand are worth "
    "(correlated MCMC draws, or unequally weighted ones, are worth fewer). Under 100, the mean and sd are "
    "not yet reliable.",
    "R-hat": "Compares the chains with each other: near 1.00 when they agree, above 1.05 when at "
    "least one has not found the same posterior. Needs two or more chains.",
    "MCSE": "Monte Carlo standard error of the mean: sd / sqrt(ESS), how far the estimated mean "
    "may be from the true posterior mean because there are finitely many draws.",
    "acceptance rate": "The share of proposals the Metropolis step accepted. HMC aims near 0.8; "
    "far lower means the step is too large for the posterior.",
    "divergences": "Trajectories whose energy error blew up, so the sampler could not follow the "
    "posterior there; any divergence is a warning.",
    "step size": "How far the sampler moves in one leapfrog step. Too large and it overshoots (few "
    "proposals accepted, divergences); too small and it crawls. Tuned during warmup unless that is off.",
    "leapfrog steps": "HMC proposes a draw by simulating a ball rolling over the posterior in small "
    "steps, the leapfrog steps: fixed in number for HMC, chosen by the U-turn rule for NUTS.",
    "warmup": "The first iterations of each chain, thrown away: the sampler uses them to find the "
    "posterior and tune its step size.",
}
# The diagnostics a sampler's run shows, in the order a reader meets them.
SAMPLER_TERMS = (
    "ESS",
    "R-hat",
    "MCSE",
    "90% HPDI",
    "acceptance rate",
    "divergences",
    "step size",
    "leapfrog steps",
    "warmup",
)
# How each term can be written in running text (advice, notes), lower case.
_SPELLINGS = {
    "ESS": ("ess", "effective sample size", "effective draws"),
    "R-hat": ("r-hat",),
    "MCSE": ("mcse", "monte carlo standard error"),
    "90% HPDI": ("hpdi",),
    "acceptance rate": ("acceptance rate",),
    "divergences": ("divergen",),
    "step size": ("step size", "smaller step"),
    "leapfrog steps": ("leapfrog",),
    "warmup": ("warmup",),
}


def terms_in(text: str) -> tuple[str, ...]:
    """The glossary terms that ``text`` uses, in glossary order."""
    lower = text.lower()
    return tuple(term for term, spellings in _SPELLINGS.items() if any(s in lower for s in spellings))


def glossary(terms: Sequence[str], label: str = "What these numbers mean") -> None:
    """A collapsed expander with each term's meaning, for the reader who meets it here first.

    Tooltips alone are not enough: a table header's tooltip needs a mouse, and nothing says it
    is there.
    """
    if not terms:
        return
    with st.expander(label):
        st.markdown("\n".join(f"- **{term}**: {GLOSSARY[term]}" for term in terms))


def table_columns(frame: pd.DataFrame) -> dict:
    """The app's one rule for a table's columns: every column of fractional numbers to
    ``TABLE_DECIMALS`` places, every glossary word's meaning as its header's tooltip.

    The values stay numbers (only their display is formatted), so the table sorts as
    numbers and whoever reads it back (``harness.protocol_client.table``) gets floats.
    Whole-number columns (counts, ESS, component numbers) are left whole.
    """
    config = {}
    for name in frame.columns:
        described = GLOSSARY.get(name)
        if pd.api.types.is_float_dtype(frame[name]):
            config[name] = st.column_config.NumberColumn(format=NUMBER_FORMAT, help=described)
        elif described:
            config[name] = st.column_config.Column(help=described)
    return config


def table(frame: pd.DataFrame, columns: dict | None = None, **options) -> None:
    """Show ``frame`` as every table of the app is shown: no index, :func:`table_columns`.

    :param columns: column settings of this table's own (a text column's alignment),
        applied over the rule.
    """
    st.dataframe(frame, hide_index=True, column_config={**table_columns(frame), **(columns or {})}, **options)


def summary_frame(summaries: dict[str, SiteSummary]) -> pd.DataFrame:
    """One row per quantity: mean, sd, 90% HPDI, ESS, R-hat and MCSE."""
    return pd.DataFrame(
        [
            {
                "quantity": name,
                "mean": s.mean,
                "sd": s.sd,
                "90% HPDI": f"[{decimal_text(s.hpdi_low)}, {decimal_text(s.hpdi_high)}]",
                "ESS": round(s.ess),
                "R-hat": "needs 2+ chains" if s.rhat is None else decimal_text(s.rhat),
                "MCSE": s.mcse,
            }
            for name, s in summaries.items()
        ]
    )


def diagnostics_table(summaries: dict[str, SiteSummary], chains: Sequence[ChainStats], wall_time_s: float) -> None:
    """One row per quantity: the summary numbers, then what the sampler reported."""
    summary = summary_frame(summaries)
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
    table(summary, width="stretch")
    table(sampler, width="stretch")
    st.caption(
        f"Wall time {wall_time_s:.2f} s. ESS and R-hat from `pyro.ops.stats`. Hover a column's name for what it means."
    )


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


def graph_key(model, observations: tuple[tuple[str, float], ...]) -> tuple:
    """What a model's drawing depends on: the model and which sites are observed.

    ``pyro.render_model`` draws sites, edges and distribution names, never parameter
    values, so one drawing serves every setting of a page. Keying it by the values too
    made each fresh setting draw again under the global inference lock, queued behind
    other sessions' runs: ten students' results all appeared when the last run ended
    (found by bench/load.py).
    """
    return (model, tuple(name for name, _ in observations))


def model_section(code: str, model, model_args: tuple, observations: tuple[tuple[str, float], ...]) -> None:
    """The model's graph (from ``pyro.render_model``) and Pyro code for this setting."""
    st.header("The model")
    graph = cached_run(
        model_graph,
        model,
        model_args,
        observations,
        label="Drawing the model",
        key_args=graph_key(model, observations),
    )
    graph_tab, code_tab = st.tabs(["Model graph", "Pyro code"])
    with graph_tab:
        if graph.ok:
            st.graphviz_chart(graph.result)
            st.caption(
                "Drawn by pyro.render_model; observed nodes are shaded and say (observed)."
                if observations
                else "Drawn by pyro.render_model from one run of the model. Nothing is observed here, so no node "
                "is shaded."
            )
        else:
            st.warning("The model graph could not be drawn: " + escape(graph.error))
    with code_tab:
        st.caption("Paste into a notebook to reproduce this setting.")
        st.code(code, language="python")
