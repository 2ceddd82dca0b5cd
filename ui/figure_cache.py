"""One figure per chart's data, shared by every session that shows it (no Streamlit).

Building a plotly figure is pure Python under the GIL: the scale page's five charts cost
about 0.2 s a rerun, all of it plotly's own validation. Alone that is nothing; thirty
students following their teacher rerun the same page at once, on the same cached result,
and rebuilt the same five figures thirty times (6 s of one core: bench/class_follow.py).
So each builder in ``ui/*charts.py`` is wrapped in :func:`shared_figure`: its figure is
kept, keyed by the builder and a fingerprint of its arguments' contents, and handed to
every caller with the same data. Figures are never changed after they are built (the
presenter view enlarges a copy), so sharing one is safe.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

MAX_FIGURES = 128
# Inputs bigger than this are not worth a fingerprint's pass and the memory a kept figure holds.
MAX_ELEMENTS = 300_000
# What the kept figures may hold in all, counted as their inputs' numbers at about 24 bytes
# each in plotly's copies (the 1 GB server's other tenants come first: README, Bounds and memory).
MAX_BYTES = 48 * 2**20
BYTES_PER_ELEMENT = 24

_figures: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
_held_bytes = 0
_lock = threading.Lock()

Builder = TypeVar("Builder", bound=Callable[..., Any])


class _Unkeyable(Exception):
    """An argument the cache cannot fingerprint: the figure is built afresh."""


def _fingerprint(value: Any, budget: list[int]) -> Any:
    if isinstance(value, np.ndarray):
        budget[0] -= value.size
        if budget[0] < 0 or value.dtype == object:
            raise _Unkeyable
        digest = hashlib.blake2b(np.ascontiguousarray(value).view(np.uint8), digest_size=16).digest()
        return ("array", value.shape, value.dtype.str, digest)
    if isinstance(value, str | bytes | int | float | bool | type(None) | np.generic):
        return (type(value).__name__, value)
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_fingerprint(item, budget) for item in value))
    if isinstance(value, Mapping):
        return ("map", tuple((key, _fingerprint(item, budget)) for key, item in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple(_fingerprint(getattr(value, f.name), budget) for f in dataclasses.fields(value))
        return (type(value).__qualname__, fields)
    raise _Unkeyable


def shared_figure(builder: Builder) -> Builder:
    """``builder`` with its figures kept for every caller that passes the same data."""

    @functools.wraps(builder)
    def build(*args, **kwargs):
        budget = [MAX_ELEMENTS]
        try:
            key = (builder.__module__, builder.__qualname__, _fingerprint((args, kwargs), budget))
        except _Unkeyable:
            return builder(*args, **kwargs)
        with _lock:
            if key in _figures:
                _figures.move_to_end(key)
                return _figures[key][0]
        figure = builder(*args, **kwargs)
        _keep(key, figure, (MAX_ELEMENTS - budget[0] + 100) * BYTES_PER_ELEMENT)
        return figure

    return build  # type: ignore[return-value]


def _keep(key: tuple, figure: Any, size: int) -> None:
    global _held_bytes
    with _lock:
        if key in _figures:
            return
        _figures[key] = (figure, size)
        _held_bytes += size
        while len(_figures) > MAX_FIGURES or _held_bytes > MAX_BYTES:
            _, (_, dropped) = _figures.popitem(last=False)
            _held_bytes -= dropped


def held() -> tuple[int, int]:
    """How many figures are kept, and the bytes they are counted at."""
    with _lock:
        return len(_figures), _held_bytes


def clear() -> None:
    global _held_bytes
    with _lock:
        _figures.clear()
        _held_bytes = 0
