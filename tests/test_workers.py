"""Inference in worker processes: the same results, progress that arrives, stops that stop."""

import threading

import numpy as np
import pytest

from ppl_models.errors import InferenceError, RunCancelled
from ppl_models.mcmc import McmcSettings
from ppl_models.scale import ScaleQuery, infer_weight
from ppl_models.workers import WorkerPool

SHORT = McmcSettings(num_samples=200, warmup_steps=50)


@pytest.fixture(scope="module")
def pool():
    return WorkerPool(processes=2)


def test_a_worker_gives_the_in_process_result_bit_for_bit(pool):
    query = ScaleQuery(measurement=12.5)
    in_worker = pool.run(infer_weight, (query, SHORT))
    np.testing.assert_array_equal(in_worker.weight_draws, infer_weight(query, SHORT).weight_draws)


def test_progress_reports_come_back_to_the_caller(pool):
    reports = []
    pool.run(infer_weight, (ScaleQuery(), SHORT), progress=reports.append)
    assert reports and reports[-1].done == reports[-1].total == 250
    assert len(reports[-1].partial["weight"]) == 200


def test_a_callback_that_says_stop_ends_the_worker(pool):
    long_run = McmcSettings(num_samples=5000, warmup_steps=2000, num_chains=4)
    with pytest.raises(RunCancelled):
        pool.run(infer_weight, (ScaleQuery(), long_run), progress=lambda report: False)
    assert pool.jobs_in_progress() == 0
    # The stopped worker was replaced: the next job runs, and right.
    again = pool.run(infer_weight, (ScaleQuery(measurement=12.5), SHORT))
    np.testing.assert_array_equal(again.weight_draws, infer_weight(ScaleQuery(measurement=12.5), SHORT).weight_draws)


def test_an_inference_error_crosses_back_with_its_message(pool):
    with pytest.raises(InferenceError, match="samples must be between"):
        pool.run(infer_weight, (ScaleQuery(), McmcSettings(num_samples=0)))


def test_three_jobs_at_once_on_two_workers_all_finish(pool):
    started = threading.Barrier(3, timeout=60)
    results = []

    def job(measurement):
        started.wait()
        results.append(pool.run(infer_weight, (ScaleQuery(measurement=measurement), SHORT)))

    threads = [threading.Thread(target=job, args=(m,)) for m in (11.0, 12.0, 13.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 3
    assert pool.jobs_in_progress() == 0
