"""Fresh runs that arrive together are computed together (no Streamlit).

When a class moves to thirty distinct settings of one model at once, thirty runs queue
for two workers. A function that can batch (:mod:`ppl_models.engine.runtime.together`)
instead has its calls collected: the first call of a group opens a *batch*, which
collects every call of the same group that arrives while it waits (at least
``window_s``, and for as long as every inference slot is busy, since a batch that
cannot start yet loses nothing by growing), then runs them as one job. Each call's
session thread keeps drawing its own progress and may leave (Stop, a rerun, its run
budget) without disturbing the others; when every call has left, the job is stopped.

Each result is exactly what the call alone would compute (the batched functions promise
it and ``tests/test_batched_hmc.py`` checks it), so the shared cache stores it under the
call's own key, and a session asking for that key later gets the same numbers whether
or not it was computed in company. :func:`companions` says how many were in the batch,
for the page's provenance line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ppl_models.engine.runtime.errors import RunCancelled
from ppl_models.engine.runtime.guard import add_queued_seconds
from ppl_models.engine.runtime.progress import Progress
from ppl_models.engine.runtime.together import Together

log = logging.getLogger(__name__)

# Long enough for a class's scripts, rerun at the same moment under one GIL, to reach
# their runs; short against a run's own second.
DEFAULT_WINDOW_S = 0.12
# While every slot is busy a batch keeps collecting, but not for ever.
MAX_COLLECT_S = 10.0
POLL_S = 0.02
MEMBER_POLL_S = 0.1
MAX_MEMBERS = 128

_thread_state = threading.local()


def companions() -> int:
    """How many calls (this one included) the current thread's last batched run had."""
    return getattr(_thread_state, "batch_size", 0)


def reset_companions() -> None:
    _thread_state.batch_size = 0


@dataclass(eq=False)
class _Member:
    args: tuple
    done: threading.Event = field(default_factory=threading.Event)
    latest: Progress | None = None
    result: Any = None
    error: BaseException | None = None
    present: bool = True


@dataclass(eq=False)
class _Batch:
    group: Hashable
    opened: float = field(default_factory=time.perf_counter)
    members: list[_Member] = field(default_factory=list)
    closed: bool = False
    queued_s: float = 0.0

    def anyone_present(self) -> bool:
        return any(member.present for member in self.members)


class Batcher:
    """Collects calls by group and runs each batch as one job.

    :param run_batch: ``run_batch(function, args, progress)`` computes ``function(*args,
        progress=progress)`` where runs belong (the workers, or here) and returns its result.
    :param slots_free: whether an inference slot could start a job now.
    """

    def __init__(
        self,
        run_batch: Callable[[Callable, tuple, Callable], Any],
        slots_free: Callable[[], bool] = lambda: True,
        window_s: float = DEFAULT_WINDOW_S,
        max_members: int = MAX_MEMBERS,
    ):
        self._run_batch = run_batch
        self._slots_free = slots_free
        self.window_s = window_s
        self.max_members = max_members
        self._open: dict[Hashable, _Batch] = {}
        self._lock = threading.Lock()
        self.batches_run = 0

    def call(self, function: Callable, spec: Together, args: tuple, progress: Callable[[Progress], Any] | None) -> Any:
        """``function(*args)``'s result, computed in a batch with whatever calls of its
        group arrive meanwhile. Runs in the caller's thread, which draws its own progress."""
        group = (function.__module__, function.__qualname__, spec.group(*args))
        member = _Member(args)
        with self._lock:
            batch = self._open.get(group)
            leads = batch is None
            if leads:
                batch = self._open[group] = _Batch(group)
            batch.members.append(member)
            if len(batch.members) >= self.max_members:
                self._close(batch)
        if leads:
            self._collect(batch)
            threading.Thread(target=self._run, args=(spec, batch), name="batched-run", daemon=True).start()
        try:
            while not member.done.wait(MEMBER_POLL_S):
                report, member.latest = member.latest, None
                if report is not None and progress is not None:
                    progress(report)
        finally:
            member.present = False
        add_queued_seconds(batch.queued_s)
        _thread_state.batch_size = len(batch.members)
        if member.error is not None:
            raise member.error
        return member.result

    def _close(self, batch: _Batch) -> None:
        if not batch.closed:
            batch.closed = True
            if self._open.get(batch.group) is batch:
                del self._open[batch.group]

    def _collect(self, batch: _Batch) -> None:
        time.sleep(self.window_s)
        while time.perf_counter() - batch.opened < MAX_COLLECT_S and not batch.closed and not self._slots_free():
            time.sleep(POLL_S)
        with self._lock:
            self._close(batch)
        # Collecting while the slots were busy is queueing, not this batch's computation.
        batch.queued_s = max(0.0, time.perf_counter() - batch.opened - self.window_s)

    def _run(self, spec: Together, batch: _Batch) -> None:
        members = batch.members

        def route(reports: list[Progress | None]) -> bool | None:
            for member, report in zip(members, reports, strict=True):
                if report is not None and member.present:
                    member.latest = report
            return None if batch.anyone_present() else False

        try:
            started = time.perf_counter()
            results = self._run_batch(spec.run, ([m.args for m in members],), route)
            log.info("Batch of %d runs computed in %.2f s", len(members), time.perf_counter() - started)
            self.batches_run += 1
            for member, result in zip(members, results, strict=True):
                if isinstance(result, BaseException):
                    member.error = result
                else:
                    member.result = result
        except RunCancelled as error:
            for member in members:
                member.error = error
        except BaseException as error:  # noqa: BLE001 - every member must hear how it ended
            for member in members:
                member.error = error
        finally:
            for member in members:
                member.done.set()
