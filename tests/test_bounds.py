"""Every run is bounded: a run past its time budget stops with a message, caches nothing,
and the page keeps working."""

import logging

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import array, figures, open_page
from ui.run_cache import SHARED
from ui.runs import FAILED, over_budget_message
from ui.text import escape


@pytest.fixture
def one_second_budget(monkeypatch):
    monkeypatch.setenv("PME_RUN_BUDGET_S", "1")


def test_a_run_over_its_budget_is_stopped_with_a_message(one_second_budget):
    app = open_page("scale", samples="5000", warmup="2000", chains="4")
    assert not app.exception
    assert [e.value for e in app.error] == [escape(over_budget_message(1))]
    assert "Stopped after 1 s" in app.error[0].value
    assert not any(key[1] == "infer_weight" for key in SHARED._entries)


def test_the_page_still_works_after_a_stopped_run(one_second_budget, monkeypatch):
    app = open_page("scale", samples="5000", warmup="2000", chains="4")
    assert app.error
    monkeypatch.setenv("PME_RUN_BUDGET_S", "120")
    app.number_input(key="samples").set_value(200).run()
    assert not app.exception
    # Only the sampler's own advice may remain (2000 warmup steps make HMC resonate).
    assert not any("Stopped after" in e.value for e in app.error)
    assert app.metric[0].label == "Posterior mean"


def test_svi_runs_have_the_same_budget_and_the_data_stay_with_run_again(one_second_budget):
    app = open_page("gmm", source="synthetic", true_n="100000", steps="2000", inits="100")
    assert not app.exception
    assert any("Stopped after 1 s" in e.value for e in app.error)
    # The data need no fit: they stay, drawn, with the code and a way to run the fit again.
    data = figures(app)[0]
    assert data["layout"]["title"]["text"] == "The data: 100,000 points"
    assert [t["name"] for t in data["data"]] == ["data"] and array(data["data"][0]["x"]).shape == (100_000,)
    assert "TraceEnum_ELBO" in app.code[0].value
    assert [b.label for b in app.button] == ["Run again"]


def overflows(x: float):
    import math

    return math.exp(x)


def dumps_a_tensor(n: int):
    import torch

    values = torch.full((n,), float("nan"))
    raise ValueError(f"Expected parameter loc to satisfy the constraint Real(), but found invalid values:\n{values}")


def _run_in_a_page(function_name: str, argument) -> AppTest:
    def page(function_name, argument):
        import streamlit as st

        from tests import test_bounds
        from ui.runs import cached_run

        st.session_state["error"] = cached_run(getattr(test_bounds, function_name), argument, label="Computing").error

    app = AppTest.from_function(page, args=(function_name, argument), default_timeout=60)
    app.run()
    assert not app.exception
    return app


@pytest.mark.parametrize(
    ("function_name", "argument", "internals"),
    [("overflows", 1000.0, "math range error"), ("dumps_a_tensor", 100, "nan, nan")],
)
def test_a_failure_inside_the_computation_shows_plain_words_and_logs_the_details(
    function_name, argument, internals, caplog
):
    with caplog.at_level(logging.ERROR, logger="ui.runs"):
        app = _run_in_a_page(function_name, argument)
    assert (
        app.session_state["error"]
        == FAILED
        == (
            "This run failed inside the computation; the error was logged for the teacher or maintainer. "
            "Try a less extreme setting."
        )
    )
    # Nothing of the exception reaches the page; all of it reaches the server log.
    assert "Error" not in FAILED and "tensor" not in FAILED
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert internals in caplog.text or internals in logged
    assert not any(key[1] == function_name for key in SHARED._entries)
