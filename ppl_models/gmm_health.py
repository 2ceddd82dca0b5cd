"""What a mixture fit got wrong, which cause explains it, and the change that fixes it.

A MAP fit of a mixture fails quietly: a component's weight goes to zero, two components
settle on one group, a group is left to a broad neighbour. :func:`check_fit` names each
of these with its numbers. :func:`diagnose` then reads the page's fit beside the fits of
a few changed settings (made by :func:`ppl_models.gmm.fit_map`, which knows how to fit),
and says which cause the comparison shows:

- **the start**: the lecture's recipe put the locations badly, and a spread-out start
  finds every group under the same prior;
- **the prior**: with a Dirichlet concentration below 1 the density of the weights is
  unbounded at the edge of the simplex (its log goes to +infinity as a weight goes to 0),
  so MAP can prefer a fit that empties components: its loss is lower though it explains
  the data worse, and MAP is ill-posed;
- **the locations' prior**: data far beyond ``locs_sd`` from 0 make a location there cost
  more prior density than its few points give back, so MAP pulls components towards 0;
- **K**: even a spread-out start with a flat prior leaves components empty, and fewer
  components fit without a problem.

A remedy is only ever offered for a setting whose fit was made and passed the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

# A component that no point is most probably from, or whose weight is worth less than
# half a point, explains nothing.
EMPTY_POINTS = 0.5
# Two equal-scale normals closer than two scales add up to a single bump: the data
# cannot tell them apart as two groups.
OVERLAP_SCALES = 2.0
# A point further from every real component than this many scales is one the fit does
# not explain, chosen so that a fit which is right flags no point in 99 data sets of 100.
FALSE_ALARM = 0.01
LISTED_POINTS = 5


@dataclass(frozen=True)
class FitCheck:
    """One fit's problems; components numbered as the page numbers them (1, 2, ...)."""

    empty: tuple[int, ...]
    overlapping: tuple[tuple[int, int], ...]
    unexplained: int  # how many points no real component explains
    groups: int  # real components, overlapping ones counted once
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class FitSummary:
    """One fit for the comparison: the page's own, or one with a changed setting."""

    label: str
    change: dict[str, Any]  # settings fields changed from the page's (empty for the page's fit)
    weights: np.ndarray
    locs: np.ndarray
    scale: float
    loss: float  # -log p(data, weights, locs, scale) under the page's prior, every point
    log_likelihood: float  # log p(data | weights, locs, scale): how well it explains the data
    check: FitCheck


@dataclass(frozen=True)
class Setting:
    """What the diagnosis needs to know of the page's setting and start."""

    start: str  # "lecture" or "spread"
    start_locs: tuple[float, ...]  # where the kept start put the locations
    concentration: float
    locs_sd: float
    data_reach: float  # the largest |x|
    fit_time_s: float  # what one fit of this setting took
    unaffordable: bool  # some comparison fits were left out: they would not fit in one run


@dataclass(frozen=True)
class Diagnosis:
    causes: tuple[str, ...]  # "start", "prior", "locations", "k"; empty when no change tried helped
    explanation: tuple[tuple[str, str], ...]  # (heading, paragraph) per cause, plain words with the numbers
    remedy: dict[str, Any] = field(default_factory=dict)  # settings fields to change; checked to help
    remedy_label: str = ""
    compared: tuple[FitSummary, ...] = ()


def _number_list(values) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def unexplained_distance(points: int) -> float:
    """How many scales from every component a point may lie before it is called unexplained."""
    # Both tails, shared out over the points so the whole data set keeps FALSE_ALARM.
    return NormalDist().inv_cdf(1 - FALSE_ALARM / (2 * max(points, 1)))


def check_fit(
    data: np.ndarray, weights: np.ndarray, locs: np.ndarray, scale: float, membership: np.ndarray
) -> FitCheck:
    """Empty components, components on one another, points no real component explains."""
    n, k = len(data), len(weights)
    counts = np.bincount(membership.argmax(axis=1), minlength=k)
    empty = tuple(int(j) for j in range(k) if counts[j] == 0 or n * weights[j] < EMPTY_POINTS)
    real = [j for j in range(k) if j not in empty]
    problems: list[str] = []
    if empty:
        names = _number_list(j + 1 for j in empty)
        shown = _number_list(f"{weights[j]:.3f} at {locs[j]:.2f}" for j in empty)
        problems.append(
            f"{'Components' if len(empty) > 1 else 'Component'} {names} "
            f"({'weights' if len(empty) > 1 else 'weight'} {shown}) "
            f"{'explain' if len(empty) > 1 else 'explains'} no data: no point is most probably "
            f"from {'them' if len(empty) > 1 else 'it'}, so the fit uses {len(real)} of its {k} components."
        )
    overlapping = tuple(
        (i, j) for a, i in enumerate(real) for j in real[a + 1 :] if abs(locs[j] - locs[i]) < OVERLAP_SCALES * scale
    )
    for i, j in overlapping:
        problems.append(
            f"Components {i + 1} and {j + 1} sit on one another: their locations {locs[i]:.2f} and {locs[j]:.2f} "
            f"are {abs(locs[j] - locs[i]):.2f} apart, less than two scales (2 × {scale:.2f} = "
            f"{OVERLAP_SCALES * scale:.2f}), so together they make a single bump."
        )
    unexplained = 0
    if real:
        reach = unexplained_distance(n)
        distance = np.abs(data[:, None] - locs[None, real]).min(axis=1) / scale
        far = np.flatnonzero(distance > reach)
        unexplained = len(far)
        if unexplained:
            listed = _number_list(f"{data[i]:g}" for i in far[:LISTED_POINTS])
            more = f", and {unexplained - LISTED_POINTS} more" if unexplained > LISTED_POINTS else ""
            problems.append(
                f"{unexplained} {'points lie' if unexplained > 1 else 'point lies'} more than {reach:.1f} scales "
                f"({reach * scale:.2f}) from every component with real weight ({listed}{more}): a fit that "
                "described the data would put one there."
            )
    # Overlapping components count once: link them, count what stays apart.
    linked = {j: j for j in real}

    def root(j: int) -> int:
        while linked[j] != j:
            j = linked[j]
        return j

    for i, j in overlapping:
        linked[root(j)] = root(i)
    return FitCheck(empty, overlapping, unexplained, len({root(j) for j in real}), tuple(problems))


def _fit_words(fit: FitSummary) -> str:
    weights = " / ".join(f"{w:.2f}" for w in fit.weights)
    locs = " / ".join(f"{m:.2f}" for m in fit.locs)
    return f"weights {weights}, locations {locs}, scale {fit.scale:.2f}"


def _healthy(fit: FitSummary | None) -> bool:
    return fit is not None and fit.check.ok


def diagnose(
    page: FitSummary,
    setting: Setting,
    spread: FitSummary | None = None,
    flat: FitSummary | None = None,
    wide: FitSummary | None = None,
    fewer: FitSummary | None = None,
) -> Diagnosis:
    """Which cause explains ``page``'s problems, from the fits of changed settings.

    :param spread: the same prior from a spread-out start (when the page used the lecture's).
    :param flat: a spread-out start with concentration 1 (when the page's is below 1).
    :param wide: a spread-out start with a wider prior on the locations (when the data reach
        beyond the page's).
    :param fewer: a spread-out start with fewer components, when none of those passed.
    """
    causes: list[str] = []
    words: list[tuple[str, str]] = []
    concentration = setting.concentration
    if setting.start == "lecture" and _healthy(spread):
        causes.append("start")
        started = _number_list(f"{v:.2f}" for v in setting.start_locs)
        words.append(
            (
                "The start",
                "The lecture's recipe starts the locations at K randomly chosen data points and keeps "
                f"the start with the lowest initial loss; the start it kept put them at {started}, and SVI then "
                "emptied or merged the spare components. A spread-out start (k-means++: each next location drawn far "
                f"from those already picked) has none of these problems: {_fit_words(spread)}.",
            )
        )
    preferred = [f for f in (spread, flat) if _healthy(f) and f.loss > page.loss]
    if concentration < 1 and preferred:
        better = preferred[0]
        causes.append("prior")
        words.append(
            (
                "The prior",
                f"MAP prefers this fit: its loss {page.loss:.2f} is lower than {better.loss:.2f} for a "
                f"fit without these problems ({better.label}), although that fit explains the data better "
                f"(log-likelihood {better.log_likelihood:.2f} against {page.log_likelihood:.2f}). With a Dirichlet "
                f"concentration of {concentration:g}, below 1, the prior's density grows without bound as a weight "
                "goes to 0, so emptying a component is rewarded: a lower loss is not a better fit here, and MAP is "
                "ill-posed. A concentration of at least 1 removes the reward; the full posterior (the NUTS tab) "
                "averages over the weights instead of maximising their density.",
            )
        )
    elif concentration < 1 and not _healthy(spread) and _healthy(flat):
        causes.append("prior")
        words.append(
            (
                "The prior",
                f"Even from a spread-out start the fit empties components under a Dirichlet concentration "
                f"of {concentration:g}: below 1 its density grows without bound as a weight goes to 0, so MAP is "
                f"pulled towards fits with empty components. With concentration 1 the fit has none of these problems: "
                f"{_fit_words(flat)}.",
            )
        )
    if not causes and _healthy(wide):
        causes.append("locations")
        far = setting.data_reach / setting.locs_sd
        words.append(
            (
                "The locations' prior",
                f"locs ~ Normal(0, {setting.locs_sd:g}) puts the data's furthest point, "
                f"{setting.data_reach:.4g} from 0, {far:.1f} prior standard deviations out: a location there costs "
                "more prior density than the few points near it give back, so MAP pulls the components towards 0 and "
                f"leaves groups to their neighbours. With a prior sd of {wide.change['locs_sd']:g} the fit has none of "
                f"these problems: {_fit_words(wide)}.",
            )
        )
    if not causes and _healthy(fewer):
        causes.append("k")
        words.append(
            (
                "K",
                f"Even from a spread-out start with a flat prior on the weights, the fit has more components than "
                f"the data have groups. With K = {len(fewer.weights)} every component has a group: "
                f"{_fit_words(fewer)}.",
            )
        )
    if not causes and setting.unaffordable:
        words.append(
            (
                "Not compared",
                f"Telling the causes apart takes further fits of this size (about {setting.fit_time_s:.0f} s each), "
                "more than one run may take on this server. The changes that usually help: a spread-out start (init = "
                "spread), a Dirichlet concentration of at least 1, a prior sd of the locations as wide as the data; "
                "fewer points, initialisations or steps make each fit quicker.",
            )
        )
    elif not causes:
        words.append(
            (
                "No cause found",
                "None of a spread-out start, a flat prior on the weights, a wider prior on the locations or fewer "
                "components gave a fit without these "
                "problems: the data may not fall into separated groups of one shared width. The full posterior (the "
                "NUTS tab) shows how uncertain the components are.",
            )
        )
    remedy_fit = next(
        (
            fit
            for cause, fit in (("locations", wide), ("prior", flat), ("prior", spread), ("start", spread), ("k", fewer))
            if cause in causes and _healthy(fit)
        ),
        None,
    )
    compared = tuple(fit for fit in (page, spread, flat, wide, fewer) if fit is not None)
    if remedy_fit is None:
        return Diagnosis(tuple(causes), tuple(words), compared=compared)
    label = ", ".join(
        f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"
        for name, value in remedy_fit.change.items()
    )
    return Diagnosis(tuple(causes), tuple(words), dict(remedy_fit.change), label, compared)
