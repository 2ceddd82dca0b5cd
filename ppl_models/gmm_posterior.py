"""The mixture's NUTS posterior without labels: sorting the draws, and spotting label switching.

Swapping two components' labels leaves the mixture's likelihood unchanged, so its
posterior has K! mirror-image modes. A chain may cross from one to another (the label
order of its locations changes between draws), or two chains may settle in different
ones (the same clusters, under swapped labels). Either way a per-label mean such as that
of ``locs[0]`` averages different clusters, and the R-hat of ``locs[0]`` is high even
when every chain sampled the posterior well. Sorting each draw's components by location
gives quantities that mean the same in every mode: the lowest location, its weight, ...
(Stephens 2000, "Dealing with label switching in mixture models", calls this an
identifiability constraint).

Everything here is numpy over the ``draws`` dict of an :class:`McmcResult` (site name ->
``(chains, draws)``), and plain words for the page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ppl_models.engine import diagnostics
from ppl_models.engine.diagnostics import Advice, SiteSummary
from ppl_models.engine.mcmc import McmcResult

# Two chains hold a label in different places when its per-chain means differ by more
# than this many within-chain posterior sds. Within-chain switching inflates those sds
# (a chain that visits both clusters spreads over both), so the bar is set at two, not
# the three a well-separated pair of modes would clear easily.
SEPARATION_SDS = 2.0

_LABELLED = re.compile(r"^(locs|weights)\[(\d+)\]$")


def component_count(draws: Mapping[str, np.ndarray]) -> int:
    """K, from the ``locs[i]`` sites among ``draws``."""
    return sum(1 for name in draws if name.startswith("locs["))


def rank_name(rank: int, k: int) -> str:
    """``lowest location``, ``2nd lowest location``, ..., ``highest location`` (0-based ``rank``)."""
    if k == 1:
        return "location"
    if rank == 0:
        return "lowest location"
    if rank == k - 1:
        return "highest location"
    suffix = {2: "nd", 3: "rd"}.get(rank + 1, "th")
    return f"{rank + 1}{suffix} lowest location"


def _locations(draws: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(chains, draws, K)``: every draw's locations in label order."""
    return np.stack([np.asarray(draws[f"locs[{i}]"]) for i in range(component_count(draws))], axis=-1)


def sort_by_location(draws: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The draws with each draw's components put in order of location.

    ``locs[r]`` becomes the r-th lowest location of each draw, and ``weights[r]`` the
    weight of that same component, so a weight always travels with its location. Sites
    without a label (``scale``) are passed through. Shapes stay ``(chains, draws)``.
    """
    locs = _locations(draws)
    order = np.argsort(locs, axis=-1, kind="stable")
    ranked = {"locs": np.take_along_axis(locs, order, axis=-1)}
    k = locs.shape[-1]
    if all(f"weights[{i}]" in draws for i in range(k)):
        weights = np.stack([np.asarray(draws[f"weights[{i}]"]) for i in range(k)], axis=-1)
        ranked["weights"] = np.take_along_axis(weights, order, axis=-1)
    out = {name: np.asarray(values) for name, values in draws.items() if not _LABELLED.match(name)}
    for site, values in ranked.items():
        for rank in range(k):
            out[f"{site}[{rank}]"] = values[..., rank]
    return out


@dataclass(frozen=True)
class ChainSwitches:
    """A chain whose label order changed between draws (0-based chain and labels)."""

    chain: int
    changes: int  # consecutive draws whose order of the labels by location differs
    off_order: int  # draws not in the chain's usual order
    draws: int
    labels: tuple[int, ...]  # the labels whose rank changed at least once


@dataclass(frozen=True)
class SwappedChains:
    """Two chains that hold the same clusters under different labels."""

    chain_a: int
    chain_b: int
    labels: tuple[int, ...]  # labels at a different rank in the two chains' usual orders
    means_a: tuple[float, ...]  # chain_a's mean location of each of ``labels``
    means_b: tuple[float, ...]
    separation_sds: float  # the largest difference of a label's two means, in within-chain sds


@dataclass(frozen=True)
class LabelSwitching:
    usual_orders: tuple[tuple[int, ...], ...]  # per chain, its most frequent labels, lowest location first
    within: tuple[ChainSwitches, ...]
    between: tuple[SwappedChains, ...]

    @property
    def detected(self) -> bool:
        return bool(self.within or self.between)


def detect_label_switching(draws: Mapping[str, np.ndarray]) -> LabelSwitching:
    """Label switching in ``draws``, within each chain and between chains.

    Within a chain: the order of the labels by location changes from one draw to the
    next. Between chains: two chains' usual orders differ, and some label's per-chain
    means are more than :data:`SEPARATION_SDS` within-chain sds apart; two components
    sitting on top of each other swap order freely without meaning anything, and the
    distance test keeps such chains from being flagged.
    """
    locs = _locations(draws)
    chains, count, k = locs.shape
    orders = np.argsort(locs, axis=-1, kind="stable")
    usual = []
    within = []
    for chain in range(chains):
        rows = [tuple(int(label) for label in row) for row in orders[chain]]
        common = Counter(rows).most_common(1)[0][0]
        usual.append(common)
        changes = int(np.any(orders[chain, 1:] != orders[chain, :-1], axis=-1).sum())
        if changes:
            ranks = np.argsort(orders[chain], axis=-1)  # per draw, label -> its rank
            moved = np.any(ranks != np.argsort(common), axis=0)
            labels = tuple(int(label) for label in np.flatnonzero(moved))
            off = int(np.any(orders[chain] != np.asarray(common), axis=-1).sum())
            within.append(ChainSwitches(chain, changes, off, count, labels))
    means = locs.mean(axis=1)  # (chains, K)
    sds = locs.std(axis=1, ddof=1) if count > 1 else np.zeros_like(means)
    between = []
    for a in range(chains):
        for b in range(a + 1, chains):
            if usual[a] == usual[b]:
                continue
            rank_a = np.argsort(usual[a])  # label -> its rank in chain a's usual order
            rank_b = np.argsort(usual[b])
            labels = tuple(int(label) for label in np.flatnonzero(rank_a != rank_b))
            spread = np.sqrt((sds[a] ** 2 + sds[b] ** 2) / 2)
            apart = np.abs(means[a] - means[b]) / np.where(spread > 0, spread, np.inf)
            separation = float(apart[list(labels)].max())
            if separation > SEPARATION_SDS:
                between.append(
                    SwappedChains(
                        a,
                        b,
                        labels,
                        tuple(float(means[a, label]) for label in labels),
                        tuple(float(means[b, label]) for label in labels),
                        separation,
                    )
                )
    return LabelSwitching(tuple(usual), tuple(within), tuple(between))


def readable_names(sorted_draws: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sorted draws under the page's names: ``lowest location``, ``weight of the lowest location``, ``scale``."""
    k = component_count(sorted_draws)
    out = {}
    for name, values in sorted_draws.items():
        labelled = _LABELLED.match(name)
        if labelled is None:
            out[name] = values
        else:
            rank = rank_name(int(labelled.group(2)), k)
            out[rank if labelled.group(1) == "locs" else f"weight of the {rank}"] = values
    return out


@dataclass(frozen=True)
class LabelFreePosterior:
    """What the page shows of a NUTS run of the mixture, labels taken out.

    :ivar sorted_draws: :func:`sort_by_location` of the run's draws (site names, ranks for labels).
    :ivar summaries: mean, sd, ESS and R-hat of each sorted quantity, under :func:`readable_names`.
    :ivar advice: the run's own advice where no label switched; otherwise the same
        checks on the sorted quantities, whose R-hat is not raised by relabelling.
    :ivar notes: plain words on label switching and what it does to R-hat.
    """

    sorted_draws: dict[str, np.ndarray]
    summaries: dict[str, SiteSummary]
    switching: LabelSwitching
    advice: tuple[Advice, ...]
    notes: tuple[str, ...]


def label_free(result: McmcResult) -> LabelFreePosterior:
    """Sort ``result``'s draws by location, look for label switching, and say what it means."""
    sorted_draws = sort_by_location(result.draws)
    summaries = {name: diagnostics.summarize(values) for name, values in readable_names(sorted_draws).items()}
    switching = detect_label_switching(result.draws)
    if switching.detected:
        advice = tuple(
            diagnostics.advise_mcmc(
                summaries, list(result.chains), result.settings.kernel, result.settings.adapt_step_size
            )
        )
    else:
        advice = result.advice
    notes = explain(switching, result.summaries, sorted_draws, summaries)
    return LabelFreePosterior(sorted_draws, summaries, switching, advice, notes)


def _chain_list(chains: list[int]) -> str:
    words = [str(c + 1) for c in chains]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _label_list(labels: tuple[int, ...]) -> str:
    names = [f"locs[{label}]" for label in labels]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def explain(
    switching: LabelSwitching,
    summaries: Mapping[str, SiteSummary],
    sorted_draws: Mapping[str, np.ndarray],
    sorted_summaries: Mapping[str, SiteSummary],
) -> tuple[str, ...]:
    """Plain words: which chains switched which labels, with the numbers, and what the R-hat
    of the labelled sites (``summaries``, the run's own) means given that."""
    notes = []
    for swap in switching.between:
        held = "; ".join(
            f"{name} averages {a:.2f} in chain {swap.chain_a + 1} but {b:.2f} in chain {swap.chain_b + 1}"
            for name, a, b in zip((f"locs[{label}]" for label in swap.labels), swap.means_a, swap.means_b, strict=True)
        )
        notes.append(
            f"Label switching between chains {swap.chain_a + 1} and {swap.chain_b + 1}: they found the same "
            f"clusters under different labels ({held}; up to {swap.separation_sds:.1f} posterior sds apart)."
        )
    for chain in switching.within:
        notes.append(
            f"Label switching within chain {chain.chain + 1}: the order of its locations changed "
            f"{chain.changes} time{'s' if chain.changes != 1 else ''} ({_label_list(chain.labels)} traded places), "
            f"and {chain.off_order} of its {chain.draws} draws have them in another order than its usual one."
        )
    labelled = {
        name: s.rhat
        for name, s in summaries.items()
        if _LABELLED.match(name) and s.rhat and s.rhat > diagnostics.RHAT_WARN
    }
    rhats = ", ".join(f"{name} ({value:.2f})" for name, value in labelled.items())
    if switching.detected:
        k = component_count(sorted_draws)
        ranked = [name for name in sorted_summaries if name != "scale"]
        worst = max(ranked, key=lambda name: sorted_summaries[name].rhat or 0.0)
        worst_rhat = sorted_summaries[worst].rhat
        per_chain = "; ".join(
            f"{rank_name(rank, k)} "
            + ", ".join(f"{m:.2f}" for m in np.asarray(sorted_draws[f"locs[{rank}]"]).mean(axis=1))
            for rank in range(k)
        )
        chains_word = "per chain" if np.asarray(sorted_draws["locs[0]"]).shape[0] > 1 else "in the one chain"
        if not labelled:
            notes.append(
                "The per-label numbers (locs[0], weights[0], ...) mix different clusters; "
                f"read the label-free posterior below (means {chains_word}: {per_chain})."
            )
        elif worst_rhat is None or worst_rhat <= diagnostics.RHAT_WARN:
            notes.append(
                f"So the high R-hat of {rhats} comes from label switching, not necessarily from a failed "
                f"sampler: sorted by location, the chains agree on the locations and weights (R-hat at most "
                f"{worst_rhat or 1.0:.2f}; "
                f"means {chains_word}: {per_chain})."
            )
        else:
            notes.append(
                f"The high R-hat of {rhats} comes partly from label switching, not necessarily from a failed "
                f"sampler; but even sorted by location the chains disagree (R-hat {worst_rhat:.2f} for the "
                f"{worst}; means {chains_word}: {per_chain}): at least one chain has not found the whole "
                "posterior yet."
            )
    elif labelled:
        notes.append(
            f"No label switching: every chain kept one order of its labels, the same in all chains. So the high "
            f"R-hat of {rhats} is not a labelling effect: the chains disagree, and at least one has not found "
            "the posterior."
        )
    else:
        notes.append(
            "No label switching: every chain kept one order of its labels, the same in all chains, so the "
            "per-label numbers below mean what they say."
        )
    return tuple(notes)
