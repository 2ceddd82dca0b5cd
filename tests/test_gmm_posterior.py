"""The mixture's posterior without labels: sorting draws by location, and finding label switching."""

import numpy as np
import pytest

from ppl_models import gmm
from ppl_models.engine import diagnostics
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.gmm_posterior import (
    SEPARATION_SDS,
    detect_label_switching,
    explain,
    label_free,
    rank_name,
    readable_names,
    sort_by_location,
)

# The lecture's MAP (ppl_models/gmm.py's docstring), lowest location first.
LECTURE_MAP_LOCS = (0.50, 10.98)


def lecture_like_chain(rng, draws=200, swapped=False):
    """Draws of a two-component fit near the lecture's MAP; ``swapped`` puts the labels the other way round."""
    low = rng.normal(0.5, 0.4, draws)
    high = rng.normal(11.0, 0.4, draws)
    weight_low = rng.beta(30, 50, draws)
    locs = (high, low) if swapped else (low, high)
    weights = (1 - weight_low, weight_low) if swapped else (weight_low, 1 - weight_low)
    return {
        "locs[0]": locs[0],
        "locs[1]": locs[1],
        "weights[0]": weights[0],
        "weights[1]": weights[1],
        "scale": rng.lognormal(np.log(0.65), 0.2, draws),
    }


def stack(*chains):
    return {name: np.stack([chain[name] for chain in chains]) for name in chains[0]}


@pytest.fixture
def swapped_chains():
    rng = np.random.default_rng(0)
    return stack(lecture_like_chain(rng, swapped=True), lecture_like_chain(rng))


def test_chains_with_swapped_labels_are_flagged(swapped_chains):
    found = detect_label_switching(swapped_chains)
    assert found.detected
    assert found.within == ()  # each chain kept its own order throughout
    assert found.usual_orders == ((1, 0), (0, 1))
    (swap,) = found.between
    assert (swap.chain_a, swap.chain_b, swap.labels) == (0, 1, (0, 1))
    np.testing.assert_allclose(swap.means_a, [11.0, 0.5], atol=0.1)
    np.testing.assert_allclose(swap.means_b, [0.5, 11.0], atol=0.1)
    assert swap.separation_sds > 10 * SEPARATION_SDS


def test_sorting_gives_both_chains_the_same_locations_each_with_its_own_weight(swapped_chains):
    ranked = sort_by_location(swapped_chains)
    assert set(ranked) == set(swapped_chains)
    means = ranked["locs[0]"].mean(axis=1), ranked["locs[1]"].mean(axis=1)
    np.testing.assert_allclose(means[0], [0.5, 0.5], atol=0.1)
    np.testing.assert_allclose(means[1], [11.0, 11.0], atol=0.1)
    assert np.all(ranked["locs[0]"] <= ranked["locs[1]"])
    # The weight travelled with its location: in chain 0, label 1 was the low one.
    np.testing.assert_array_equal(ranked["weights[0]"][0], swapped_chains["weights[1]"][0])
    np.testing.assert_array_equal(ranked["weights[0]"][1], swapped_chains["weights[0]"][1])
    np.testing.assert_array_equal(ranked["scale"], swapped_chains["scale"])
    # Per label, the chains disagree wildly; per rank, they agree.
    assert diagnostics.split_rhat(swapped_chains["locs[0]"]) > 10
    assert diagnostics.split_rhat(ranked["locs[0]"]) < diagnostics.RHAT_WARN


def test_chains_in_the_same_order_are_not_flagged():
    rng = np.random.default_rng(1)
    draws = stack(lecture_like_chain(rng), lecture_like_chain(rng))
    found = detect_label_switching(draws)
    assert not found.detected
    assert found.usual_orders == ((0, 1), (0, 1))
    ranked = sort_by_location(draws)
    for name in draws:
        np.testing.assert_array_equal(ranked[name], draws[name])


def test_a_chain_that_swaps_halfway_is_flagged_with_its_number_of_changes():
    rng = np.random.default_rng(2)
    first, second = lecture_like_chain(rng, draws=100), lecture_like_chain(rng, draws=100, swapped=True)
    crossing = {name: np.concatenate([first[name], second[name]]) for name in first}
    draws = stack(lecture_like_chain(rng), crossing)
    found = detect_label_switching(draws)
    (chain,) = found.within
    assert (chain.chain, chain.changes, chain.labels, chain.draws) == (1, 1, (0, 1), 200)
    assert chain.off_order == 100


def test_components_on_top_of_each_other_are_not_called_swapped_between_chains():
    # Both labels at the same place: their order flips from draw to draw and each chain's
    # usual order is a coin toss, but no label sits elsewhere in one chain than in another.
    rng = np.random.default_rng(3)
    draws = {f"locs[{i}]": rng.normal(5.0, 1.0, (2, 300)) for i in range(2)}
    draws["scale"] = rng.lognormal(0.0, 0.1, (2, 300))
    assert detect_label_switching(draws).between == ()


def test_three_components_sort_and_name_their_ranks():
    rng = np.random.default_rng(4)
    locs = rng.normal([-5.0, 0.0, 5.0], 0.3, (2, 50, 3))
    draws = {f"locs[{i}]": locs[..., perm] for i, perm in enumerate([2, 0, 1])}
    ranked = sort_by_location(draws)
    np.testing.assert_allclose([ranked[f"locs[{r}]"].mean() for r in range(3)], [-5, 0, 5], atol=0.2)
    assert [rank_name(r, 3) for r in range(3)] == ["lowest location", "2nd lowest location", "highest location"]
    assert rank_name(0, 1) == "location"
    assert rank_name(4, 6) == "5th lowest location"


def test_the_words_name_the_chains_labels_and_the_cause_of_the_high_r_hat(swapped_chains):
    found = detect_label_switching(swapped_chains)
    ranked = sort_by_location(swapped_chains)
    summaries = {name: diagnostics.summarize(d) for name, d in swapped_chains.items()}
    ranked_summaries = {name: diagnostics.summarize(d) for name, d in readable_names(ranked).items()}
    notes = " ".join(explain(found, summaries, ranked, ranked_summaries))
    assert "Label switching between chains 1 and 2" in notes
    (swap,) = found.between
    assert f"locs[0] averages {swap.means_a[0]:.2f} in chain 1 but {swap.means_b[0]:.2f} in chain 2" in notes
    assert "comes from label switching, not necessarily from a failed sampler" in notes
    assert f"locs[0] ({summaries['locs[0]'].rhat:.2f})" in notes


def test_without_switching_a_high_r_hat_means_the_chains_disagree():
    rng = np.random.default_rng(5)
    stuck = lecture_like_chain(rng)
    stuck["locs[1]"] = stuck["locs[1]"] + 5  # the same label order, another place
    draws = stack(lecture_like_chain(rng), stuck)
    found = detect_label_switching(draws)
    assert not found.detected
    summaries = {name: diagnostics.summarize(d) for name, d in draws.items()}
    ranked = sort_by_location(draws)
    ranked_summaries = {name: diagnostics.summarize(d) for name, d in readable_names(ranked).items()}
    (note,) = explain(found, summaries, ranked, ranked_summaries)
    assert note.startswith("No label switching")
    assert "the chains disagree" in note and "locs[1] (" in note


def test_nuts_on_the_lecture_data_sorts_into_the_lecture_clusters():
    result = gmm.sample_posterior(
        gmm.LECTURE_DATA,
        gmm.GmmPrior(),
        2,
        McmcSettings(kernel="nuts", num_samples=100, warmup_steps=100, num_chains=2, max_tree_depth=5),
    )
    view = label_free(result)
    ranked = view.sorted_draws
    assert np.all(ranked["locs[0]"] <= ranked["locs[1]"])
    np.testing.assert_allclose(ranked["weights[0]"] + ranked["weights[1]"], 1.0, rtol=1e-5)
    for rank, target in enumerate(LECTURE_MAP_LOCS):
        summary = view.summaries[rank_name(rank, 2)]
        # The MAP is the posterior's mode, not its mean: with five points the posterior is
        # wide and skewed toward a collapsed fit (one broad component over all the data),
        # so the mean is held to within one posterior sd of the MAP, read from the draws;
        # and that sd to well under the distance between the two clusters, so the check
        # still tells the clusters apart.
        assert abs(summary.mean - target) < summary.sd, (rank, summary)
        assert summary.sd < (LECTURE_MAP_LOCS[1] - LECTURE_MAP_LOCS[0]) / 4
    assert view.notes  # a run always says whether labels switched
