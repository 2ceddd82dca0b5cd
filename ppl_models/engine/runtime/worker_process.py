"""What runs inside an inference worker process: the loop that computes the jobs the
pool (:mod:`ppl_models.engine.runtime.workers`) sends down its pipe.

This is the only module a worker needs for itself. A new worker finds its target,
:func:`serve`, by its module name and imports that module, so the target lives apart
from the pool: starting a worker loads none of the parent's machinery (the pool, its
memory watchdog, its sizing), and this module imports nothing from it, so the two
cannot form a cycle.

The protocol, one pickled tuple per message. The pool sends ``(function, args,
reports)``; with ``reports`` set the function is called with ``progress=``. The worker
answers ``("progress", report)`` any number of times, then one of ``("result",
value)``, ``("error", exception)`` (the job raised; the worker takes the next job),
``("memory", None)`` (an allocation failed; the worker exits) or ``("broken",
text)`` (what it had would not pickle; the pool ends it). Anything more drastic (a
stop, a deadline, memory past the limit) the pool settles by killing the worker, so
the worker has no way to be told to stop and needs none.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from pathlib import Path

# What a send or receive raises when the other end of the pipe has gone away.
PIPE_GONE = (BrokenPipeError, ConnectionResetError, EOFError, OSError)


def _is_out_of_memory(error: BaseException) -> bool:
    # torch reports a failed allocation as a RuntimeError ("DefaultCPUAllocator: can't
    # allocate memory"), Python as MemoryError.
    return isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "can't allocate memory" in str(error))


def _leave_when_the_server_goes(connection) -> None:
    """Exit at once, and quietly, when the server's end of the pipe closes.

    A job the server no longer waits for (its server was stopped mid-run) would
    otherwise compute on for minutes, then fail to send its result and print a chain of
    broken-pipe tracebacks into the server's log. The watch asks the kernel about the
    socket's far end only (POLLRDHUP), so it never takes a job meant for the main thread.
    """
    rdhup = getattr(select, "POLLRDHUP", None)
    if rdhup is None:
        return
    watch = select.poll()
    watch.register(connection.fileno(), rdhup)

    def wait_for_hang_up() -> None:
        while True:
            for _, events in watch.poll():
                if events & (rdhup | select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    os._exit(0)

    threading.Thread(target=wait_for_hang_up, name="watch-server", daemon=True).start()


def _prepare_worker(connection) -> None:
    # Ctrl+C in a terminal reaches the whole process group: the server decides what
    # stops, not a KeyboardInterrupt raised mid-job in a worker.
    # SIGTERM keeps its default, which ends the process at once and silently, even deep
    # inside one long torch operation (a Python handler would wait for it to return).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # When memory runs out, the system's killer should take a worker (whose page then
    # says so) rather than the server every session depends on.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
    _leave_when_the_server_goes(connection)


def serve(connection) -> None:
    """A worker's life: run the jobs that come down the pipe until it closes or is killed."""
    _prepare_worker(connection)

    def send(message) -> None:
        try:
            try:
                connection.send(message)
            except PIPE_GONE:
                raise
            except Exception as error:  # noqa: BLE001 - it did not pickle; the log still hears of it
                # The parent ends this worker on "broken": it may be mid-job still.
                kind, payload = message
                what = f"{type(payload).__name__}: {payload}" if kind == "error" else f"its {kind}"
                connection.send(("broken", f"{what} (could not be sent back: {type(error).__name__}: {error})"))
        except PIPE_GONE:
            os._exit(0)  # the server went away: nobody is left to tell

    while True:
        try:
            function, args, reports = connection.recv()
        except PIPE_GONE:
            os._exit(0)
        try:
            keywords = {"progress": lambda report: send(("progress", report))} if reports else {}
            result = function(*args, **keywords)
        except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
            if _is_out_of_memory(error):
                send(("memory", None))
                os._exit(0)  # a failed allocation can leave torch's allocator in any state
            send(("error", error))
            continue
        send(("result", result))
