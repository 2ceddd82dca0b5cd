"""Cached inference runs with a live progress bar, shared by every page.

A page calls :func:`cached_run` with a ``ppl_models`` function and its frozen,
hashable arguments. On a hit the result comes back at once; on a miss a
:class:`LiveRun` draws a progress bar (and, through ``live``, a chart that fills in)
while :func:`dispatch` runs the function, on the workers or here. Errors come back as a
message for the page, never as a traceback.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.progress import Progress
from ppl_models.engine.runtime.together import together
from ppl_models.engine.runtime.workers import WorkerPool
from ui import classroom
from ui.capacity import (
    inference_slots,
    live_frame_interval_s,
    queue_message,
    runs_busy,
    watching_live,
    worker_pool,
)
from ui.chart_view import chart
from ui.numbers import age_text
from ui.run_batches import Batcher
from ui.run_cache import SHARED, CachedValue
from ui.text import escape

log = logging.getLogger(__name__)

STOP_HELP = "End this run at its next iteration; nothing is cached."
STOPPED = "Stopped before it finished. Change a setting, or press Run again to start this one over."
RUN_AGAIN_HELP = "Start this setting's run from the beginning."

# No run may hold the shared server longer than this: a classroom shares one lock and
# two cores. The caps on samples, steps and data keep honest settings well inside it.
DEFAULT_RUN_BUDGET_S = 30.0


def run_budget_s() -> float:
    """Seconds of computation one run may take; ``PME_RUN_BUDGET_S`` overrides (tests)."""
    try:
        return float(os.environ.get("PME_RUN_BUDGET_S", DEFAULT_RUN_BUDGET_S))
    except ValueError:
        return DEFAULT_RUN_BUDGET_S


def over_budget_message(budget: float) -> str:
    return (
        f"Stopped after {budget:.0f} s: this setting needs more of the shared server than one run may take. "
        "Fewer samples, warmup steps, chains, SVI steps or data points finish sooner; nothing was cached."
    )


FAILED = (
    "This run failed inside the computation; the error was logged for the teacher or maintainer. "
    "Try a less extreme setting."
)

STAGE_WORDS = {
    "warmup": "warming up",
    "sampling": "sampling",
    "optimizing": "optimizing",
    "building": "building the distribution",
    "tracing": "tracing the model",
}


@dataclass(frozen=True)
class RunOutcome:
    """What a page needs to render a run: the result or an error, and where it came from."""

    result: Any = None
    error: str = ""
    from_cache: bool = False
    compute_seconds: float = 0.0
    computed_at: float = 0.0
    queued_seconds: float = 0.0
    batch_size: int = 0
    # Stopped or over the budget: nothing is wrong with the setting, so it may simply run again.
    interrupted: bool = False
    name: str = ""  # names this run's buttons, unique to its function and setting
    # Where the run's Stop button stood: the message and Run again take its place, so the
    # next run's Stop replaces them instead of leaving a stale Run again below it.
    slot: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error


class LiveSlot:
    """A chart placeholder redrawn many times in one run, as a result fills in.

    Each frame gets its own element key: two identical frames (a second chain's warmup
    redraws the first chain's draws unchanged) would otherwise get the same
    auto-generated element ID, which Streamlit rejects (StreamlitDuplicateElementId).
    """

    def __init__(self, name: str):
        self._slot = st.empty()
        self._name = name
        self._frames = 0

    def show(self, figure) -> None:
        self._frames += 1
        chart(figure, self._slot, key=f"{self._name}-frame-{self._frames}")

    def clear(self) -> None:
        self._slot.empty()


def cache_key(function: Callable, *args: Any) -> tuple:
    return (function.__module__, function.__qualname__, *args)


def reports_progress(function: Callable) -> bool:
    """Whether ``function`` takes a ``progress`` callback: the runs that stream, can be
    stopped, and go to the inference workers when there are any."""
    return "progress" in inspect.signature(function).parameters


def dispatch(
    function: Callable,
    args: tuple,
    progress: Callable[[Progress], None] | None = None,
    *,
    pool: WorkerPool | None = None,
    budget_s: float | None = None,
) -> Any:
    """``function(*args)`` where it belongs: on ``pool``'s workers when there is a pool and
    the function reports progress (the runs that stream and can be stopped), else here.

    :param progress: receives each report; without it the function runs silently.
    :param budget_s: seconds a worker may compute before it is killed; in this process the
        budget is ``progress``'s to enforce (see :class:`LiveRun`).
    """
    reports = reports_progress(function)
    if pool is not None and reports:
        # The worker pool also stops a job that computes past the budget without a word
        # (one huge torch operation), which the progress reports cannot see.
        limit = {} if budget_s is None else {"budget_s": budget_s, "budget_message": over_budget_message(budget_s)}
        return pool.run(function, args, progress=progress, **limit)
    if reports and progress is not None:
        return function(*args, progress=progress)
    return function(*args)


class LiveRun:
    """What a page shows while its run computes: the Stop button, a progress bar, the
    queue caption and (through ``live``) chart frames, at most one per frame interval.

    Its :meth:`report` is the run's progress callback: it enforces the run budget and
    publishes each report to the shared cache, so sessions waiting on the same key
    (:meth:`follow`) draw the same progress. Use it as a context manager: entering draws
    the bar, leaving clears everything it drew.
    """

    def __init__(
        self, key: tuple, label: str, live: Callable[[Progress], None] | None = None, stop_name: str | None = None
    ):
        """:param stop_name: names the Stop button's key; None draws no button (a run that
        does not report progress cannot be interrupted)."""
        self._key, self._label, self._live = key, label, live
        self.slot = self._stop_slot = st.empty()
        # Clicking Stop makes Streamlit rerun the page, interrupting this run at its next
        # progress report (Streamlit raises its rerun exception there, which unwinds the
        # inference guard). In that rerun the button reads True, so the run is not restarted.
        # Keyed by the setting as well as the function: a page may run one function on two
        # settings, and the rerun a click causes must find its own button again.
        self.name = f"{stop_name}-{hash(key) & 0xFFFFFFFF:08x}"
        self.stopped = stop_name is not None and self._stop_slot.button("Stop", key=f"stop-{self.name}", help=STOP_HELP)
        if self.stopped:
            self._stop_slot.empty()
        self.budget_s = run_budget_s()
        self._last_live_frame = 0.0
        # The clock starts at the first report, not here: time spent queued behind other
        # sessions' runs for the inference lock is not this run's to answer for.
        self._first_report_at: float | None = None

    def __enter__(self) -> LiveRun:
        watching_live(+1)
        self._bar = st.progress(0.0, text=f"{self._label}…")
        self._waiting = st.empty()
        ahead = runs_busy()
        if ahead >= inference_slots():
            self._waiting.caption(queue_message(ahead))
        return self

    def __exit__(self, *exc_info) -> None:
        watching_live(-1)
        self._bar.empty()
        self._waiting.empty()
        self._stop_slot.empty()

    def report(self, progress: Progress) -> None:
        """This session's run reported: check the budget, publish, draw."""
        now = time.perf_counter()
        if self._first_report_at is None:
            self._first_report_at = now
            self._waiting.empty()
        elif now - self._first_report_at > self.budget_s:
            raise RunCancelled(over_budget_message(self.budget_s))
        SHARED.publish(self._key, progress)
        self._draw(progress)

    def follow(self, progress: Progress | None) -> None:
        """Another session's run of the same key reported (or has not yet): draw it."""
        self._waiting.caption(
            "Another session (or the start-up warm-up) is computing this exact setting; following it."
        )
        if progress is not None:
            self._draw(progress)

    def _draw(self, progress: Progress) -> None:
        stage = STAGE_WORDS.get(progress.stage, progress.stage)
        self._bar.progress(progress.fraction, text=f"{self._label}: {stage}, {progress.done} of {progress.total}")
        now = time.perf_counter()
        if self._live is not None and now - self._last_live_frame >= live_frame_interval_s():
            self._last_live_frame = now
            self._live(progress)


def _run_batch(function: Callable, args: tuple, progress: Callable) -> Any:
    return dispatch(function, args, progress, pool=worker_pool(), budget_s=run_budget_s())


def batching_enabled() -> bool:
    """Whether fresh runs that arrive together are computed together; ``PME_BATCHING=0``
    turns it off (bench/class_batch.py measures the class with it off and on)."""
    return os.environ.get("PME_BATCHING", "1") != "0"


# One per process: every session's batchable runs meet here.
BATCHER = Batcher(_run_batch, slots_free=lambda: runs_busy() < inference_slots())


def cached_run(
    function: Callable,
    *args: Any,
    label: str,
    live: Callable[[Progress], None] | None = None,
    key_args: tuple | None = None,
) -> RunOutcome:
    """Run ``function(*args, progress=...)`` through the shared cache.

    :param label: what the progress bar says is happening ("Sampling the posterior").
    :param live: draws partial results (e.g. a histogram filling in) on a miss.
    :param key_args: what the result depends on, when that is less than ``args``; one
        result then serves every call that agrees on these.
    """
    key = cache_key(function, *(args if key_args is None else key_args))
    classroom.publish_setting()
    entry = SHARED.peek(key)
    if entry is not None:
        return _outcome(entry, from_cache=True)
    reports = reports_progress(function)
    run = LiveRun(key, label, live, stop_name=function.__qualname__ if reports else None)
    if run.stopped:
        return RunOutcome(error=STOPPED, interrupted=True, name=run.name, slot=run.slot)
    # Before the bar: the first run starts the pool, and the queue caption counts its workers.
    pool = worker_pool() if reports else None
    spec = together(function) if batching_enabled() else None
    if spec is not None and spec.group(*args) is not None:

        def compute():
            return BATCHER.call(function, spec, args, run.report)

    else:

        def compute():
            return dispatch(function, args, run.report, pool=pool, budget_s=run.budget_s)

    try:
        with run:
            entry, from_cache = SHARED.get_or_compute(key, compute, on_wait=run.follow)
        return _outcome(entry, from_cache)
    except RunCancelled as error:
        return RunOutcome(error=str(error), interrupted=True, name=run.name, slot=run.slot)
    except InferenceError as error:
        return RunOutcome(error=str(error), slot=run.slot)
    except Exception:  # noqa: BLE001 - the page must survive any failure
        # The exception's name and text (an overflow, a tensor dump) help a maintainer,
        # not a student: they go to the server log only.
        log.exception("Inference failed for %r", key)
        return RunOutcome(error=FAILED, slot=run.slot)


def _outcome(entry: CachedValue, from_cache: bool) -> RunOutcome:
    return RunOutcome(
        result=entry.value,
        from_cache=from_cache,
        compute_seconds=entry.compute_seconds,
        computed_at=entry.computed_at,
        queued_seconds=0.0 if from_cache else entry.queued_seconds,
        batch_size=entry.batch_size,
    )


def show_unfinished(outcome: RunOutcome) -> None:
    """Why a run gave no result; after Stop or the budget, a Run again button beside it.

    Pressing it only reruns the page: that rerun's Stop reads False and its budget starts
    afresh, so the same setting runs from the beginning.
    """
    place = st.container() if outcome.slot is None else outcome.slot.container()
    place.error(escape(outcome.error))
    if outcome.interrupted:
        place.button("Run again", key=f"run-{outcome.name}", help=RUN_AGAIN_HELP)


def show_provenance(outcome: RunOutcome) -> None:
    """Say whether the result was just computed or came from the shared cache."""
    if outcome.from_cache:
        age = time.time() - outcome.computed_at
        st.caption(
            f"⚡ From the shared cache: computed {age_text(age)} ago in {outcome.compute_seconds:.2f} s; "
            "re-rendered without re-running inference."
        )
    else:
        queued = (
            f", after waiting {outcome.queued_seconds:.1f} s for other sessions' runs"
            if outcome.queued_seconds >= 0.1
            else ""
        )
        st.caption(f"Computed just now in {outcome.compute_seconds:.2f} s{queued}; cached for everyone.")
    if outcome.batch_size > 1:
        others = outcome.batch_size - 1
        company = "1 other session's setting" if others == 1 else f"{others} other sessions' settings"
        st.caption(
            f"🧮 Computed together with {company} in one batched run: each chain had its own setting, seed and "
            "adaptation, so these numbers are the same as this setting computed alone."
        )
