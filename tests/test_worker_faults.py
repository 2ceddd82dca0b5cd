"""Faults in the worker pool: a worker that dies, a job that runs silent past its budget,
one that grows past its memory, one that fails in a way that is no message for a student.

The jobs below are module-level functions: workers are forked from a forkserver and
import what they run by its module path (``tests.test_worker_faults``).
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.workers import (
    WORKER_BUDGET_MB,
    JobFailed,
    WorkerPool,
    died_message,
    exit_words,
    memory_limit_mb,
    over_memory_message,
)
from ppl_models.scale import ScaleSettings, infer_weight
from ui.capacity import WORKER_PRELOAD

SHORT = McmcSettings(num_samples=200, warmup_steps=50)
LONG = McmcSettings(kernel="nuts", num_samples=5000, warmup_steps=2000, num_chains=4)


def hold_memory(megabytes: int, seconds: float = 60.0, progress=None):
    """Touch ``megabytes`` of fresh memory and hold it for ``seconds`` (numpy writes every page)."""
    block = np.ones(megabytes * 2**20 // 8)
    time.sleep(seconds)
    return block.nbytes // 2**20


def stay_silent(seconds: float, progress=None):
    """Compute without a word for ``seconds``: one long torch operation, as the pool sees it."""
    time.sleep(seconds)
    return seconds


def overflow():
    import math

    return math.exp(1000)


class _Unpicklable(Exception):
    def __init__(self):
        super().__init__("held a lambda")
        self.callback = lambda: None


def raise_unpicklable():
    raise _Unpicklable()


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(processes=2, preload=WORKER_PRELOAD)
    yield pool
    pool.close()


def _solo(measurement: float):
    return infer_weight(ScaleSettings(measurement=measurement), SHORT).weight_draws


def _three_fresh_runs_at_once(pool, measurements) -> dict:
    results, errors = {}, []

    def job(measurement):
        try:
            results[measurement] = pool.run(infer_weight, (ScaleSettings(measurement=measurement), SHORT))
        except Exception as error:  # noqa: BLE001 - collected and asserted on below
            errors.append(f"{measurement}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=job, args=(m,)) for m in measurements]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert errors == []
    return results


def _busy_pid(pool) -> int:
    for _ in range(600):
        busy = list(pool._busy)
        if busy and busy[0].process.pid:
            return busy[0].process.pid
        time.sleep(0.05)
    raise AssertionError("no worker became busy")


def test_exit_status_in_words():
    assert exit_words(-9) == (
        "was stopped by signal 9 (SIGKILL), which is what the system does when it runs out of memory"
    )
    assert exit_words(-15) == "was stopped by signal 15 (SIGTERM)"
    assert exit_words(3) == "exited with status 3"
    assert "None" not in exit_words(None)


@pytest.mark.parametrize("attempt", range(3))
def test_a_worker_killed_mid_run_says_how_and_the_next_three_runs_succeed(pool, attempt):
    failure = []
    started = threading.Event()

    def long_run():
        try:
            pool.run(infer_weight, (ScaleSettings(), LONG), progress=lambda report: started.set())
        except Exception as error:  # noqa: BLE001 - asserted on below
            failure.append(error)

    thread = threading.Thread(target=long_run)
    thread.start()
    assert started.wait(60)
    os.kill(_busy_pid(pool), signal.SIGKILL)
    thread.join(30)
    assert [str(error) for error in failure] == [died_message(-9)]
    assert "signal 9 (SIGKILL)" in str(failure[0]) and "None" not in str(failure[0])
    assert pool.jobs_in_progress() == 0
    measurements = [9.0 + attempt, 12.0 + attempt, 15.0 + attempt]
    results = _three_fresh_runs_at_once(pool, measurements)
    for measurement in measurements:
        np.testing.assert_array_equal(results[measurement].weight_draws, _solo(measurement))


@pytest.mark.parametrize("attempt", range(3))
def test_idle_workers_that_died_are_replaced_not_reused(pool, attempt):
    pool.start()
    idle = [worker.process.pid for worker in pool._idle]
    assert len(idle) == 2
    for pid in idle:
        os.kill(pid, signal.SIGKILL)
    # At once: they may be dying still, or dead but not yet reaped (reading as alive).
    measurements = [10.5 + attempt, 13.5 + attempt, 16.5 + attempt]
    results = _three_fresh_runs_at_once(pool, measurements)
    for measurement in measurements:
        np.testing.assert_array_equal(results[measurement].weight_draws, _solo(measurement))
    assert not {worker.process.pid for worker in pool._idle} & set(idle)


def test_a_send_that_fails_on_a_worker_taken_from_idle_is_retried_on_a_new_one(pool, monkeypatch):
    from ppl_models.engine.runtime import workers

    pool.start()
    victim = pool._idle[-1]
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.join(10)
    # The liveness check is fooled: only the failed send can tell.
    monkeypatch.setattr(workers._Worker, "ready", lambda self: True)
    result = pool.run(infer_weight, (ScaleSettings(measurement=11.5), SHORT))
    np.testing.assert_array_equal(result.weight_draws, _solo(11.5))
    assert victim not in pool._idle


def test_a_silent_job_past_its_budget_is_killed_with_the_budget_message(pool):
    started = time.monotonic()
    with pytest.raises(RunCancelled) as stopped:
        pool.run(stay_silent, (120.0,), progress=lambda report: None, budget_s=1.0, budget_message="over budget")
    assert str(stopped.value) == "over budget"
    assert time.monotonic() - started < 60  # not the 120 s the job would have taken
    assert pool.jobs_in_progress() == 0
    assert pool.run(stay_silent, (0.1,), budget_s=30) == 0.1


def test_a_job_that_outgrows_the_memory_limit_is_killed_with_a_message(pool):
    assert memory_limit_mb() == WORKER_BUDGET_MB == 200
    with pytest.raises(InferenceError) as refused:
        pool.run(hold_memory, (600,), progress=lambda report: None, budget_s=60)
    assert str(refused.value) == (
        "This run needed more memory than one run may use on this server (over 200 MB); "
        "fewer data points, initialisations or draws fit."
    )
    assert str(refused.value) == over_memory_message(200)
    # The pool goes on: a normal job runs, and right, and no worker holds the hog's memory.
    again = pool.run(infer_weight, (ScaleSettings(measurement=12.5), SHORT))
    np.testing.assert_array_equal(again.weight_draws, _solo(12.5))
    assert all(worker.memory_mb(exact=True) < WORKER_BUDGET_MB for worker in pool._idle)


def test_the_memory_limit_follows_its_setting(pool, monkeypatch):
    monkeypatch.setenv("PME_WORKER_MEMORY_MB", "500")
    # Over the default 200 MB, within the 500 set here.
    assert pool.run(hold_memory, (250, 1.0), budget_s=90) == 250
    with pytest.raises(InferenceError) as refused:
        pool.run(hold_memory, (700,), budget_s=90)
    assert str(refused.value) == over_memory_message(500)


def test_an_ordinary_exception_crosses_back_and_leaves_the_worker_in_the_pool(pool):
    with pytest.raises(OverflowError):
        pool.run(overflow, ())
    assert len(pool._idle) >= 1


def test_an_exception_that_cannot_be_sent_back_still_ends_in_an_error(pool):
    with pytest.raises(JobFailed, match="held a lambda"):
        pool.run(raise_unpicklable, ())
    assert pool.run(stay_silent, (0.0,)) == 0.0


def test_a_closed_pool_stops_its_runs_quietly():
    pool = WorkerPool(processes=1, preload=WORKER_PRELOAD)
    pool.start()
    pids = [worker.process.pid for worker in pool._idle]
    failure = []
    thread = threading.Thread(target=lambda: _record(failure, pool.run, stay_silent, (60.0,)))
    thread.start()
    _busy_pid(pool)
    pool.close()
    thread.join(30)
    assert [type(error) for error in failure] == [RunCancelled]
    assert not any(os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" for pid in pids)


def _record(failures, function, *args):
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - asserted on by the caller
        failures.append(error)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
