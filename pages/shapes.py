"""Tensor shapes: batch, event and sample shapes and plates, explained by doing."""

from dataclasses import replace

import streamlit as st

from ppl_models import shapes
from ui import style
from ui.runs import cached_run, show_unfinished
from ui.shapes_controls import apply_preset, shapes_settings
from ui.text import escape, literal


def coloured(shape: tuple[int, ...], colour: str, name: str = "") -> str:
    """``shape`` in its part's colour; named as well where nothing else says which part it is,
    so the meaning never rests on the colour alone."""
    words = f"{name} {shape or '()'}" if name else f"{shape or '()'}"
    return f":{colour}[{words}]"


style.title("Tensor shapes: sample, batch, event, and plates")
st.markdown(
    "Every Pyro sample has `shape = sample_shape + batch_shape + event_shape`: "
    ":blue[**iid**] copies (sample_shape), :orange[**independent**] variables (batch_shape) and "
    ":green[**dependent**] ones (event_shape, one draw). `.expand` and `pyro.plate` add batch dims; "
    "`.to_event` turns batch dims into event dims; plates count dims from the right. Build one and watch."
)

with st.sidebar:
    apply_preset("shapes")
    spec, problem = shapes_settings("shapes")

# What each shape means, beside its number.
MEANINGS = {
    "sample_shape": "iid copies: how many independent, identically distributed draws d.sample makes (leftmost dims).",
    "batch_shape": "independent variables, each with its own parameters: one distribution per entry.",
    "event_shape": "the shape of one draw of a dependent variable: its entries are drawn jointly (rightmost dims).",
    "sample": "the drawn tensor: sample_shape + batch_shape + event_shape.",
    "log_prob": "one log density per independent draw: sample_shape + batch_shape, the event summed over.",
}


def distribution_shapes(report: shapes.ShapeReport) -> None:
    st.header("d.sample(sample_shape)")
    st.markdown(
        f"### {coloured(report.sample_shape, 'blue', 'sample')} + {coloured(report.batch_shape, 'orange', 'batch')} + "
        f"{coloured(report.event_shape, 'green', 'event')} = `{report.value_shape}`"
    )
    shown = {
        "sample_shape": report.sample_shape,
        "batch_shape": report.batch_shape,
        "event_shape": report.event_shape,
        "sample": report.value_shape,
        "log_prob": report.log_prob_shape,
    }
    for column, (label, value) in zip(st.columns(5), shown.items(), strict=True):
        column.metric(label, str(value), help=MEANINGS[label])
    st.caption("log_prob has one number per independent draw: sample_shape + batch_shape (the event is summed over).")


if problem:
    st.error(escape(problem))
    st.stop()
outcome = cached_run(shapes.explore, spec, label="Tensor shapes")
if not outcome.ok:
    # A shape error is Pyro's own line, then what it means; anything else is one message.
    pyro_says, _, meaning = outcome.error.partition("\n")
    if meaning:
        st.error("**Pyro says:**")
        st.code(pyro_says, language="text")
        st.warning(escape(meaning))
        # What was built still stands: the distribution before the plates, and the code that fails.
        if spec.plates:
            alone = cached_run(shapes.explore, replace(spec, plates=()), label="Tensor shapes")
            if alone.ok:
                st.markdown("**Before the plates**, the distribution itself is fine:")
                distribution_shapes(alone.result)
        st.markdown("**The code that raises it:**")
        st.code(shapes.explore_code(spec), language="python")
    else:
        show_unfinished(outcome)
    st.stop()
report = outcome.result
distribution_shapes(report)

if spec.plates:
    st.header('pyro.sample("x", d) inside the plates')
    plate_words = ", ".join(f"{literal(name)} (size {size}) owns dim {dim}" for name, size, dim in report.plate_dims)
    st.markdown(
        f"Plates: {plate_words}. Inside them the site's batch shape becomes "
        f"{coloured(report.site_batch_shape, 'orange')}, so its value has shape `{report.site_value_shape}` and "
        f"its log_prob `{report.site_log_prob_shape}`. (`sample_shape` is for `d.sample` only; in a model, "
        "plates do that job.)"
    )
independent = len(report.site_batch_shape)
batch_words = {0: "none: the site has no batch dims", 1: "the one batch dim of the site"}
dependent = "the event dims" if report.event_shape else "none: every entry is its own event"
st.markdown(
    f"**Independent dims:** {batch_words.get(independent, f'the {independent} batch dims of the site')} "
    f"{coloured(report.site_batch_shape, 'orange')}; **dependent:** {dependent} "
    f"{coloured(report.event_shape, 'green')}."
)
trace_tab, code_tab = st.tabs(["trace.format_shapes()", "Pyro code"])
trace_tab.code(report.trace_table, language="text")
code_tab.code(report.code, language="python")
