"""What a page must say: each session's own setting's answer, and no error.

The checks read a ``PageView`` (``harness.protocol_client``): the scale page's "vs exact"
value must be the exact posterior mean of that session's measurement, and the mixture's
fitted locations must sit on that session's own clusters. ``bench/load.py`` counts what
they find; the tests assert they find nothing.
"""

from __future__ import annotations

import re

from harness.protocol_client import PageView, table
from ppl_models.scale import ScaleSettings, exact_posterior

MEASUREMENT = "Observed measurement"
NUMBERS = "Numbers (comma-separated)"
COMPUTED = "Computed just now"


def measurement_for(session: int) -> float:
    """Session i's own scale measurement."""
    return round(10.5 + 0.3 * session, 1)


def mixture_for(session: int) -> tuple[str, tuple[float, float]]:
    """Session i's data set and the two cluster centres its fit must find."""
    far = 11.0 + session  # session 0 must not type the lecture's data, which the warm-up cached
    return f"0, 1, {far:g}, {far + 1:g}, {far + 2:g}", (0.5, far + 1.0)


def problems_on(view: PageView) -> list[str]:
    found = [view.exception] if view.exception else []
    found += [
        f"error shown: {body}"
        for body in view.alerts()
        if "failed inside the computation" in body or "Traceback" in body
    ]
    return found


# What the page says above its advice when a run's draws cannot be trusted (ui.panels.advice).
DISTRUST = "Don't trust this posterior yet"


def check_scale(view: PageView, measurement: float) -> list[str]:
    problems = problems_on(view)
    metric = view.metric("Posterior mean")
    if metric is None:
        return [*problems, f"measurement {measurement}: no Posterior mean on the page"]
    exact = exact_posterior(ScaleSettings(measurement=measurement))
    shown_exact = float(re.search(r"vs exact (-?[\d.]+)", metric.delta).group(1))
    if abs(shown_exact - exact.mean) > 1e-3:
        problems.append(f"measurement {measurement}: the page answers exact {shown_exact}, not {exact.mean:.3f}")
    # Far from the exact mean is a finding only when the page does not say so: the lecture's
    # HMC setting fails on some seeds (Pyro's class too), and the page must then warn.
    if abs(float(metric.body) - exact.mean) > 0.5 * exact.sd and not any(DISTRUST in t for t in view.texts()):
        problems.append(
            f"measurement {measurement}: posterior mean {metric.body} far from exact {exact.mean:.3f}, "
            "without a warning"
        )
    return problems


def check_mixture(view: PageView, centres: tuple[float, float]) -> list[str]:
    problems = problems_on(view)
    frames = view.of_type("dataframe")
    if not frames:
        return [*problems, f"centres {centres}: no estimates table"]
    locs = sorted(table(frames[0])["loc"])
    if any(abs(loc - centre) > 0.3 for loc, centre in zip(locs, centres, strict=True)):
        problems.append(f"centres {centres}: fitted locations {locs} belong to another data set")
    return problems


def said_computed(view: PageView) -> bool:
    return any(COMPUTED in text for text in view.texts())
