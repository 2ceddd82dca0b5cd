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
caller's callback, and when that callback raises (Stop, a rerun, a time budget) or
returns False, the worker is killed at once and replaced. Results are the runners' frozen numpy
dataclasses, which pickle as they are.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ppl_models import guard, machine
from ppl_models.errors import InferenceError, RunCancelled
from ppl_models.progress import ProgressCallback

# Imported once in the forkserver, so that every worker starts with them loaded and warm.
PRELOAD = ["ppl_models._forkserver_warmup"]

log = logging.getLogger(__name__)


def _serve(connection) -> None:
    """A worker's life: run the jobs that come down the pipe until it closes or is killed."""
    while True:
        try:
            function, args, reports = connection.recv()
        except EOFError:
            return
        try:
            if reports:
                result = function(*args, progress=lambda report: connection.send(("progress", report)))
            else:
                result = function(*args)
            connection.send(("result", result))
        except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
            try:
                connection.send(("error", error))
            except Exception:  # noqa: BLE001 - an unpicklable error still gets a message
                connection.send(("error", InferenceError(f"{type(error).__name__}: {error}")))


class _Worker:
    def __init__(self, context):
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


class WorkerPool:
    """At most ``processes`` jobs at once, on long-lived workers forked from one forkserver.

    Workers live on between jobs. They are forked from a forkserver that has already run
    one small job of every kind (``ppl_models._forkserver_warmup``), so no worker pays a
    process's one-off costs, and a worker whose job is stopped (it may be deep in a
    sampler) is simply killed and replaced.
    """

    def __init__(self, processes: int):
        self.processes = processes
        self._context = multiprocessing.get_context("forkserver")
        # Python 3.11's forkserver imports its preload with the sys.path of a bare
        # ``python -c`` (the working directory), not the server's, and swallows the
        # ImportError: the workers would then each import torch for themselves.
        root = str(Path(__file__).resolve().parent.parent)
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if root not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *filter(None, paths)])
        self._context.set_forkserver_preload(PRELOAD)
        self._slots = threading.BoundedSemaphore(processes)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0

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

    def run(self, function: Callable, args: tuple, progress: ProgressCallback | None = None) -> Any:
        """``function(*args, progress=...)`` on a worker; raises what the function raised.

        :param progress: called in this thread with each report the worker sends;
            returning False, or raising, kills the worker at once.
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
            worker = self._idle.pop() if self._idle else None
        healthy = False
        try:
            worker = worker or _Worker(self._context)
            result = self._run_on(worker, function, args, progress)
            healthy = True
            return result
        except (InferenceError, RunCancelled) as error:
            # An error the job raised itself leaves the worker fine; a stop does not.
            healthy = isinstance(error, InferenceError) and worker.process.is_alive()
            raise
        finally:
            with self._lock:
                self._running -= 1
                if healthy:
                    self._idle.append(worker)
            if not healthy and worker is not None:
                worker.kill()
            self._slots.release()

    @staticmethod
    def _run_on(worker: _Worker, function: Callable, args: tuple, progress: ProgressCallback | None) -> Any:
        worker.connection.send((function, args, progress is not None))
        while True:
            try:
                kind, payload = worker.connection.recv()
            except EOFError:
                raise InferenceError(
                    "The worker process running this inference stopped unexpectedly "
                    f"(exit code {worker.process.exitcode}); it may have run out of memory."
                ) from None
            if kind == "progress":
                if progress(payload) is False:
                    raise RunCancelled("Stopped on request.")
            elif kind == "result":
                return payload
            else:
                raise payload


# bench/memory.py, 2 workers, every page's defaults and 50 distinct settings each: the
# server peaked at 520 MB with a full cache, the forkserver at 145 MB and each worker at
# 120-155 MB (PSS), 884-887 MB in all. The budgets leave room above those figures.
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
    (:func:`processes_for`). On the 2-core development machine two workers cut the p95 of
    ten students' fresh scale runs from 14.0 s to 7.3 s, at a peak of 887 MB against
    611 MB without them (bench/load.py, bench/memory.py); a 1 GB instance with two cores
    gets two, one of 690 MB gets none.
    """
    setting = os.environ.get("PME_WORKERS", "auto").strip().lower()
    if setting not in ("", "auto"):
        try:
            return max(0, int(setting))
        except ValueError:
            log.warning("PME_WORKERS=%r is not a number or 'auto'; sizing the workers to the machine.", setting)
    return processes_for(machine.usable_cores(), machine.memory_limit_mb())
