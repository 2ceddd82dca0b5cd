"""The shared cache: bounded, least recently used out first, one computation per key."""

import threading
import time

import numpy as np
import pytest

from ui.run_cache import RunCache, approximate_nbytes


def test_hit_after_miss_and_lru_bound():
    cache = RunCache(max_entries=2)
    assert cache.get_or_compute("a", lambda: 1)[1] is False
    assert cache.get_or_compute("a", lambda: 2)[0].value == 1
    cache.get_or_compute("b", lambda: 2)
    cache.peek("a")  # a is now more recent than b
    cache.get_or_compute("c", lambda: 3)
    assert len(cache) == 2
    assert cache.peek("b") is None and cache.peek("a").value == 1


def test_bytes_bound_evicts_the_least_recent_results():
    megabyte = 2**20
    cache = RunCache(max_entries=100, max_bytes=3 * megabyte)
    for key in "abc":
        cache.get_or_compute(key, lambda: {"draws": np.zeros(megabyte // 8 - 64)})
    assert len(cache) == 3 and cache.nbytes <= 3 * megabyte
    cache.peek("a")
    cache.get_or_compute("d", lambda: {"draws": np.zeros(megabyte // 8 - 64)})
    assert cache.peek("b") is None and cache.peek("a") is not None
    # A result bigger than the whole bound is still kept: its page is about to draw it.
    cache.get_or_compute("huge", lambda: np.zeros(megabyte))
    assert len(cache) == 1 and cache.peek("huge") is not None


def test_result_size_counts_arrays_inside_dataclasses_once():
    from ppl_models.engine.runtime.progress import Progress

    draws = np.zeros(10_000)
    report = Progress("sampling", 1, 2, partial={"weight": draws, "same": draws})
    assert 80_000 <= approximate_nbytes(report) < 82_000


def test_entries_expire_after_ttl():
    cache = RunCache(ttl_s=0.05)
    cache.get_or_compute("a", lambda: 1)
    time.sleep(0.1)
    assert cache.peek("a") is None


def test_many_callers_of_one_key_share_one_computation():
    cache = RunCache()
    calls = []
    waited = []

    def slow():
        calls.append(1)
        cache.publish("k", "half way")
        time.sleep(0.5)
        return "value"

    outcomes = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(cache.get_or_compute("k", slow, on_wait=waited.append)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(from_cache for _, from_cache in outcomes) == [False] + [True] * 7
    assert set(waited) <= {None, "half way"} and "half way" in waited
    assert {entry.value for entry, _ in outcomes} == {"value"}


def test_failures_are_not_cached():
    cache = RunCache()

    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        cache.get_or_compute("k", fail)
    assert cache.get_or_compute("k", lambda: 5)[0].value == 5


def test_time_queued_behind_other_runs_is_kept_apart_from_the_compute_time():
    from ppl_models.engine.runtime.guard import inference_guard

    cache = RunCache()
    holding = threading.Event()

    def hold_the_guard():
        with inference_guard(seed=0):
            holding.set()
            time.sleep(0.5)

    def short_run():
        with inference_guard(seed=1):
            return 42

    holder = threading.Thread(target=hold_the_guard)
    holder.start()
    holding.wait(5)
    entry, _ = cache.get_or_compute("queued", short_run)
    holder.join()
    assert entry.value == 42
    assert entry.queued_seconds >= 0.3
    assert entry.compute_seconds < 0.2


def test_dispatch_sends_only_the_runs_that_report_progress_to_the_workers():
    from ui.runs import dispatch, over_budget_message

    class Pool:
        def __init__(self):
            self.jobs = []

        def run(self, function, args, progress=None, **budget):
            self.jobs.append((function.__name__, args, progress, budget))
            return "on a worker"

    def streams(x, progress=None):
        return ("here", x, progress)

    def instant(x):
        return ("here", x)

    pool, report = Pool(), print
    assert dispatch(instant, (1,), report, pool=pool, budget_s=5) == ("here", 1)
    assert dispatch(streams, (1,), report, pool=None) == ("here", 1, report)
    assert dispatch(streams, (1,)) == ("here", 1, None)
    assert dispatch(streams, (2,), report, pool=pool, budget_s=5) == "on a worker"
    assert dispatch(streams, (3,), pool=pool) == "on a worker"
    assert pool.jobs == [
        ("streams", (2,), report, {"budget_s": 5, "budget_message": over_budget_message(5)}),
        ("streams", (3,), None, {}),
    ]
