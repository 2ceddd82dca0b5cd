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

from ppl_models.engine.runtime.errors import InferenceError

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


# 100,000 numbers of up to ~25 characters each fit in well under this; a bigger upload is
# refused before it is decoded.
MAX_CSV_BYTES = 8 * 1024 * 1024
# No number needs more characters than this; a longer cell is refused before the csv
# module sees it (its own field limit would raise an error of its own).
MAX_CELL = 100
MAX_LINE = 1000
EXCERPT = 20


def _excerpt(cell: str) -> str:
    cell = cell.strip()
    return repr(cell if len(cell) <= EXCERPT else cell[:EXCERPT] + "...")


def _decode(raw: bytes) -> str:
    """The upload's text: UTF-8 (with or without BOM), UTF-16 (with or without BOM), else Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(raw) >= 2 and raw[1::2].count(0) > len(raw) // 4 and raw[0::2].count(0) == 0:
        encoding = "utf-16-le"  # ASCII digits in UTF-16 without a BOM: every other byte is zero
    elif len(raw) >= 2 and raw[0::2].count(0) > len(raw) // 4 and raw[1::2].count(0) == 0:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8-sig":
            raise DataError(
                "The file looks like UTF-16 text but cannot be read as such; save it as UTF-8 CSV."
            ) from None
        # Every byte is a Latin-1 character: a file saved by an older spreadsheet reads as it was meant.
        text = raw.decode("latin-1")
    if "\x00" in text:
        raise DataError("The file holds NUL bytes, so it is not a text file; upload a CSV file of numbers.")
    return text


def _delimiter(text: str) -> str:
    """Semicolons or tabs when the file uses them (as with decimal commas), else commas."""
    sample = text[:10_000]
    for candidate in (";", "\t"):
        if candidate in sample:
            return candidate
    return ","


def _number(cell: str, row: int) -> float | None:
    """The cell's number, reading one comma as a decimal comma; None if it is not one."""
    cell = cell.strip()
    try:
        return float(cell)
    except ValueError:
        pass
    whole, comma, fraction = cell.partition(",")
    if not comma or "," in fraction or "." in cell:
        return None
    if len(fraction) == 3 and whole.lstrip("+-").isdigit() and fraction.isdigit():
        raise DataError(
            f"Row {row} holds {_excerpt(cell)}: a decimal comma or a thousands separator? "
            "Write it with a decimal point, or without the separator."
        )
    try:
        return float(whole + "." + fraction)
    except ValueError:
        return None


def _short_lines(text: str):
    """The text's lines, refusing one too long to hold a number before the csv module reads it."""
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE:
            raise DataError(
                f"Line {number} is {len(line):,} characters long, starting {_excerpt(line)}; "
                "each line should hold one number."
            )
        yield line


def parse_csv(raw: bytes) -> tuple[float, ...]:
    """One numeric column; a non-numeric first row is taken as its header.

    Reads UTF-8 (BOM or not), UTF-16 and Latin-1 files, commas, semicolons or tabs
    between cells, and decimal commas ("1,5" quoted, or with semicolons between cells);
    refuses anything else with a :class:`DataError` that says why.
    """
    if len(raw) > MAX_CSV_BYTES:
        raise DataError(
            f"The file is {len(raw) / 1e6:.1f} MB; at most {MAX_CSV_BYTES / 1e6:.0f} MB "
            f"({MAX_POINTS:,} points) can be uploaded."
        )
    text = _decode(raw)
    delimiter = _delimiter(text)
    values: list[float] = []
    # strict: a quote left open is an error, not the rest of the file read as one cell.
    reader = csv.reader(_short_lines(text), delimiter=delimiter, strict=True)
    row_number = filled = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            raise DataError(
                f"Line {reader.line_num} cannot be read as CSV: a quote is left open or out of place."
            ) from None
        row_number += 1
        long = next((cell for cell in row if len(cell) > MAX_CELL), None)
        if long is not None:
            raise DataError(
                f"Row {row_number} holds a cell of {len(long):,} characters, starting {_excerpt(long)}; "
                "each row should hold one number."
            )
        if not any(cell.strip() for cell in row):
            continue
        filled += 1
        cells = [cell for cell in row if cell.strip()]  # a trailing separator leaves an empty cell
        if len(cells) != 1:
            hint = " A decimal comma needs quotes, or semicolons between cells." if delimiter == "," else ""
            where = f" (row {row_number})" if filled > 1 else ""
            raise DataError(f"The CSV has {len(cells)} columns{where}; upload one column of numbers.{hint}")
        number = _number(cells[0], row_number)
        if number is None:
            if filled == 1:
                continue  # a header
            raise DataError(f"Row {row_number} holds {_excerpt(cells[0])}, which is not a number.")
        values.append(number)
        if len(values) > MAX_POINTS:
            raise DataError(f"The file has more than {MAX_POINTS:,} numbers; at most {MAX_POINTS:,} can be fit.")
    if not values:
        raise DataError("The CSV file is empty." if filled == 0 else "The CSV file holds no numbers.")
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
