"""Fits running at once from several threads equal their solo results exactly.

Streamlit runs each session as a thread of one process, and Pyro's handler stack and
param store are process globals: without the inference guard these runs crash with
"Multiple sample sites named ..." or silently share parameters.
"""

import threading

import numpy as np
import pytest

from ppl_models.engine.graphs import model_graph
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.runtime import guard
from ppl_models.engine.svi import SviSettings
from ppl_models.scale import ScaleSettings, infer_weight, scale
from ui.catalog import CATALOG

JOBS = [
    (ScaleSettings(), McmcSettings(kernel="nuts", num_samples=150, warmup_steps=50, seed=1)),
    (ScaleSettings(measurement=9.0), McmcSettings(kernel="hmc", num_samples=150, warmup_steps=50, seed=2)),
    (ScaleSettings(guess=5.0), SviSettings(num_steps=150, seed=3)),
    (ScaleSettings(noise_sd=2.0), SviSettings(num_steps=150, seed=4, elbo="trace", num_particles=1)),
    (ScaleSettings(prior_sd=3.0), McmcSettings(kernel="nuts", num_samples=100, warmup_steps=50, num_chains=2, seed=5)),
]


def _fingerprint(result):
    if result.svi is not None:
        return np.concatenate([result.svi.losses, result.weight_draws.ravel()])
    return result.weight_draws.ravel()


def test_concurrent_fits_equal_their_solo_results():
    solo = [_fingerprint(infer_weight(q, s)) for q, s in JOBS]
    solo_graph = model_graph(scale, (10.0, 1.0, 0.75), (("measurement", 14.0),))
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(JOBS) + 1)

    def fit(index):
        start.wait()
        try:
            results[index] = _fingerprint(infer_weight(*JOBS[index]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def draw_graphs():
        start.wait()
        for _ in range(5):
            assert model_graph(scale, (10.0, 1.0, 0.75), (("measurement", 14.0),)) == solo_graph

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(JOBS))]
    threads.append(threading.Thread(target=draw_graphs))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    for index, expected in enumerate(solo):
        np.testing.assert_array_equal(results[index], expected)


def test_the_guard_counts_the_runs_holding_or_queued_for_it():
    import threading

    from ppl_models.engine.runtime.guard import inference_guard, runs_in_progress

    inside, release = threading.Event(), threading.Event()

    def hold():
        with inference_guard(seed=0), inference_guard(seed=1):  # nested entries count once
            inside.set()
            release.wait(10)

    def queue():
        with inference_guard(seed=2):
            pass

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    waiter = threading.Thread(target=queue)
    waiter.start()
    for _ in range(100):
        if runs_in_progress() == 2:
            break
        threading.Event().wait(0.01)
    assert runs_in_progress() == 2
    release.set()
    holder.join(10)
    waiter.join(10)
    assert runs_in_progress() == 0


def test_runs_leave_no_traced_functions_behind():
    """JIT-compiled runs must not pile TorchScript functions up in the server's memory."""
    import torch

    from ppl_models import gmm
    from ppl_models.engine.mcmc import McmcSettings
    from ppl_models.scale import ScaleSettings, infer_weight

    for shift in (0.0, 1.0):
        gmm.fit_map((0.0, 1.0, 10.0 + shift, 11.0, 12.0), gmm.GmmPrior(), gmm.GmmSettings(inits=5, steps=20))
        infer_weight(ScaleSettings(measurement=13.0 + shift), McmcSettings(num_samples=20, warmup_steps=10))
    assert torch.jit._state._python_cu.get_functions() == []


@pytest.mark.parametrize(
    "lecture", [lecture for lecture in CATALOG if lecture.default_run], ids=lambda lecture: lecture.url_path
)
def test_every_page_s_run_waits_for_the_guard(lecture):
    """Pyro's handler stack is per process: a page's run that skipped the guard would interleave
    its traces with another session's (as the model graph, drawn in the server, found out)."""
    function, *args = lecture.default_run()
    finished = threading.Event()

    def run():
        function(*args)
        finished.set()

    with guard._INFERENCE_LOCK:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert not finished.wait(0.5), f"{function.__qualname__} ran while another run held the guard"
    worker.join(120)
    assert finished.is_set()
