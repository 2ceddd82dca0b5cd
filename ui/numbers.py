"""Numbers as a page shows them: fixed precision, with the ends said in words."""

from __future__ import annotations

import math

PROBABILITY_DECIMALS = 3
# Every table shows its numbers to this many places, so a column (and a row read across
# the columns) never mixes 0.5 with 0.4989: numeric columns through ``NUMBER_FORMAT``
# (``ui.panels.table``), numbers written into text through :func:`decimal_text`.
TABLE_DECIMALS = PROBABILITY_DECIMALS
NUMBER_FORMAT = f"%.{TABLE_DECIMALS}f"


def decimal_text(x: float) -> str:
    """``x`` as a table shows a number: ``TABLE_DECIMALS`` places."""
    return f"{x:.{TABLE_DECIMALS}f}"


def probability_text(p: float, decimals: int = PROBABILITY_DECIMALS) -> str:
    """``p`` to ``decimals`` places, with "< 0.001" and "> 0.999" for the ends.

    A probability of 2e-9 read as "0.000" says "impossible", and 0.9996 rounded to
    "1.000" says "certain"; neither is what the model says.
    """
    if math.isnan(p):
        return "–"
    step = 10.0**-decimals
    if p < step:
        return f"< {step:.{decimals}f}"
    if p > 1 - step:
        return f"> {1 - step:.{decimals}f}"
    return f"{p:.{decimals}f}"


def age_text(seconds: float) -> str:
    """How long ago, as a person says it: "40 s", "16 min", "2 h 5 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
