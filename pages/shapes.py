"""Tensor shapes: batch, event and sample shapes and plates, explained by doing."""

import streamlit as st

from ppl_models import shapes
from ui.runs import cached_run
from ui.shapes_controls import apply_preset, shapes_settings
from ui.text import escape, literal


def coloured(shape: tuple[int, ...], colour: str) -> str:
    return f":{colour}[{shape}]" if shape else f":{colour}[()]"


st.title("Tensor shapes: sample, batch, event, and plates")
st.markdown(
    "Every Pyro sample has `shape = sample_shape + batch_shape + event_shape`: "
    ":blue[**iid**] copies, :orange[**independent**] variables and :green[**dependent**] ones "
    "(one draw). `.expand` and `pyro.plate` add batch dims; `.to_event` turns batch dims into event "
    "dims; plates count dims from the right. Build one and watch."
)

with st.sidebar:
    apply_preset("shapes")
    spec, problem = shapes_settings("shapes")

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
    else:
        st.error(escape(pyro_says))
    st.stop()
report = outcome.result

st.subheader("d.sample(sample_shape)")
st.markdown(
    f"### {coloured(report.sample_shape, 'blue')} + {coloured(report.batch_shape, 'orange')} + "
    f"{coloured(report.event_shape, 'green')} = `{report.value_shape}`"
)
columns = st.columns(5)
for column, (label, value) in zip(
    columns,
    [
        ("sample_shape", report.sample_shape),
        ("batch_shape", report.batch_shape),
        ("event_shape", report.event_shape),
        ("sample", report.value_shape),
        ("log_prob", report.log_prob_shape),
    ],
    strict=True,
):
    column.metric(label, str(value), help="Read from the tensors Pyro and torch produced.")
st.caption("log_prob has one number per independent draw: sample_shape + batch_shape (the event is summed over).")

if spec.plates:
    st.subheader('pyro.sample("x", d) inside the plates')
    plate_words = ", ".join(f"{literal(name)} (size {size}) owns dim {dim}" for name, size, dim in report.plate_dims)
    st.markdown(
        f"Plates: {plate_words}. Inside them the site's batch shape becomes "
        f"{coloured(report.site_batch_shape, 'orange')}, so its value has shape `{report.site_value_shape}` and "
        f"its log_prob `{report.site_log_prob_shape}`. (`sample_shape` is for `d.sample` only; in a model, "
        "plates do that job.)"
    )
independent = len(report.site_batch_shape)
st.markdown(
    f"**Independent dims:** the {independent} batch dim(s) of the site "
    f"{coloured(report.site_batch_shape, 'orange')}; **dependent:** the event dims "
    f"{coloured(report.event_shape, 'green')}."
)
trace_tab, code_tab = st.tabs(["trace.format_shapes()", "Pyro code"])
trace_tab.code(report.trace_table, language="text")
code_tab.code(report.code, language="python")
