"""Speed of the open-world page, as ratios against the honest program's Python loop.

The question: P(X = k | the walk ends at 2) and E[X | end] at the page's defaults (rate 3,
10,000 draws). Baselines: Pyro's own ``Importance`` over the honest ``walk`` program (one
Python run per sample, its Y sites made by a ``for`` loop), and a bare Python loop calling
``poutine.trace(walk).get_trace`` once per run and summing the log weights by hand. Then the
page's vectorised likelihood weighting: every run at once in one ``pyro.plate``, each run's
sites masked beyond its own length. Everything runs in this process, one after another, on
the CPU.

    python -m bench.open_world_speed
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pyro
import torch
from pyro import poutine

from ppl_models import open_world
from ppl_models.open_world import OpenWorldSettings, walk

DRAWS = 10_000
SETTINGS = OpenWorldSettings()  # rate 3, end 2: the page's defaults
REPEATS = 3


def timed(repeats: int, run) -> tuple[float, object]:
    """The median wall time of ``repeats`` calls, and the last call's answer."""
    times, answer = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


def weighted_mean(x: np.ndarray, log_weights: np.ndarray) -> float:
    weights = np.exp(log_weights - log_weights.max())
    return float(np.sum(weights * x) / weights.sum())


def pyro_importance() -> float:
    pyro.set_rng_seed(0)
    end = torch.tensor(SETTINGS.end)  # a tensor: torch's validation refuses a float log_prob value
    posterior = pyro.infer.Importance(walk, guide=None, num_samples=DRAWS).run(SETTINGS.rate, end)
    x = np.array([float(trace.nodes["X"]["value"]) for trace in posterior.exec_traces])
    return weighted_mean(x, np.array([float(w) for w in posterior.log_weights]))


def trace_loop() -> float:
    pyro.set_rng_seed(0)
    end = torch.tensor(SETTINGS.end)
    x, log_weights = np.empty(DRAWS), np.empty(DRAWS)
    for run in range(DRAWS):
        trace = poutine.trace(walk).get_trace(SETTINGS.rate, end)
        n = max(int(trace.nodes["X"]["value"]), 1)
        site = trace.nodes[f"Y_{n - 1}"]
        x[run] = float(trace.nodes["X"]["value"])
        log_weights[run] = float(site["fn"].log_prob(site["value"]))
    return weighted_mean(x, log_weights)


def page() -> float:
    return open_world._walk_posterior(SETTINGS, DRAWS, 0, "cpu").mean.value


def main() -> None:
    exact = open_world._walk_posterior(SETTINGS, 10, 0, "cpu").mean.exact  # also pays torch's one-off set-up
    print(f"walk posterior E[X | end = {SETTINGS.end:g}], rate {SETTINGS.rate:g}, {DRAWS:,} draws (exact {exact:.3f})")
    print(f"median of {REPEATS} on the CPU; ratios against Pyro's Importance over the honest program\n")
    baseline, answer = timed(REPEATS, pyro_importance)
    rows = [("pyro.infer.Importance(walk), one Python run a sample", baseline, answer)]
    rows.append(("Python loop of poutine.trace(walk).get_trace", *timed(REPEATS, trace_loop)))
    page()  # warm
    rows.append(("page: one pyro.plate, masked sites (likelihood weighting)", *timed(REPEATS, page)))
    print(f"  {'how':58s} {'time':>9s} {'speed-up':>9s} {'E[X | end]':>11s}")
    for name, seconds, answer in rows:
        shown = f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"
        print(f"  {name:58s} {shown:>9s} {baseline / seconds:8.0f}x {answer:11.3f}")
    full, _ = timed(REPEATS, lambda: open_world.explore(SETTINGS, DRAWS, 0, device="cpu"))
    print(f"\nthe whole page's explore() (listed traces, runs by length, posterior): {full * 1000:.1f} ms")


if __name__ == "__main__":
    main()
