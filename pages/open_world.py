"""Open-world programs: the lecture's branch and walk, whose sets of variables are random."""

import numpy as np
import pandas as pd
import streamlit as st

from ppl_models import open_world
from ppl_models.engine.graphs import model_graph
from ui import charts, panels, style
from ui.chart_view import chart
from ui.controls import SEED, Choice, Slider, build, render
from ui.notebook_button import notebook_button
from ui.runs import cached_run, show_provenance, show_unfinished
from ui.text import escape

MODEL = Choice(
    "model",
    "Program",
    open_world.MODELS,
    ("X ~ Poisson(rate), then a walk of max(X, 1) steps", "X ~ Bernoulli(p); Y exists only if X == 1"),
    "walk",
    "Which of the lecture's two open-world programs to run.",
    field="model",
)
RATE = Slider.for_field(
    open_world.OpenWorldSettings,
    "rate",
    label="Poisson rate of X",
    min=0.1,
    max=open_world.RATE_MAX,
    step=0.1,
    help=f"X ~ Poisson(rate): the walk makes max(X, 1) values. Above 0, and at most {open_world.RATE_MAX:g}: "
    "a run makes about rate sample sites, and a class shares one server.",
    bound_reason="X ~ Poisson(rate) needs a rate above 0, and a run makes about rate sample sites, so a class's "
    f"shared server stops at {open_world.RATE_MAX:g}",
)
END = Slider.for_field(
    open_world.OpenWorldSettings,
    "end",
    label="Observed end of the walk",
    min=-30.0,
    max=30.0,
    step=0.1,
    help="Where the walk was seen to end: its last value Y[max(X, 1) - 1], whichever site that is.",
)
P = Slider.for_field(
    open_world.OpenWorldSettings,
    "p",
    label="P(X = 1)",
    min=0.0,
    max=1.0,
    step=0.01,
    help="X ~ Bernoulli(p): the chance that the branch is taken and a Y is made.",
)
Y = Slider.for_field(
    open_world.OpenWorldSettings,
    "end",
    label="Observed Y",
    min=-30.0,
    max=30.0,
    step=0.1,
    help="The value of Y, when a Y was seen.",
)
DRAWS = Slider(
    "draws",
    "Number of runs",
    10,
    open_world.MAX_DRAWS,
    10_000,
    10,
    f"How many runs of the program Pyro makes at once (at most {open_world.MAX_DRAWS:,}).",
    number_box=True,
)

style.title("Open-world programs: when the variables themselves are random")
st.markdown(
    "A Bayes net has a fixed set of variables. A probabilistic program need not: in the lecture's "
    "**branch**, Y exists only when X == 1; in its **walk**, the number of Y's is itself a Poisson draw. "
    "Run the program many times and the runs hold different sets of sample sites."
)

with st.sidebar:
    st.header("Program")
    chosen = render([MODEL], "open-world")
    controls = [RATE, END] if chosen["model"] == "walk" else [P, Y]
    settings = build(open_world.OpenWorldSettings, [MODEL, *controls], {**chosen, **render(controls, "open-world")})
    st.header("Runs")
    run_settings = render([DRAWS, SEED], "open-world")

key_numbers = st.container()
outcome = cached_run(
    open_world.explore,
    settings,
    run_settings["draws"],
    run_settings["seed"],
    panels.device_preference(),
    label="Running the program",
)
if not outcome.ok:
    show_unfinished(outcome)
    st.stop()
result = outcome.result
panels.device_note(result)

if settings.model == "walk":
    posterior = result.walk_posterior
    with key_numbers:
        mean_col, ess_col = st.columns(2)
        mean_col.metric(
            f"E[X | end = {settings.end:g}]",
            f"{posterior.mean.value:.3f}",
            f"vs exact {posterior.mean.exact:.3f}",
            delta_color="off",
            delta_arrow="off",
            help=f"Likelihood weighting from the prior; standard error {posterior.mean.standard_error:.3f}. "
            "The exact answer sums Poisson(k; rate) x Normal(end; 0, sqrt(max(k, 1))) over k.",
        )
        ess_col.metric(
            "Effective sample size",
            f"{posterior.ess:,.0f}",
            f"of {posterior.draws:,} runs",
            delta_color="off",
            delta_arrow="off",
            help=panels.GLOSSARY["ESS"],
        )
        if posterior.note:
            st.warning(escape(posterior.note))
        if not posterior.mean.within(4):
            st.error(
                f"Pyro's estimate is more than 4 standard errors from the exact answer: with an effective "
                f"sample size of {posterior.ess:,.0f}, use more runs."
            )
    show_provenance(outcome)
    ks = np.arange(len(posterior.exact))
    shown = ks[(posterior.exact > 1e-4) | (posterior.estimate > 0)]
    upto = int(shown.max()) + 1 if len(shown) else 1
    st.header("Inference: where did the walk end?")
    chart(
        charts.probability_bars(
            ks[:upto],
            posterior.estimate[:upto],
            posterior.exact[:upto],
            f"P(X = k | end = {settings.end:g})",
            "X",
        )
    )
    st.markdown(
        "Each run is drawn forward from the prior and weighed by how likely it makes the observed end "
        "(likelihood weighting, importance sampling with the prior as the proposal). **HMC and NUTS cannot run "
        "on this program**: X is discrete, and the number of continuous sites changes with X, so there is no "
        "fixed space of real numbers to move through. Pyro offers importance sampling (`pyro.infer.Importance`), "
        "sequential Monte Carlo (`pyro.infer.SMCFilter`), and enumeration of a discrete site up to a bound."
    )

    runs = result.walk_runs
    st.header("Running the program")
    lengths_col, paths_col = st.columns(2)
    n = np.arange(len(runs.exact_length))
    upto = int(max(np.flatnonzero(runs.exact_length > 1e-4).max(), runs.lengths.max())) + 1
    with lengths_col:
        chart(
            charts.probability_bars(
                n[1:upto],
                runs.length_share[1:upto],
                runs.exact_length[1:upto],
                "How many values each run made",
                "values in the run",
                "share of runs",
            )
        )
    with paths_col:
        chart(charts.paths_plot(runs.paths[:12], "The first walks, each its own length", "Y"))
    st.caption(
        f"A run makes max(X, 1) values: P(1 value) = P(X = 0) + P(X = 1) = {runs.exact_length[1]:.3f}. "
        f"Its end has variance max(X, 1)."
    )
else:
    answers = result.branch.answers
    labels = {
        "Y was made, = y": f"P(X = 1 | a Y was made, Y = {settings.end:g})",
        "no Y was made": "P(X = 1 | no Y was made)",
        "Y only": f"P(X = 1 | Y = {settings.end:g}, existence ignored)",
    }
    with key_numbers:
        for column, (question, label) in zip(st.columns(3), labels.items(), strict=True):
            if question in answers:
                answer = answers[question]
                column.metric(
                    label,
                    f"{answer.value:.3f}",
                    f"vs exact {answer.exact:.3f}",
                    delta_color="off",
                    delta_arrow="off",
                    help=f"Likelihood weighting; effective sample size {result.branch.ess[question]:,.0f}.",
                )
            else:
                column.metric(label, "impossible", help="No run of this program can show this: p rules it out.")
    show_provenance(outcome)
    st.header("Existence is evidence")
    st.markdown(
        "Seeing a Y at all, whatever its value, means the branch was taken: X = 1 for certain. Seeing that no "
        "Y was made means X = 0. In Pyro the fact that a site exists is not a site: `pyro.condition` on Y alone "
        "leaves every run that never made a Y unweighted, as if it agreed with the data, and gives the third "
        "answer above. The page observes existence as a site of its own, `Y_exists`."
    )
    st.caption(f"{result.branch.share_with_y:.1%} of the unobserved runs made a Y (exact {settings.p:.1%}).")

st.header("A few runs, site by site")
rows = [
    {
        "run": index + 1,
        "sites": len(trace),
        # X is a count or a coin: a whole number, written as one.
        "trace": ", ".join(
            f"{name} = {value:.0f}" if name == "X" else f"{name} = {value:.3f}" for name, value in trace.items()
        ),
    }
    for index, trace in enumerate(result.traces)
]
panels.table(pd.DataFrame(rows))
st.caption("Run with Python control flow, one run per call: each trace holds the sites its own run made.")

program, args = (open_world.walk, (settings.rate,)) if settings.model == "walk" else (open_world.branch, (settings.p,))
by_size = {}
for seed, trace in zip(result.trace_seeds, result.traces, strict=True):
    by_size.setdefault(len(trace), seed)
two = list(by_size.items())[:2]
st.header("Two runs, two graphs")
for column, (size, seed) in zip(st.columns(len(two)), two, strict=True):
    graph = cached_run(model_graph, program, args, (), seed, label="Drawing a run")
    with column:
        if graph.ok:
            st.graphviz_chart(graph.result)
            st.caption(f"A run with {size} sample site{'s' if size > 1 else ''} (pyro.render_model of that run).")
        else:
            st.warning("The graph could not be drawn: " + escape(graph.error))
st.markdown(
    "No single fixed DAG draws this program: each run has its own set of nodes, and X decides how many there "
    "are through the program's control flow, which no edge shows. A Bayes net would need a maximum length L "
    "fixed in advance, nodes Y_0 ... Y_(L-1), and a switch on each saying whether it exists."
)
with st.expander("Pyro code"):
    st.caption("Paste into a notebook to reproduce this setting.")
    st.code(open_world.explore_code(settings, run_settings["draws"], run_settings["seed"]), language="python")
notebook_button("open-world", open_world.explore_notebook, settings, run_settings["draws"], run_settings["seed"])
