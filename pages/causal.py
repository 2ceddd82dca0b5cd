"""Interventions and counterfactuals: seeing, doing and imagining on the ice-cream model."""

import streamlit as st

from ppl_models import causal, weather
from ppl_models.engine.graphs import intervened_graph, model_graph
from ui import charts, panels, style
from ui.chart_view import chart
from ui.compare_views import CAUSAL
from ui.controls import SEED, build, render
from ui.notebook_button import notebook_button
from ui.predict import Prediction, predict_first
from ui.runs import cached_run, show_provenance, show_unfinished
from ui.text import escape
from ui.weather_controls import DAY, DO_WEATHER, TEMP, draw_count, weather_settings

style.title("Interventions and counterfactuals")
st.markdown(
    "Three questions about the same model. **Seeing** a hot day is evidence that it was sunny, "
    "and sunny days sell more. **Setting** the temperature tells us nothing about the weather, "
    "which causes both. **Imagining** another temperature for one observed day keeps that day's "
    "weather and luck."
)

with st.sidebar:
    st.header("Model numbers")
    params = weather_settings("causal")
    st.header("Simulation")
    run_settings = render([draw_count(20_000), SEED], "causal")

asked = render([TEMP], "causal")
seeing, doing, imagining = st.columns(3)
seeing.header("1 · Seeing")
doing.header("2 · Doing")
imagining.header("3 · Imagining")
with doing:
    asked |= render([DO_WEATHER], "causal")
with imagining:
    asked |= render(DAY, "causal")
question = build(causal.CausalSettings, [TEMP, DO_WEATHER, *DAY], asked)
t, forced = question.temp, question.do_weather
doing_exactly = weather.exact_interventional_sales(params, t)
if predict_first(Prediction(f"E[sales | do(temp = {t:g})]", -1000.0, 10_000.0, (doing_exactly,))):
    st.stop()
outcome = cached_run(
    causal.answer,
    params,
    question,
    run_settings["n"],
    run_settings["seed"],
    panels.device_preference(),
    label="Answering",
)
if not outcome.ok:
    show_unfinished(outcome)
    st.stop()
answers = outcome.result
panels.device_note(answers)


def answer_metric(column, label: str, answer: causal.Answer, how: str) -> None:
    column.metric(
        label,
        f"{answer.mean:.1f}",
        f"exact {answer.exact:.1f}",
        delta_color="off",
        delta_arrow="off",
        help=f"{how} Effective sample size (ESS) {answer.ess:,.0f}. ESS: {panels.GLOSSARY['ESS']}",
    )
    for note in answer.notes:
        column.warning(escape(note))


with seeing:
    answer_metric(
        seeing,
        f"E[sales | temp = {t:g}]",
        answers.conditioned,
        "pyro.condition on temp, then likelihood weighting: each simulated day counts in "
        "proportion to how likely it makes the observed temperature.",
    )
    st.caption(f"Seeing {t:g}° makes sunny {answers.p_sunny_given_temp:.1%} likely.")
with doing:
    answer_metric(
        doing,
        f"E[sales | do(temp = {t:g})]",
        answers.intervened,
        "pyro.do sets temp and simulates forward: the weather keeps its prior.",
    )
    answer_metric(
        doing,
        f"E[sales | do(weather = {forced})]",
        answers.weather_intervened,
        "pyro.do on cloudy: the temperature follows the forced weather.",
    )
    st.caption(f"Setting {t:g}° leaves sunny at its prior, {1 - params.p_cloudy:.0%}.")
with imagining:
    answer_metric(
        imagining,
        "E[counterfactual sales]",
        answers.counterfactual,
        "ChiRho's MultiWorldCounterfactual: abduction (weigh explanations of the day), action "
        "(do temp = t'), prediction with the day's weather and sales noise kept.",
    )

gap = answers.conditioned.exact - answers.intervened.exact
if abs(gap) >= 0.05:
    st.info(
        f"**Confounding:** seeing {t:g}° and setting {t:g}° differ by {gap:+.1f} in expected sales, because "
        "the weather drives both temperature and sales. Conditioning lets the temperature speak for the "
        "weather; intervening cuts that link."
    )
else:
    st.info(
        f"**No gap at {t:g}°:** seeing and setting agree here, because at this temperature every weather "
        f"sells the same. Move t above the hot-day threshold ({params.threshold:g}°) to see the weather "
        "confound temperature and sales."
    )
show_provenance(outcome)
panels.glossary(("ESS",))
with st.expander("How Pyro answers these, and why this way"):
    st.markdown(
        f"- **Seeing** — `pyro.condition(model, data={{'temp': {t:g}}})`, then *likelihood weighting*: "
        f"{run_settings['n']:,} days are drawn at once in a `pyro.plate`, and each counts in proportion to "
        "how likely its weather makes the observed temperature. The weather is the only hidden cause, so "
        "this needs no tuning and is exact in the limit; its effective sample size "
        f"({answers.conditioned.ess:,.0f} here) warns when the evidence is too surprising for it.\n"
        f"- **Doing** — `pyro.do(model, data={{'temp': {t:g}}})` replaces temp's mechanism by the constant; "
        "plain forward simulation then answers, since nothing is observed.\n"
        "- **Imagining** — ChiRho's `MultiWorldCounterfactual` runs the factual and the counterfactual "
        "world side by side, sharing the day's weather and sales noise: *abduction* weighs the "
        "explanations of the observed day, *action* sets temp = t' in the counterfactual world only, "
        "*prediction* reads that world's sales."
    )
compare, imagine = st.columns(2)
chart(
    charts.weighted_histograms(
        {
            f"sales | temp = {t:g}": (answers.conditioned.draws, answers.conditioned.weights),
            f"sales | do(temp = {t:g})": (answers.intervened.draws, answers.intervened.weights),
        },
        "Seeing vs doing",
        "ice_cream",
        means={f"sales | temp = {t:g}": answers.conditioned.mean, f"sales | do(temp = {t:g})": answers.intervened.mean},
    ),
    compare,
)
chart(
    charts.weighted_histograms(
        {
            "factual sales": (answers.factual_sales, answers.counterfactual.weights),
            f"had it been {question.cf_temp:g}°": (answers.counterfactual.draws, answers.counterfactual.weights),
        },
        "The observed day and its counterfactual",
        "ice_cream",
    ),
    imagine,
)
CAUSAL.section(answers)

st.header("The model, seen and intervened on")
observed_temp = (("temp", t),)
graph = cached_run(
    model_graph,
    weather.ice_cream_sales,
    params.as_args(),
    observed_temp,
    label="Drawing",
    key_args=panels.graph_key(weather.ice_cream_sales, observed_temp),
)
observed_tab, intervened_tab, code_tab = st.tabs(["Conditioned on temp", f"After do(temp = {t:g})", "Pyro code"])
if graph.ok:
    observed_tab.graphviz_chart(graph.result)
    observed_tab.caption("pyro.render_model: temp is observed (shaded and marked); the weather still points into it.")
    intervened_tab.graphviz_chart(intervened_graph(graph.result, "temp", t))
    intervened_tab.caption("do(temp) replaces temp's mechanism: the edge from cloudy into temp is cut.")
code_tab.code(causal.answer_code(params, question, run_settings["n"], run_settings["seed"]), language="python")
notebook_button("causal", causal.answer_notebook, params, question, run_settings["n"], run_settings["seed"])
