"""A bounded, process-wide result cache with one computation per key (no Streamlit).

Why not ``st.cache_data``: the page must know whether a result came from the cache
(to say so), must draw live progress only while computing (``st.cache_data`` replays
every element made inside the cached call on each hit, live chart frames included),
and a background thread must be able to fill the cache at start-up. This cache keeps
those three properties and the rest of ``st.cache_data``'s contract: shared by every
session, bounded by ``max_entries`` (least recently used out first) and ``ttl_s``.

Concurrency: when several sessions ask for the same key at once, one computes and the
others wait for its result (single flight), so a class following the teacher's slider
costs one inference, not thirty. The computing caller may :meth:`RunCache.publish` its
progress; waiters receive the latest report a few times a second, so every waiting
session can draw the same live progress.

Memory: entries are bounded in count and in bytes (``max_bytes``, measured by
:func:`approximate_nbytes`), so a handful of 100,000-point mixtures cannot push a
1 GB server over its limit the way 128 of them would.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ppl_models.engine.runtime.guard import queued_seconds, start_queue_clock
from ui.run_batches import companions, reset_companions

WAIT_POLL_S = 0.2


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    latest: Any = None


def approximate_nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """Bytes held by a result: numpy arrays by their buffers, containers and dataclasses
    by their parts, anything else by ``sys.getsizeof``. Shared parts count once."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes + sys.getsizeof(value) - (value.nbytes if value.base is None else 0)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, Mapping):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        parts = list(value)
    else:
        return sys.getsizeof(value)
    return sys.getsizeof(value) + sum(approximate_nbytes(part, seen) for part in parts)


@dataclass(frozen=True)
class CachedValue:
    """A result, when it was made, how long its computation ran, and how long it first
    waited for other sessions' runs (not part of its cost, so kept apart)."""

    value: Any
    computed_at: float
    compute_seconds: float
    nbytes: int = 0
    queued_seconds: float = 0.0
    # How many runs (this one included) were computed together in one batch; 0: alone.
    batch_size: int = 0


class RunCache:
    def __init__(self, max_entries: int = 128, ttl_s: float = 6 * 3600, max_bytes: int = 200 * 2**20):
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, CachedValue] = OrderedDict()
        self._inflight: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> CachedValue | None:
        """The cached value for ``key``, or None; counts as a use for LRU order."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.time() - entry.computed_at > self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def get_or_compute(
        self,
        key: Hashable,
        compute: Callable[[], Any],
        on_wait: Callable[[Any], None] | None = None,
    ) -> tuple[CachedValue, bool]:
        """Return ``(entry, from_cache)``, computing at most once per key at a time.

        :param on_wait: while this caller waits for another's computation, called every
            0.2 s with the latest report that computation published (None before any).
        Exceptions from ``compute`` propagate and are not cached; a waiter whose
        computer failed computes for itself.
        """
        while True:
            entry = self.peek(key)
            if entry is not None:
                return entry, True
            with self._lock:
                flight = self._inflight.get(key)
                if flight is None:
                    flight = self._inflight[key] = _Flight()
                    break
            while not flight.done.wait(WAIT_POLL_S if on_wait else None):
                on_wait(flight.latest)
        try:
            started = time.perf_counter()
            start_queue_clock()
            reset_companions()
            value = compute()
            queued = queued_seconds()
            elapsed = time.perf_counter() - started - queued
            entry = CachedValue(value, time.time(), elapsed, approximate_nbytes(value), queued, companions())
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                # The newest entry stays even when it alone is over the byte bound:
                # the page that asked for it is about to draw it.
                while len(self._entries) > 1 and (
                    len(self._entries) > self.max_entries or self.nbytes > self.max_bytes
                ):
                    self._entries.popitem(last=False)
            return entry, False
        finally:
            with self._lock:
                del self._inflight[key]
            flight.done.set()

    def publish(self, key: Hashable, report: Any) -> None:
        """Share the computing caller's latest progress with the callers waiting on it."""
        flight = self._inflight.get(key)
        if flight is not None:
            flight.latest = report

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Approximate bytes held by the cached results."""
        return sum(entry.nbytes for entry in self._entries.values())


SHARED = RunCache()
