"""The mixture's data sets: typed numbers, a CSV upload or a synthetic draw, and their checks.

Everything a student can type or upload passes through here before any inference, so
each bad data set gets a message that names the problem (the first bad entry, the row,
the count) rather than a failure deep inside Pyro.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from ppl_models.errors import InferenceError

MAX_POINTS = 100_000


class DataError(InferenceError):
    """The data set cannot be fit; the message says what is wrong with it."""


@dataclass(frozen=True)
class SyntheticData:
    """Data drawn from a known mixture with equal weights, so the fit can be checked."""

    locs: tuple[float, ...] = (0.0, 10.0)
    scale: float = 1.0
    n: int = 1000
    seed: int = 0

    def draw(self) -> np.ndarray:
        if not 1 <= self.n <= MAX_POINTS:
            raise DataError(f"Synthetic data sets hold between 1 and {MAX_POINTS:,} points.")
        if not self.scale > 0:
            raise DataError("The synthetic mixture's scale must be positive.")
        rng = np.random.default_rng(self.seed)
        component = rng.integers(0, len(self.locs), self.n)
        return np.asarray(self.locs)[component] + rng.normal(0, self.scale, self.n)


def parse_numbers(text: str) -> tuple[float, ...]:
    """Numbers separated by commas, spaces or new lines; a clear error names the first bad one."""
    tokens = [t for t in text.replace(",", " ").replace(";", " ").split() if t]
    values = []
    for position, token in enumerate(tokens, start=1):
        try:
            values.append(float(token))
        except ValueError:
            raise DataError(f"Entry {position}, {token!r}, is not a number.") from None
    return tuple(values)


def parse_csv(raw: bytes) -> tuple[float, ...]:
    """One numeric column; a non-numeric first row is taken as its header."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("The file is not UTF-8 text; upload a CSV file.") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError("The CSV file is empty.")
    widths = {len(row) for row in rows}
    if widths != {1}:
        raise DataError(f"The CSV has {max(widths)} columns; upload one column of numbers.")
    values = []
    for line, (cell,) in enumerate(rows, start=1):
        try:
            values.append(float(cell))
        except ValueError:
            if line == 1:
                continue  # a header
            raise DataError(f"Row {line} holds {cell.strip()!r}, which is not a number.") from None
    return tuple(values)


def check_data(data: np.ndarray, k: int) -> None:
    """Raise :class:`DataError` for a data set the mixture cannot be fit to."""
    if data.size == 0:
        raise DataError("The data set is empty: enter, paste or upload some numbers.")
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        raise DataError(f"Point {bad[0] + 1} is {data[bad[0]]}: every point must be a finite number.")
    if data.size > MAX_POINTS:
        raise DataError(f"At most {MAX_POINTS:,} points; this data set has {data.size:,}.")
    if data.size < 2:
        raise DataError("A single point cannot be fit: the shared scale would have nothing to measure.")
    if np.ptp(data) == 0:
        raise DataError(
            f"All {data.size} points equal {data[0]:g}: the shared scale would shrink to zero. Add varied points."
        )
    if k > data.size:
        raise DataError(f"K = {k} components for {data.size} points: use at most one component per point.")


def as_array(data: tuple[float, ...] | SyntheticData) -> np.ndarray:
    return data.draw() if isinstance(data, SyntheticData) else np.asarray(data, dtype=float)
