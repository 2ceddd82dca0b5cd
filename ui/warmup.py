"""Compute every page's default setting in the background when the server starts.

The first student to open a page then gets a cached result instead of waiting for
inference. The jobs go through the same shared cache and keys as the pages, so a
session that arrives mid-computation waits for this run instead of starting another.
"""

from __future__ import annotations

import logging
import os
import threading

from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ui.capacity import worker_pool
from ui.catalog import CATALOG
from ui.run_cache import SHARED
from ui.runs import cache_key, dispatch, reports_progress

log = logging.getLogger(__name__)
_started = threading.Event()
_lock = threading.Lock()


def default_jobs() -> list[tuple]:
    """(function, *args) for each page's default setting, exactly as the pages build them."""
    return [lecture.default_run() for lecture in CATALOG if lecture.default_run is not None]


def _compute(function, args: tuple, pool=None) -> None:
    """Compute one job into the shared cache, where a page's run of it would go.

    No budget and no progress: nobody watches the warm-up, and the lecture's defaults are
    well inside a run's budget.
    """
    try:
        SHARED.get_or_compute(cache_key(function, *args), lambda: dispatch(function, args, pool=pool))
    except RunCancelled:
        pass  # the server is shutting down
    except InferenceError as error:
        # A message written for a student (a worker that died, say): no traceback needed.
        log.warning("Warm-up of %s failed: %s", function.__qualname__, error)


def _run(jobs: list[tuple]) -> None:
    """Compute ``jobs``: the workers' share on the workers, all at once, the rest here.

    Starting the workers takes seconds (their forkserver imports torch and Pyro and warms
    up); the in-process jobs run meanwhile on the other core, instead of after it.
    """
    pool = worker_pool()
    # With workers, inference runs there, as the pages' runs do: the server process then
    # never pays for a sampler's memory.
    on_workers, here = [], []
    for function, *args in jobs:
        goes_to_workers = pool is not None and reports_progress(function)
        (on_workers if goes_to_workers else here).append((function, tuple(args)))
    threads = [
        threading.Thread(target=_compute, args=(function, args, pool), name="warm-worker-job", daemon=True)
        for function, args in on_workers
    ]
    for thread in threads:
        thread.start()
    for function, args in here:
        _compute(function, args)
    for thread in threads:
        thread.join()


def warm_default_settings() -> threading.Thread | None:
    """Start the warm-up thread once per process; later calls do nothing.

    ``PME_WARMUP=0`` turns it off (tests that count cache hits and misses need that).
    """
    if os.environ.get("PME_WARMUP", "1") == "0":
        return None
    with _lock:
        if _started.is_set():
            return None
        _started.set()
    thread = threading.Thread(target=_run, args=(default_jobs(),), name="warm-defaults", daemon=True)
    thread.start()
    return thread
