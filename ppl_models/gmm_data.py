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
    if np.all(data == data[0]):
        raise DataError(
            f"All {data.size} points equal {data[0]:g}: the shared scale would shrink to zero. Add varied points."
        )
    check_range(data)
    if k > data.size:
        raise DataError(f"K = {k} components for {data.size} points: use at most one component per point.")


# The fit runs in float32, its locations' prior is Normal(0, locs_sd) with locs_sd at
# most 100, and Adam moves each location by about one learning rate (at least 0.001) a
# step. Measured: two clusters 1e6 from 0 are found (locs_sd 100), 1e7 from 0 they are
# not; a spread of 0.01 is fit at learning rate 0.001, and float32 tells points apart only
# where they differ by more than about 1e-7 of their size (1e-5 leaves a margin).
MAX_MAGNITUDE = 1e6
MIN_SPREAD = 0.01
MIN_RELATIVE_SPREAD = 1e-5


def check_range(data: np.ndarray) -> None:
    """Refuse data too large, or spread too little, for the fit's arithmetic and prior."""
    low, high = float(data.min()), float(data.max())
    size = max(abs(low), abs(high))
    span = f"The points span {_apart(low, high)}"
    if size > MAX_MAGNITUDE:
        factor = _power_of_ten(np.log10(size) - 2)
        raise DataError(
            f"{span}; the fit can only work for data within about ±{MAX_MAGNITUDE:.0e} of 0, because it computes "
            f"in 32-bit floats and the locations' prior has a standard deviation of at most 100. "
            f"Rescale the data (e.g. divide by {factor}) or subtract a value near its middle."
        )
    spread = high - low
    if spread < MIN_RELATIVE_SPREAD * size:
        raise DataError(
            f"{span}: they differ by less than {MIN_RELATIVE_SPREAD:.0e} of their size, too little for the 32-bit "
            f"floats the fit computes in to tell apart. Subtract a value near their middle (e.g. {low:.6g})."
        )
    if spread < MIN_SPREAD:
        factor = _power_of_ten(-np.log10(spread))
        raise DataError(
            f"{span}; the fit needs a spread of at least {MIN_SPREAD:g}, because each step moves a location by "
            f"about one learning rate, and that goes no lower than 0.001. Rescale the data (e.g. multiply by "
            f"{factor})."
        )


def _apart(low: float, high: float) -> str:
    """``low to high`` with just enough digits that the two read differently."""
    for digits in range(3, 18):
        if f"{low:.{digits}g}" != f"{high:.{digits}g}":
            break
    return f"{low:.{digits}g} to {high:.{digits}g}"


def _power_of_ten(exponent: float) -> str:
    """10 to ``exponent`` rounded up, as text (the float itself may not exist: 1e+324)."""
    return f"1e+{int(np.ceil(exponent)):02d}" if exponent >= 0 else f"1e-{int(np.ceil(-exponent)):02d}"


def as_array(data: tuple[float, ...] | SyntheticData) -> np.ndarray:
    return data.draw() if isinstance(data, SyntheticData) else np.asarray(data, dtype=float)
