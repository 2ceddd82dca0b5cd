"""Inference in worker processes: the same results, progress that arrives, stops that stop."""

import threading

import numpy as np
import pytest

from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.workers import WorkerPool
from ppl_models.scale import ScaleSettings, infer_weight
from ui.capacity import WORKER_PRELOAD

SHORT = McmcSettings(num_samples=200, warmup_steps=50)


@pytest.fixture(scope="module")
def pool():
    return WorkerPool(processes=2, preload=WORKER_PRELOAD)


def test_a_worker_gives_the_in_process_result_bit_for_bit(pool):
    query = ScaleSettings(measurement=12.5)
    in_worker = pool.run(infer_weight, (query, SHORT))
    np.testing.assert_array_equal(in_worker.weight_draws, infer_weight(query, SHORT).weight_draws)


def test_progress_reports_come_back_to_the_caller(pool):
    reports = []
    pool.run(infer_weight, (ScaleSettings(), SHORT), progress=reports.append)
    assert reports and reports[-1].done == reports[-1].total == 250
    assert len(reports[-1].partial["weight"]) == 200


def test_a_callback_that_says_stop_ends_the_worker(pool):
    long_run = McmcSettings(num_samples=5000, warmup_steps=2000, num_chains=4)
    with pytest.raises(RunCancelled):
        pool.run(infer_weight, (ScaleSettings(), long_run), progress=lambda report: False)
    assert pool.jobs_in_progress() == 0
    # The stopped worker was replaced: the next job runs, and right.
    again = pool.run(infer_weight, (ScaleSettings(measurement=12.5), SHORT))
    np.testing.assert_array_equal(again.weight_draws, infer_weight(ScaleSettings(measurement=12.5), SHORT).weight_draws)


def test_an_inference_error_crosses_back_with_its_message(pool):
    with pytest.raises(InferenceError, match="samples must be between"):
        pool.run(infer_weight, (ScaleSettings(), McmcSettings(num_samples=0)))


def test_three_jobs_at_once_on_two_workers_all_finish(pool):
    started = threading.Barrier(3, timeout=60)
    results = []

    def job(measurement):
        started.wait()
        results.append(pool.run(infer_weight, (ScaleSettings(measurement=measurement), SHORT)))

    threads = [threading.Thread(target=job, args=(m,)) for m in (11.0, 12.0, 13.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 3
    assert pool.jobs_in_progress() == 0


def test_a_worker_does_not_rerun_the_parents_main_script(tmp_path, monkeypatch):
    """Under ``streamlit run``, ``__main__`` is the page script; a worker that re-ran it
    imported Streamlit and held 130 MB of its own (found by bench/memory.py)."""
    import sys
    import types

    marker = tmp_path / "the main script ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page_as_main = types.ModuleType("__main__")
    page_as_main.__file__ = str(script)
    page_as_main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", page_as_main)
    fresh_pool = WorkerPool(processes=1, preload=WORKER_PRELOAD)
    fresh_pool.start()
    monkeypatch.undo()
    result = fresh_pool.run(infer_weight, (ScaleSettings(measurement=12.5), SHORT))
    assert result.weight_draws.shape == (1, 200)
    assert not marker.exists()
