"""Run inference in worker processes, so that a classroom's runs use every core.

Pyro's handler stack and param store are process-global and the GIL serialises
Python, so in one process only one run can make progress at a time: ten students with
ten fresh settings waited for ten runs back to back. A :class:`WorkerPool` runs each
job on one of ``processes`` long-lived workers (one per core, as far as memory allows:
:func:`default_processes`), forked from a *forkserver* that imported torch and Pyro
once. Forking from the forkserver, not from the multi-threaded web server, keeps the
workers free of locks that other threads held at fork time; every job runs under the
inference guard in its worker, so it starts from a clean param store and its own seed,
as in-process.

The parent stays in charge: progress reports come back over a pipe and go to the
caller's callback, and when that callback raises (Stop, a rerun) or returns False, when
the job outlives its time budget without a word, or when the worker's memory grows past
what one worker may hold, the worker is killed at once and replaced. A worker that died
(the system's out-of-memory killer, say) never goes back to the idle pool, and the
student is told how it ended. Results are the runners' frozen numpy dataclasses, which
pickle as they are.

This module is the parent's side only: the pool, its watch over time and memory, its
sizing and the words for how a worker ended. What runs inside a worker, and the
messages it answers with, is :mod:`ppl_models.engine.runtime.worker_process`, kept
apart so that starting a worker loads none of this.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ppl_models.engine.runtime import guard, machine
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.progress import ProgressCallback
from ppl_models.engine.runtime.worker_process import PIPE_GONE, serve

# How often the parent reads a running worker's memory. One read of smaps_rollup costs
# well under a millisecond; a run allocating fast still has to pass the limit between
# two reads, so the sampling is frequent.
MEMORY_SAMPLE_S = 0.1
# How often that estimate is replaced by an exact reading (see _Worker.memory_mb).
EXACT_MEMORY_S = 1.0
# A worker taken from the idle pool that dies this soon, before a word, was dying already.
DIED_AT_ONCE_S = 1.0
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """A job raised something that is not a message for the student (a bug, an overflow).

    Carries the original exception's type name and text, for the server log only.
    """


def memory_limit_mb() -> float:
    """What one worker may hold, in MB (PSS); ``PME_WORKER_MEMORY_MB`` overrides."""
    try:
        return float(os.environ.get("PME_WORKER_MEMORY_MB", WORKER_BUDGET_MB))
    except ValueError:
        return float(WORKER_BUDGET_MB)


def over_memory_message(limit_mb: float) -> str:
    return (
        f"This run needed more memory than one run may use on this server (over {limit_mb:.0f} MB); "
        "fewer data points, initialisations or draws fit."
    )


def exit_words(exitcode: int | None) -> str:
    """How a worker process ended, in words a student can read."""
    if exitcode is None:
        return "stopped, and the system did not say how"
    if exitcode >= 0:
        return f"exited with status {exitcode}"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"was stopped by signal {number}"
    if number == signal.SIGKILL:
        return f"was stopped by signal {number} ({name}), which is what the system does when it runs out of memory"
    return f"was stopped by signal {number} ({name})"


def died_message(exitcode: int | None) -> str:
    return (
        f"The worker process computing this run {exit_words(exitcode)}. Nothing was cached; "
        "press Run again, or choose a smaller setting (fewer data points, initialisations or draws)."
    )


class _Worker:
    def __init__(self, context):
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()
        self._pss_mb: float | None = None
        self._rss_at_pss_mb = 0.0
        self._ending = threading.Lock()

    def ready(self) -> bool:
        """Whether this idle worker can take a job.

        ``is_alive`` alone is not enough: the forkserver reports a death only once it has
        reaped the process, so a worker killed a moment ago still reads as alive. An idle
        worker sends nothing, so anything readable on its pipe (end of file) means it died.
        """
        try:
            return self.process.is_alive() and not self.connection.poll(0)
        except PIPE_GONE:
            return False

    def memory_mb(self, exact: bool = False) -> float:
        """The worker's proportional share of memory (PSS) in MB, the figure the pool's
        sizing budgets for: its own pages plus its share of the forkserver's; 0 if gone.

        Reading PSS (smaps_rollup) walks the worker's page tables: about 18 ms here, too
        dear ten times a second. Between exact readings the estimate adds what the
        resident size (statm, microseconds) grew by since, which catches a fast
        allocation at once; the exact reading also counts pages shared with the
        forkserver that the job has since written to, which the resident size misses.
        """
        rss = self._resident_mb()
        if exact or self._pss_mb is None:
            self._pss_mb, self._rss_at_pss_mb = self._proportional_mb(), rss
        return max(0.0, self._pss_mb + rss - self._rss_at_pss_mb)

    def _resident_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE_BYTES / 2**20
        except (OSError, ValueError, IndexError):
            return 0.0

    def _proportional_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/smaps_rollup", "rb") as rollup:
                for line in rollup:
                    if line.startswith(b"Pss:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
        return 0.0

    def end(self) -> int | None:
        """Kill the worker if it still runs, wait until it is reaped, and return its exit
        code (negative: the signal that stopped it). Safe to call from two threads at once:
        the pool's close() and the thread running the job may both end one worker."""
        with self._ending:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if self.process.exitcode is None:
                    self.process.kill()
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self.process.join(timeout=10)
            if not self.connection.closed:
                self.connection.close()
            return self.process.exitcode


class _DiedAtOnce(Exception):
    pass


class WorkerPool:
    """At most ``processes`` jobs at once, on long-lived workers forked from one forkserver.

    Workers live on between jobs. They are forked from a forkserver that has already run
    one small job of every kind (the caller's ``preload``), so no worker pays a
    process's one-off costs, and a worker whose job is stopped (it may be deep in a
    sampler) is simply killed and replaced.
    """

    def __init__(self, processes: int, preload: Sequence[str] = ()):
        """:param preload: modules the forkserver imports once, before it forks any worker,
        so that every worker starts with them loaded and warm; the caller names them
        (the runtime knows no lecture)."""
        self.processes = processes
        self._context = multiprocessing.get_context("forkserver")
        # Python 3.11's forkserver imports its preload with the sys.path of a bare
        # ``python -c`` (the working directory), not the server's, and swallows the
        # ImportError: the workers would then each import torch for themselves.
        root = str(Path(__file__).resolve().parents[3])
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if root not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *filter(None, paths)])
        self._context.set_forkserver_preload(list(preload))
        self._slots = threading.BoundedSemaphore(processes)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self._closed = False
        _open_pools.add(self)

    def jobs_in_progress(self) -> int:
        """Jobs running or waiting for a worker now (a snapshot)."""
        return self._waiting + self._running

    def start(self) -> None:
        """Start the forkserver (imports and warm-up runs, a few seconds) and the workers."""
        with self._lock:
            missing = self.processes - len(self._idle) - self._running
        workers = [_Worker(self._context) for _ in range(max(0, missing))]
        with self._lock:
            self._idle += workers

    def close(self) -> None:
        """End every worker, idle or busy; runs in progress raise :class:`RunCancelled`.

        Called when the server exits, so that no worker outlives it and no run left
        waiting for a killed worker reports it as a failure.
        """
        with self._lock:
            self._closed = True
            workers, self._idle = [*self._idle, *self._busy], []
        for worker in workers:
            worker.end()

    def run(
        self,
        function: Callable,
        args: tuple,
        progress: ProgressCallback | None = None,
        budget_s: float | None = None,
        budget_message: str = "",
    ) -> Any:
        """``function(*args, progress=...)`` on a worker; raises what the function raised.

        :param progress: called in this thread with each report the worker sends;
            returning False, or raising, kills the worker at once.
        :param budget_s: seconds the job may compute, counted from when a worker takes it
            (not while it queues): past them the worker is killed and
            :class:`RunCancelled` raised with ``budget_message``, whether or not the job
            has reported meanwhile (one long torch operation reports nothing).
        :raises InferenceError: the job's own message; or the worker grew past
            :func:`memory_limit_mb`, or died, in words for the student.
        :raises JobFailed: the job raised something that could not be sent back.
        """
        with self._lock:
            self._waiting += 1
        queued_since = time.perf_counter()
        try:
            self._slots.acquire()
        finally:
            with self._lock:
                self._waiting -= 1
        guard.add_queued_seconds(time.perf_counter() - queued_since)
        with self._lock:
            self._running += 1
        worker: _Worker | None = None
        healthy = False
        try:
            worker, was_idle = self._send(function, args, progress is not None)
            try:
                kind, payload = self._follow(worker, progress, budget_s, budget_message, was_idle)
            except _DiedAtOnce:
                worker = self._replace(worker, function, args, progress is not None)
                kind, payload = self._follow(worker, progress, budget_s, budget_message, False)
            # The job answered, with a result or with its own error: the worker is fine.
            healthy = True
            if kind == "error":
                raise payload
            return payload
        finally:
            with self._lock:
                self._running -= 1
                if worker is not None:
                    self._busy.discard(worker)
                    if healthy and not self._closed:
                        self._idle.append(worker)
            if worker is not None and not healthy:
                worker.end()
            self._slots.release()

    def _take(self) -> tuple[_Worker, bool]:
        """An idle worker that is still alive, or a new one; and whether it was idle."""
        dead = []
        with self._lock:
            if self._closed:
                raise RunCancelled("The server is shutting down.")
            taken = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.ready():
                    taken = candidate
                    break
                dead.append(candidate)
        for worker in dead:
            log.warning("An idle inference worker %s; replacing it.", exit_words(worker.end()))
        worker = taken or _Worker(self._context)
        with self._lock:
            self._busy.add(worker)
        return worker, taken is not None

    def _send(self, function: Callable, args: tuple, reports: bool) -> tuple[_Worker, bool]:
        """Hand the job to a worker; returns it, and whether it came from the idle pool."""
        worker, was_idle = self._take()
        try:
            worker.connection.send((function, args, reports))
            return worker, was_idle
        except PIPE_GONE:
            if not was_idle:
                raise
        # It died between the check and the send: one retry, on a worker started now.
        return self._replace(worker, function, args, reports), False

    def _replace(self, worker: _Worker, function: Callable, args: tuple, reports: bool) -> _Worker:
        with self._lock:
            self._busy.discard(worker)
        log.warning("An idle inference worker %s; running the job on a new one.", exit_words(worker.end()))
        worker = _Worker(self._context)
        with self._lock:
            self._busy.add(worker)
        worker.connection.send((function, args, reports))
        return worker

    def _follow(
        self,
        worker: _Worker,
        progress: ProgressCallback | None,
        budget_s: float | None,
        budget_message: str,
        was_idle: bool,
    ) -> tuple[str, Any]:
        """Wait for the job's answer, relaying progress and watching time and memory.

        Returns ``("result", value)`` or ``("error", exception the job raised)``, after
        which the worker may take another job; raises when the worker must be ended.

        :param was_idle: the worker came from the idle pool; if it dies at once, without
            a word, it was already dying when it was taken (a send into a dying process
            still succeeds), and :class:`_DiedAtOnce` asks for one retry elsewhere.
        """
        sent_at = time.monotonic()
        heard = False
        deadline = None if budget_s is None else sent_at + budget_s
        limit_mb = memory_limit_mb()
        next_sample = next_exact = 0.0
        while True:
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + MEMORY_SAMPLE_S
                exact = now >= next_exact
                if exact:
                    next_exact = now + EXACT_MEMORY_S
                # An estimate over the limit is confirmed before anything is killed.
                if worker.memory_mb(exact) > limit_mb and (exact or worker.memory_mb(exact=True) > limit_mb):
                    raise InferenceError(over_memory_message(limit_mb))
            if deadline is not None and now >= deadline:
                raise RunCancelled(budget_message or f"Stopped after {budget_s:.0f} s.")
            wait = next_sample - now if deadline is None else min(next_sample, deadline) - now
            try:
                if not worker.connection.poll(max(0.0, wait)):
                    continue
                kind, payload = worker.connection.recv()
            except (*PIPE_GONE, ValueError):
                # close() may end the worker, and close its pipe, while this thread polls it.
                if self._closed:
                    raise RunCancelled("The server is shutting down.") from None
                if was_idle and not heard and time.monotonic() - sent_at < DIED_AT_ONCE_S:
                    raise _DiedAtOnce from None
                raise InferenceError(died_message(worker.end())) from None
            heard = True
            if kind == "progress":
                if progress is not None and progress(payload) is False:
                    raise RunCancelled("Stopped on request.")
            elif kind in ("result", "error"):
                return kind, payload
            elif kind == "memory":
                raise InferenceError(over_memory_message(limit_mb))
            else:  # "broken": the worker could not send what it had
                raise JobFailed(payload)


# Pools still open when the interpreter exits: their workers are ended then, so that none
# outlives the server. (A server killed outright is covered by the workers' own watch on
# their pipe.)
_open_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _close_open_pools() -> None:
    for pool in list(_open_pools):
        with contextlib.suppress(Exception):
            pool.close()


# Budgets with room above what bench/memory.py measures for the server (a full cache) and
# for each worker at every page's defaults and many distinct settings (README, Bounds and
# memory); the worker's is also the limit its memory watchdog enforces.
SERVER_BUDGET_MB = 600
WORKER_BUDGET_MB = 200


def processes_for(cores: int, memory_mb: float | None) -> int:
    """How many workers a machine with ``cores`` and ``memory_mb`` should run: one per core,
    as many as its memory holds beside the server; 0 when that is fewer than two.

    One worker would still run one inference at a time, as the server's own process does,
    and cost memory for it.
    """
    if memory_mb is None or "forkserver" not in multiprocessing.get_all_start_methods():
        return 0
    fits = int((memory_mb - SERVER_BUDGET_MB) // WORKER_BUDGET_MB)
    processes = min(cores, fits)
    return processes if processes >= 2 else 0


def default_processes() -> int:
    """How many worker processes run inference; 0 runs it in the server's own process.

    ``PME_WORKERS`` (a number) decides; unset, or ``auto``, sizes the pool to the machine
    (:func:`processes_for`): a 1 GB instance with two cores gets two, one of 690 MB gets
    none. What two workers gain and cost is in the README (bench/load.py, bench/memory.py).
    """
    setting = os.environ.get("PME_WORKERS", "auto").strip().lower()
    if setting not in ("", "auto"):
        try:
            return max(0, int(setting))
        except ValueError:
            log.warning("PME_WORKERS=%r is not a number or 'auto'; sizing the workers to the machine.", setting)
    return processes_for(machine.usable_cores(), machine.memory_limit_mb())
