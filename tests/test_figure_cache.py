"""The shared figures: one per chart's data, whoever asks, within bounds."""

import numpy as np
import pytest

from ui import charts, figure_cache


@pytest.fixture(autouse=True)
def empty_cache():
    figure_cache.clear()
    yield
    figure_cache.clear()


def test_the_same_data_gets_the_same_figure_and_other_data_another():
    draws = np.arange(12.0).reshape(3, 4)
    first = charts.trace_plot(draws, "t", "x")
    assert charts.trace_plot(draws.copy(), "t", "x") is first, "equal contents, another array: the kept figure"
    assert charts.trace_plot(draws + 1, "t", "x") is not first
    assert charts.trace_plot(draws, "another title", "x") is not first
    assert charts.trace_plot(draws.astype(np.float32), "t", "x") is not first


def test_a_kept_figure_equals_a_fresh_build():
    draws = np.random.default_rng(0).normal(size=(2, 50))
    kept = charts.trace_plot(draws, "t", "x")
    figure_cache.clear()
    assert charts.trace_plot(draws, "t", "x").to_plotly_json() == kept.to_plotly_json()


def test_the_cache_is_bounded_in_count_and_bytes(monkeypatch):
    monkeypatch.setattr(figure_cache, "MAX_FIGURES", 5)
    for shift in range(20):
        charts.loss_curve([float(shift), 1.0])
    assert figure_cache.held()[0] == 5
    monkeypatch.setattr(figure_cache, "MAX_BYTES", 200_000)
    for shift in range(5):
        charts.trace_plot(np.full((1, 2_000), float(shift)), "t", "x")
    count, held_bytes = figure_cache.held()
    assert held_bytes <= 200_000 and count >= 1


def test_inputs_past_the_element_bound_are_built_afresh_and_not_kept():
    big = np.zeros((1, figure_cache.MAX_ELEMENTS + 1))
    assert charts.trace_plot(big, "t", "x") is not charts.trace_plot(big, "t", "x")
    assert figure_cache.held()[0] == 0
