"""The chart builders' promises to readers who cannot see the chart as drawn (issue 16, point 11):
a summary with the key numbers in every figure, and series told apart by more than colour."""

import inspect
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from ppl_models import hmc
from ppl_models.scale import ScaleSettings
from tests.conftest import ROOT
from ui import charts, class_charts, compare_charts, hmc_charts
from ui.chart_view import spoken_summary

GRID = np.linspace(0.0, 20.0, 201)


def _bump(at: float) -> np.ndarray:
    return np.exp(-0.5 * (GRID - at) ** 2)


def _hmc():
    """The lecture's setting inside HMC: momentum 1.541 from seed 0, posterior mean 12.56."""
    return hmc.explore(ScaleSettings(), hmc.HmcSettings(trajectories=20))


# Each builder with data whose key numbers are known, and the phrases its summary must hold.
CASES = {
    "guesses_histogram": (
        lambda: class_charts.guesses_histogram(np.array([[12.0], [13.0], [12.5]]), ("",), (12.56,), (13.0,)),
        ["3 guesses, from 12 to 13", "median 12.5", "the answer is 12.6", "your guess is 13"],
    ),
    "phase_portrait": (
        lambda: hmc_charts.phase_portrait(_hmc().oscillator, _hmc().trajectory, 2),
        ["at step 2 of 4", "weight 14.7", "around the posterior mean 12.6"],
    ),
    "potential_well": (
        lambda: hmc_charts.potential_well(_hmc().oscillator, _hmc().trajectory, 0),
        ["at the posterior mean 12.6", "at step 0 the particle is at weight 10", "total energy 17"],
    ),
    "energy_along_path": (
        lambda: hmc_charts.energy_along_path(_hmc().trajectory, 4),
        ["H starts at 17", "after 4 steps", "an energy error of -3.19"],
    ),
    "chain_moves": (lambda: hmc_charts.chain_moves(_hmc().chain), ["20 iterations", "proposals accepted"]),
    "nuts_tree": (
        lambda: hmc_charts.nuts_tree(_hmc().tree),
        ["2 doublings, 3 leapfrog steps", "stopped by u-turn", "returns weight 11.5", "start at 10"],
    ),
    "elbo_curves": (
        lambda: charts.elbo_curves(np.array([-9.0, -7.0, -6.5]), np.array([-8.0, -6.6, -6.3]), -6.26, "ELBO", "ELBO"),
        ["3 steps", "from -8 to -6.3", "log evidence is -6.26"],
    ),
    "kl_curve": (lambda: charts.kl_curve(np.array([2.0, 0.5, 0.4]), 0.38), ["from 2 to 0.4", "floor of 0.38"]),
    "guide_over_posterior": (
        lambda: charts.guide_over_posterior(GRID, _bump(12.5), _bump(13.0), 13.0),
        ["posterior peaks at 12.5", "guide q peaks at 13"],
    ),
    "noise_plot": (
        lambda: charts.noise_plot([1, 4, 16], [2.0, 0.5, 0.125], "particles", "Noise"),
        ["2 at particles 1", "0.125 at 16"],
    ),
    "probability_bars": (
        lambda: charts.probability_bars(
            np.arange(4), np.array([0.1, 0.5, 0.3, 0.1]), np.array([0.12, 0.48, 0.3, 0.1]), "P(X | end)", "X"
        ),
        ["for X from 0 to 3", "highest at X = 1 (0.48)", "the estimate is 0.5"],
    ),
    "paths_plot": (
        lambda: charts.paths_plot(
            [np.array([0.0, 1.0]), np.array([0.5]), np.array([0.0, 1.0, 2.0, 1.5])], "Walks", "Y"
        ),
        ["3 walks", "from 1 to 4 values long"],
    ),
    "density_histogram": (
        lambda: charts.density_histogram(
            np.array([12.0, 13.0, 14.0, 13.0]),
            {"exact posterior": (GRID, _bump(12.5)), "prior": (GRID, _bump(10.0))},
            "P(weight | measurement = 14)",
            "weight",
        ),
        ["4 draws of weight", "mean 13", "exact posterior peaks at weight = 12.5", "prior peaks at weight = 10"],
    ),
    "ranked_histograms": (
        lambda: charts.ranked_histograms(
            {"lowest location": np.array([0.0, 1.0, 2.0]), "highest location": np.array([10.0, 11.0])},
            "Locations",
            "location",
            marks={"lowest location": 0.5, "highest location": 10.98},
        ),
        ["lowest location: 3 draws, mean 1", "highest location: 2 draws, mean 10.5", "highest location at 11"],
    ),
    "trace_plot": (
        lambda: charts.trace_plot(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), "Trace of weight", "weight"),
        ["3 iterations in each of 2 chains", "chain 1 mean 2, from 1 to 3", "chain 2 mean 5, from 4 to 6"],
    ),
    "autocorrelation_plot": (
        lambda: charts.autocorrelation_plot(np.array([[1.0, 0.5, 0.05, 0.0], [1.0, 0.8, 0.6, 0.4]]), "ACF"),
        ["2 chains", "up to lag 3", "chain 1 falls below 0.1 at lag 2", "chain 2 stays above 0.1 up to lag 3"],
    ),
    "loss_curve": (
        lambda: charts.loss_curve([9.0, 4.0, 2.5, 3.0]),
        ["4 steps", "from 9 to 3", "lowest 2.5 at step 2"],
    ),
    "parameter_paths": (
        lambda: charts.parameter_paths(
            {"weight_loc": np.array([10.0, 12.0, 12.5]), "weight_scale": np.array([1.0, 0.7, 0.61])},
            {"weight_loc": 12.56, "weight_scale": 0.6},
            "Guide parameters",
        ),
        ["2 parameters over 3 steps", "weight_loc ends at 12.5 (exact 12.6)", "weight_scale ends at 0.61 (exact 0.6)"],
    ),
    "split_density_bars": (
        lambda: charts.split_density_bars(
            {"cloudy": np.array([50.0, 55.0, 60.0]), "sunny": np.array([70.0] * 7)},
            {"exact, cloudy share": (GRID * 5, _bump(11.0)), "exact, sunny share": (GRID * 5, _bump(15.0))},
            "Temperature",
            "temp (°F)",
        ),
        ["10 draws of temp (°F)", "cloudy 3 (30%), mean 55", "sunny 7 (70%), mean 70", "sunny share peaks at 75"],
    ),
    "weighted_histograms": (
        lambda: charts.weighted_histograms(
            {
                "sales | temp = 78": (np.array([40.0, 60.0]), np.array([1.0, 3.0])),
                "had it been 90°": (np.array([198.0, 198.0]), np.array([0.5, 0.5])),
            },
            "Seeing",
            "ice_cream",
        ),
        ["sales | temp = 78: 2 weighted draws, mean 55", "had it been 90°: every draw is 198.0 (probability 1)"],
    ),
    "mixture_density": (
        lambda: charts.mixture_density(
            np.array([0.0, 1.0, 10.0, 11.0, 12.0]), np.array([0.375, 0.625]), np.array([0.5, 10.98]), 0.651
        ),
        [
            "2 normal components",
            "shared scale 0.651",
            "5 data points",
            "component 1 weight 0.375 at 0.5",
            "component 2 weight 0.625 at 11",
            "peaks at x = 11",
        ],
    ),
    "start_scores_plot": (
        lambda: charts.start_scores_plot(np.array([30.0, 12.5, 41.0]), 1, "lecture"),
        ["initial loss of each of 3 initialisations", "from 12.5 to 41", "#1, scores 12.5"],
    ),
    "pinned_posteriors": (
        lambda: compare_charts.pinned_posteriors(
            {
                "A": (np.array([12.0, 13.0, 13.0]), (GRID, _bump(12.5))),
                "B": (np.array([9.0, 10.0]), (GRID, _bump(9.7))),
            },
            "weight",
            "P(weight | measurement): A and B",
        ),
        [
            "A: 3 draws, mean 12.7, the exact posterior peaking at weight = 12.5",
            "B: 2 draws, mean 9.5, the exact posterior peaking at weight = 9.7",
        ],
    ),
    "pinned_answers": (
        lambda: compare_charts.pinned_answers(
            ("seeing", "doing temp"),
            {"A": ((198.7, 155.6), (198.7, 155.0)), "B": ((50.0, 50.1), (50.0, 50.0))},
            "The answers of A and B",
            "expected sales",
        ),
        ["seeing: A 199 (exact 199), B 50 (exact 50)", "doing temp: A 156 (exact 155), B 50.1 (exact 50)"],
    ),
    "pinned_mixtures": (
        lambda: compare_charts.pinned_mixtures(
            {
                "A": (np.array([0.0, 1.0, 10.0]), np.array([0.4, 0.6]), np.array([0.5, 10.0]), 0.6),
                "B": (np.array([0.0, 1.0, 10.0, 20.0]), np.array([1.0]), np.array([7.0]), 7.5),
            }
        ),
        [
            "on different data",
            "A: 2 components with scale 0.6 over 3 points (weight 0.4 at 0.5, weight 0.6 at 10)",
            "B: 1 component with scale 7.5 over 4 points",
            "peaking at x = 10",
        ],
    ),
    "gradient_norms_plot": (
        lambda: charts.gradient_norms_plot({"AutoDelta.locs": np.array([5.0, 0.5, 0.002])}),
        ["1 parameter over 3 steps", "AutoDelta.locs from 5 to 0.002"],
    ),
}


def _builders() -> set[str]:
    return {
        name
        for module in (charts, hmc_charts, class_charts, compare_charts)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and not name.startswith("_")
        and inspect.signature(function).return_annotation in (go.Figure, "go.Figure")
    }


def test_every_builder_is_checked_here():
    assert _builders() == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_builder_writes_a_summary_with_its_key_numbers(name):
    build, phrases = CASES[name]
    figure = build()
    summary = charts.summary_of(figure)
    assert summary and len(summary) < 600
    for phrase in phrases:
        assert phrase in summary, (phrase, summary)
    # The summary travels in the figure's JSON, as the page sends it to the browser.
    assert charts.summary_of(figure.to_plotly_json()) == summary
    assert spoken_summary(figure).startswith(f"Chart: {figure.layout.title.text}. ")


def test_an_empty_loss_says_so():
    assert charts.summary_of(charts.loss_curve([])) == "No loss recorded yet."


def _look(trace) -> tuple:
    """What tells a trace apart other than its colour: dash, marker symbol, bar pattern, trace kind."""
    line = getattr(trace, "line", None)
    marker = getattr(trace, "marker", None)
    pattern = getattr(marker, "pattern", None) if marker is not None else None
    return (
        trace.type,
        getattr(line, "dash", None) if line is not None else None,
        getattr(line, "width", None) if line is not None else None,
        getattr(marker, "symbol", None) if marker is not None and trace.type == "scatter" else None,
        getattr(pattern, "shape", None) if pattern is not None else None,
    )


@pytest.mark.parametrize(
    "figure",
    [
        charts.trace_plot(np.zeros((4, 5)), "t", "x"),
        charts.autocorrelation_plot(np.ones((4, 5)), "a"),
        charts.ranked_histograms({f"s{i}": np.arange(5.0) + i for i in range(6)}, "r", "x"),
        charts.mixture_density(np.arange(6.0), np.full(6, 1 / 6), np.arange(6.0), 0.5, (np.arange(6.0), 0.5)),
        charts.split_density_bars(
            {"cloudy": np.arange(5.0), "sunny": np.arange(5.0) + 3},
            {"exact, cloudy share": (GRID, _bump(2)), "exact, sunny share": (GRID, _bump(5))},
            "s",
            "x",
        ),
        charts.weighted_histograms(
            {"a": (np.arange(5.0), np.ones(5)), "b": (np.arange(5.0) + 1, np.ones(5))}, "w", "x"
        ),
        charts.parameter_paths({"p": np.arange(3.0), "q": np.arange(3.0)}, {}, "p"),
        charts.gradient_norms_plot({"p": np.ones(3), "q": np.ones(3)}),
        hmc_charts.phase_portrait(_hmc().oscillator, _hmc().trajectory, 3),
        hmc_charts.potential_well(_hmc().oscillator, _hmc().trajectory, 3),
        hmc_charts.energy_along_path(_hmc().trajectory, 3),
        hmc_charts.chain_moves(_hmc().chain),
        hmc_charts.nuts_tree(hmc.explore(ScaleSettings(), hmc.HmcSettings(step_size=0.1, trajectories=1)).tree),
        compare_charts.pinned_posteriors(
            {"A": (np.arange(5.0), (GRID, _bump(2))), "B": (np.arange(5.0) + 1, (GRID, _bump(3)))}, "weight", "p"
        ),
        compare_charts.pinned_answers(
            ("q1", "q2"), {"A": ((1.0, 2.0), (1.1, 2.1)), "B": ((3.0, 4.0), (3.1, 4.1))}, "a", "y"
        ),
        compare_charts.pinned_mixtures(
            {
                "A": (np.arange(3.0), np.array([1.0]), np.array([1.0]), 1.0),
                "B": (np.arange(4.0), np.array([1.0]), np.array([2.0]), 1.0),
            }
        ),
    ],
    ids=[
        "trace",
        "acf",
        "ranked",
        "mixture",
        "split",
        "weighted",
        "paths",
        "gradients",
        "phase",
        "well",
        "energy",
        "chain",
        "nuts",
        "pinned-posteriors",
        "pinned-answers",
        "pinned-mixtures",
    ],
)
def test_series_differ_in_more_than_colour_and_each_has_a_legend_name(figure):
    names = [trace.name for trace in figure.data]
    assert all(names) and len(set(names)) == len(names)
    looks = [_look(trace) for trace in figure.data]
    assert len(set(looks)) == len(looks), list(zip(names, looks, strict=True))


def test_every_plotly_chart_goes_through_the_one_chart_function():
    """So every chart on the page has its summary for screen readers."""
    callers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("ui", "pages")
        for path in (ROOT / folder).glob("*.py")
        if re.search(r"\.plotly_chart\(", path.read_text())
    ]
    assert callers == ["ui/chart_view.py"]
