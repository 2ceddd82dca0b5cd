"""Numbers as a page shows them: fixed precision, with the ends said in words."""

from __future__ import annotations

import math

PROBABILITY_DECIMALS = 3


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
