"""A busy server says so: runs ahead, time queued apart from compute time, fewer live frames."""

import re
import threading
import time

from ppl_models.engine.runtime.guard import inference_guard
from tests.apptest_helpers import open_page
from ui import capacity


def _hold_the_guard(seconds: float, after_queued: bool = False) -> tuple[threading.Thread, threading.Event]:
    """Hold the inference guard in a thread for ``seconds``; with ``after_queued``, for
    ``seconds`` counted from when another run starts waiting for it."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        with inference_guard(seed=0):
            holding.set()
            if after_queued:
                while capacity.runs_busy() < 2 and not release.wait(0.01):
                    pass
            release.wait(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    return thread, release


def test_a_run_queued_behind_another_reports_its_wait_apart_from_its_own_time():
    holder, _ = _hold_the_guard(2.0, after_queued=True)
    started = time.perf_counter()
    try:
        app = open_page("scale", samples="50", warmup="20")
    finally:
        holder.join()
    elapsed = time.perf_counter() - started
    provenance = next(c.value for c in app.caption if "Computed just now" in c.value)
    computed, waited = map(float, re.search(r"in ([\d.]+) s, after waiting ([\d.]+) s", provenance).groups())
    assert waited >= 1.5
    # The wait is not counted again in the run's own time.
    assert computed + waited <= elapsed + 0.1


def test_queue_words_and_live_frame_rate_follow_how_busy_the_server_is():
    assert capacity.worker_pool() is None  # the tests set PME_WORKERS=0: inference runs in-process
    assert capacity.live_frame_interval_s() == capacity.LIVE_FRAME_INTERVAL_S
    holder, release = _hold_the_guard(10)
    queued = threading.Thread(target=_enter_and_leave)
    queued.start()
    try:
        for _ in range(200):
            if capacity.runs_busy() == 2:
                break
            threading.Event().wait(0.01)
        assert capacity.runs_busy() == 2
        assert capacity.live_frame_interval_s() == capacity.BUSY_LIVE_FRAME_INTERVAL_S
        assert capacity.queue_message(2) == (
            "The server is busy with 2 other runs; this one starts when they finish (one inference at a time)."
        )
    finally:
        release.set()
        holder.join()
        queued.join()
    assert capacity.runs_busy() == 0


def _enter_and_leave() -> None:
    with inference_guard(seed=1):
        pass
