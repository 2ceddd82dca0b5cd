"""Every run is bounded: a run past its time budget stops with a message, caches nothing,
and the page keeps working."""

import pytest

from tests.apptest_helpers import open_page
from ui.run_cache import SHARED
from ui.runs import over_budget_message


@pytest.fixture
def one_second_budget(monkeypatch):
    monkeypatch.setenv("PME_RUN_BUDGET_S", "1")


def test_a_run_over_its_budget_is_stopped_with_a_message(one_second_budget):
    app = open_page("scale", samples="5000", warmup="2000", chains="4")
    assert not app.exception
    assert [e.value for e in app.error] == [over_budget_message(1)]
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


def test_svi_runs_have_the_same_budget(one_second_budget):
    app = open_page("gmm", source="synthetic", true_n="100000", steps="2000", inits="100")
    assert not app.exception
    assert any("Stopped after 1 s" in e.value for e in app.error)
