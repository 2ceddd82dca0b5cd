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
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

WAIT_POLL_S = 0.2


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    latest: Any = None


@dataclass(frozen=True)
class CachedValue:
    value: Any
    computed_at: float
    compute_seconds: float


class RunCache:
    def __init__(self, max_entries: int = 128, ttl_s: float = 6 * 3600):
        self.max_entries = max_entries
        self.ttl_s = ttl_s
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
            value = compute()
            entry = CachedValue(value, time.time(), time.perf_counter() - started)
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
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


SHARED = RunCache()
