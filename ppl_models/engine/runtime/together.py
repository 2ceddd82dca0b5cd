"""How a lecture function says that several sessions' calls may be computed as one.

A function that can batch carries a :class:`Together` as its ``together`` attribute:
``group(*args)`` names what calls must share to be computed together (None: this call
cannot be), and ``run(calls, progress)`` computes a list of calls' arguments at once,
returning each call's result, or the :class:`InferenceError` it alone raised, in order.
Each result must be exactly what the call alone returns: the shared cache stores it
under the call's own key. The shared UI layer (``ui/run_batches.py``) does the
collecting; nothing here knows about sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from ppl_models.engine.runtime.progress import Progress

# progress(one report per call, in order) -> False to stop the whole batch.
BatchProgress = Callable[[list[Progress]], "bool | None"]


@dataclass(frozen=True)
class Together:
    group: Callable[..., Hashable | None]
    run: Callable[[Sequence[tuple], BatchProgress | None], list[Any]]


def together(function: Callable) -> Together | None:
    """The function's batching, if it has one."""
    spec = getattr(function, "together", None)
    return spec if isinstance(spec, Together) else None
