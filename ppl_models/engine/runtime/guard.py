"""One process-wide guard around every inference run.

Pyro keeps its effect-handler stack and its param store in module globals, and
Streamlit runs every browser session as a thread of one process. Two fits running at
once would push onto the same handler stack ("Multiple sample sites named ...") or
read each other's parameters. Every run therefore goes through :func:`inference_guard`:

- a re-entrant process-wide lock, so at most one Pyro computation runs at a time;
- ``pyro.get_param_store().scope()``, so a run starts from an empty store and leaves
  the store as it found it;
- ``torch.random.fork_rng()`` plus an explicit seed, so a run's randomness depends on
  its own seed only and never on what ran before it in the process;
- one torch thread: on these tiny models a second thread burns CPU for no gain, which
  matters when a classroom of sessions shares two cores;
- on the way out, the TorchScript functions the run traced are freed (see
  :func:`_drop_traced_functions`).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pyro
import torch

_INFERENCE_LOCK = threading.RLock()
# Threads inside or queued for the guard, outermost entries only; read by the page to
# tell a student how many runs are ahead of theirs.
_occupants = 0
_occupants_lock = threading.Lock()
# Per thread: how deep in nested guards it is, and how long its runs have queued.
_thread_state = threading.local()


def start_queue_clock() -> None:
    """Start counting, for this thread, the time its runs spend waiting for the guard."""
    _thread_state.queued_s = 0.0


def queued_seconds() -> float:
    """Seconds this thread's runs waited for other runs since :func:`start_queue_clock`."""
    return getattr(_thread_state, "queued_s", 0.0)


def add_queued_seconds(seconds: float) -> None:
    """Count time this thread waited for a worker process as queued time too."""
    _thread_state.queued_s = queued_seconds() + seconds


def runs_in_progress() -> int:
    """How many runs hold or wait for the guard right now (a snapshot)."""
    return _occupants


def _count(change: int) -> None:
    global _occupants
    with _occupants_lock:
        _occupants += change


def _traced_functions():
    return torch.jit._state._python_cu


def _drop_traced_functions(traced_before: int) -> None:
    """Free the TorchScript functions this run traced (Pyro's ``jit_compile``, the
    compiled leapfrog).

    ``torch.jit.trace`` registers every traced function in one process-wide compilation
    unit that nothing ever empties: each JIT-compiled fit kept its traces for the life of
    the server (README, Bounds and memory, has what bench/memory.py measured). The run's
    kernels and ELBOs are gone by now, so nothing can call these functions again. Only a
    unit that held nothing before the run is emptied: functions that other code defined
    are left alone.
    """
    if traced_before == 0:
        _traced_functions().drop_all_functions()


@contextmanager
def inference_guard(seed: int) -> Iterator[None]:
    """Run the body alone in the process, seeded, with a private param store.

    :param int seed: seeds torch, numpy and Python's ``random`` for the body.
    """
    outermost = getattr(_thread_state, "value", 0) == 0
    _thread_state.value = getattr(_thread_state, "value", 0) + 1
    if outermost:
        _count(+1)
    try:
        queued_since = time.perf_counter()
        with _INFERENCE_LOCK:
            if outermost:
                _thread_state.queued_s = queued_seconds() + time.perf_counter() - queued_since
            traced_before = len(_traced_functions().get_functions())
            previous_threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with pyro.get_param_store().scope(), torch.random.fork_rng(devices=[]):
                    pyro.clear_param_store()
                    pyro.set_rng_seed(seed)
                    with warnings.catch_warnings():
                        # torch 2.13 deprecates torch.jit.trace, which Pyro's jit_compile
                        # uses; the warning says nothing a student can act on.
                        warnings.filterwarnings("ignore", category=DeprecationWarning)
                        warnings.filterwarnings("ignore", category=FutureWarning)
                        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                        yield
            finally:
                torch.set_num_threads(previous_threads)
                if outermost:
                    _drop_traced_functions(traced_before)
    finally:
        _thread_state.value -= 1
        if outermost:
            _count(-1)
