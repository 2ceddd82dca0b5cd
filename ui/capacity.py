"""How busy the server is, and where inference runs: in this process or on workers.

The pages use it to tell a student how many runs are ahead of theirs, and to draw
fewer live frames while others wait.
"""

from __future__ import annotations

import threading

from ppl_models.engine.runtime.guard import runs_in_progress
from ppl_models.engine.runtime.workers import WorkerPool, default_processes
from ui.catalog import lecture_pages

# A live chart frame costs tens of milliseconds of plotly work under the GIL. Alone, a
# run can afford one every report; while other runs wait for the server, the frames
# would slow the very runs they wait for, so they thin out.
LIVE_FRAME_INTERVAL_S = 0.15
BUSY_LIVE_FRAME_INTERVAL_S = 1.0
# Every session drawing a run's progress shares this many frames a second: a class of 30
# following one computation would otherwise draw 200 frames a second and starve the
# computation all 30 wait for (bench/class_follow.py).
LIVE_FRAMES_PER_S = 8.0

_live_viewers = 0
_live_lock = threading.Lock()

# Imported once by the workers' forkserver: a small run of every kind, so each worker
# starts warm and shares what those runs initialised, and every lecture module, so a new
# lecture's first run pays no import either.
WORKER_PRELOAD = ("ppl_models._forkserver_warmup", *(lecture.module for lecture in lecture_pages()))

_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def worker_pool() -> WorkerPool | None:
    """The process-wide pool that runs inference on every core; None runs it in-process."""
    global _pool
    with _pool_lock:
        if _pool is None and default_processes() > 0:
            _pool = WorkerPool(default_processes(), preload=WORKER_PRELOAD)
        return _pool


def runs_busy() -> int:
    """Runs computing or queued in this server right now."""
    pool = _pool
    return runs_in_progress() + (pool.jobs_in_progress() if pool is not None else 0)


def inference_slots() -> int:
    """How many runs can compute at once: the workers, or the one in-process lane."""
    pool = _pool
    return pool.processes if pool is not None else 1


def watching_live(change: int) -> None:
    """A session starts (+1) or stops (-1) drawing a run's live progress, its own run's or another's."""
    global _live_viewers
    with _live_lock:
        _live_viewers = max(0, _live_viewers + change)


def live_frame_interval_s() -> float:
    """Seconds between one session's live frames: thinner while runs queue, and shared among all who watch."""
    alone = BUSY_LIVE_FRAME_INTERVAL_S if runs_busy() > inference_slots() else LIVE_FRAME_INTERVAL_S
    return max(alone, _live_viewers / LIVE_FRAMES_PER_S)


def queue_message(ahead: int) -> str:
    runs = "1 other run" if ahead == 1 else f"{ahead} other runs"
    pool = _pool
    if pool is None:
        return f"The server is busy with {runs}; this one starts when they finish (one inference at a time)."
    return (
        f"The server is busy with {runs}; this one starts when one of its {pool.processes} inference workers is free."
    )
