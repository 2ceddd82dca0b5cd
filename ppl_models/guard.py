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
  matters when a classroom of sessions shares two cores.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pyro
import torch

_INFERENCE_LOCK = threading.RLock()


@contextmanager
def inference_guard(seed: int) -> Iterator[None]:
    """Run the body alone in the process, seeded, with a private param store.

    :param int seed: seeds torch, numpy and Python's ``random`` for the body.
    """
    with _INFERENCE_LOCK:
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
