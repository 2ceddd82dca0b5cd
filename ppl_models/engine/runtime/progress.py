"""What a runner tells its caller while it works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run in progress.

    :ivar stage: ``"warmup"``, ``"sampling"`` or ``"optimizing"``.
    :ivar done: iterations finished across all chains or steps.
    :ivar total: iterations the whole run will take.
    :ivar partial: samples so far per site (MCMC), or the loss curve so far (SVI, key
        ``"loss"``); enough for the page to draw a chart that fills in live.
    """

    stage: str
    done: int
    total: int
    chain: int = 0
    partial: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / max(1, self.total))


# A callback returns False to ask the runner to stop at the next iteration.
ProgressCallback = Callable[[Progress], "bool | None"]
