"""Open-world programs: the exact answers, Pyro's estimates beside them, the traces, and the bounds."""

import math

import numpy as np
import pyro
import pytest
import torch
from scipy import stats

from ppl_models import open_world as ow
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.sampling import run_likelihood_weighting
from ppl_models.open_world import OpenWorldSettings

# Far beyond any Poisson mass that matters for the rates below (rate 40 has P(X > 200) ~ 1e-70).
BOUND = 200
DRAWS = 20_000
SEEDS = (0, 1)
# Not the page's defaults (rate 3, end 2): small, medium and large rates, ends on both sides.
WALK_SETTINGS = [(0.5, 1.3), (3.0, -4.0), (12.5, 7.0), (12.5, 1.3), (40.0, 0.0)]
BRANCH_SETTINGS = [(0.5, 0.3), (0.2, -1.7), (0.9, 2.5)]


def direct_walk_posterior(rate, end):
    """P(X = k | end) by summing the definition: Poisson(k; rate) x Normal(end; 0, sqrt(max(k, 1)))."""
    k = np.arange(BOUND + 1)
    joint = stats.poisson.pmf(k, rate) * stats.norm.pdf(end, 0.0, np.sqrt(np.maximum(k, 1)))
    return joint / joint.sum()


def exact_mean(rate, end):
    post = direct_walk_posterior(rate, end)
    return float(np.sum(np.arange(len(post)) * post))


def padded(values, size=BOUND + 1):
    return np.pad(values, (0, size - len(values)))


# Exact answers.


@pytest.mark.parametrize("rate", [0.5, 3.0, 12.5, 40.0])
@pytest.mark.parametrize("end", [-4.0, 0.0, 1.3, 7.0])
def test_walk_posterior_matches_direct_summation(rate, end):
    computed = ow.walk_posterior(rate, end)
    expected = direct_walk_posterior(rate, end)
    assert computed.sum() == pytest.approx(1.0, abs=1e-12)
    # The sums stop at longest_walk(rate); the posterior mass beyond it is below 1e-8 on this grid.
    np.testing.assert_allclose(padded(computed), expected, rtol=1e-7, atol=1e-8)
    mean = float(np.sum(np.arange(len(computed)) * computed))
    assert mean == pytest.approx(exact_mean(rate, end), rel=1e-8)


def test_walk_posterior_keeps_its_mass_for_a_far_end():
    computed = ow.walk_posterior(0.5, 20.0)
    mean = float(np.sum(np.arange(len(computed)) * computed))
    assert mean == pytest.approx(exact_mean(0.5, 20.0), rel=1e-4)


def test_walk_posterior_values_by_hand():
    # rate 3, end 0: the weights are Poisson(k; 3) / sqrt(max(k, 1)); k = 0 and k = 1 share Normal(0; 0, 1).
    post = ow.walk_posterior(3.0, 0.0)
    weights = np.array([math.exp(-3) * 3**k / math.factorial(k) / math.sqrt(max(k, 1)) for k in range(60)])
    assert post[0] / post[1] == pytest.approx(1 / 3, rel=1e-12)
    assert post[4] / post[2] == pytest.approx(weights[4] / weights[2], rel=1e-12)
    # A far end makes long walks likelier than the prior says.
    far = ow.walk_posterior(3.0, 7.0)
    assert np.sum(np.arange(len(far)) * far) > np.sum(np.arange(len(post)) * post)


@pytest.mark.parametrize("rate", [0.5, 3.0, 12.5, 40.0, ow.RATE_MAX])
def test_site_count_pmf_is_the_law_of_max_x_1(rate):
    counts = ow.site_count_pmf(rate)
    n = np.arange(BOUND + 1)
    expected = np.array([stats.poisson.pmf(0, rate) + stats.poisson.pmf(1, rate) if v == 1 else 0.0 for v in n])
    expected[2:] = stats.poisson.pmf(n[2:], rate)
    assert counts[0] == 0.0
    assert counts.sum() == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(padded(counts), expected, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("rate", [0.5, 3.0, 12.5, 40.0])
def test_longest_walk_leaves_only_a_negligible_tail(rate):
    k = ow.longest_walk(rate)
    assert stats.poisson.sf(k, rate) < 1e-11
    assert stats.poisson.sf(k - 2, rate) > 1e-13


@pytest.mark.parametrize(("p", "y"), [*BRANCH_SETTINGS, (0.5, 0.0), (0.01, 4.0)])
def test_branch_exact_by_bayes_rule(p, y):
    answers = ow.branch_exact(p, y)
    density = stats.norm.pdf(y)
    assert answers["Y was made, = y"] == 1.0
    assert answers["no Y was made"] == 0.0
    assert answers["Y only"] == pytest.approx(p * density / (p * density + 1 - p), rel=1e-12)


def test_branch_exact_edge_cases():
    never = ow.branch_exact(0.0, 0.7)
    assert math.isnan(never["Y was made, = y"])  # impossible evidence: no run makes a Y
    assert never["no Y was made"] == 0.0
    assert never["Y only"] == 0.0
    always = ow.branch_exact(1.0, 0.7)
    assert always["Y was made, = y"] == 1.0
    assert math.isnan(always["no Y was made"])  # impossible evidence: every run makes a Y
    assert always["Y only"] == 1.0
    # Y only, and y far out: the density underflows, the answer falls to 0 for p < 1.
    assert ow.branch_exact(0.5, 60.0)["Y only"] == pytest.approx(0.0, abs=1e-300)


# Pyro's estimates beside the exact answers.


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("rate", "end"), WALK_SETTINGS)
def test_walk_posterior_estimates_are_within_four_standard_errors(rate, end, seed):
    result = ow.explore(OpenWorldSettings(rate=rate, end=end), DRAWS, seed, device="cpu")
    posterior = result.walk_posterior
    assert posterior.draws == DRAWS
    assert posterior.mean.exact == pytest.approx(exact_mean(rate, end), rel=1e-8)
    assert posterior.mean.within(4), posterior.mean
    assert posterior.estimate.sum() == pytest.approx(1.0, abs=1e-9)
    shown = posterior.exact > 0.02
    assert shown.sum() >= 2
    for k in np.flatnonzero(shown):
        gap = abs(posterior.estimate[k] - posterior.exact[k])
        assert gap <= 4 * posterior.standard_error[k], (k, posterior.estimate[k], posterior.exact[k])
    assert 1 <= posterior.ess <= DRAWS


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.5, 12.5, 40.0])
def test_share_of_runs_by_length_matches_site_count_pmf(rate, seed):
    runs = ow.explore(OpenWorldSettings(rate=rate, end=-1.0), DRAWS, seed, device="cpu").walk_runs
    assert runs.length_share.sum() == pytest.approx(1.0)
    assert runs.length_share[0] == 0.0  # every walk makes at least one value
    exact = padded(ow.site_count_pmf(rate), len(runs.length_share))
    np.testing.assert_allclose(runs.exact_length, ow.site_count_pmf(rate))
    for n, (share, p) in enumerate(zip(runs.length_share, exact, strict=True)):
        binomial_se = math.sqrt(p * (1 - p) / DRAWS)
        assert abs(share - p) <= 4 * binomial_se + 1e-12, (n, share, p)


@pytest.mark.parametrize("seed", SEEDS)
def test_walk_paths_have_max_x_1_values_and_ends_spread_like_their_length(seed):
    rate = 2.5
    runs = ow.explore(OpenWorldSettings(rate=rate, end=0.5), DRAWS, seed, device="cpu").walk_runs
    # The same draws again, to read X itself: length is max(X, 1).
    drawn = run_likelihood_weighting(ow.walk_plate, (rate,), DRAWS, seed, device="cpu")
    np.testing.assert_array_equal(runs.lengths, np.maximum(drawn.samples["X"], 1))
    np.testing.assert_array_equal(runs.ends, drawn.samples["end"])
    assert len(runs.paths) == 30
    for run, path in enumerate(runs.paths):
        assert len(path) == runs.lengths[run]
        assert path[-1] == runs.ends[run]
        steps = [drawn.samples[f"Y_{i}"][run] for i in range(len(path) - 1)]
        np.testing.assert_array_equal(path[:-1], steps)
    # The end of a walk of k values is a sum of k standard normals: variance k.
    for k in range(1, 5):
        ends = runs.ends[runs.lengths == k]
        assert len(ends) > 500
        # Standard error of a sample variance of normals: k sqrt(2 / (m - 1)).
        assert abs(ends.var(ddof=1) - k) <= 4 * k * math.sqrt(2 / (len(ends) - 1)), (k, ends.var(ddof=1))
        assert abs(ends.mean()) <= 4 * math.sqrt(k / len(ends))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("p", "y"), BRANCH_SETTINGS)
def test_branch_answers(p, y, seed):
    result = ow.explore(OpenWorldSettings(model="branch", p=p, end=y), DRAWS, seed, device="cpu")
    assert result.walk_runs is None and result.walk_posterior is None
    answers = result.branch.answers
    assert answers["Y was made, = y"].value == pytest.approx(1.0, abs=1e-12)
    assert answers["no Y was made"].value == pytest.approx(0.0, abs=1e-12)
    only = answers["Y only"]
    assert only.exact == pytest.approx(ow.branch_exact(p, y)["Y only"])
    assert only.within(4), only
    assert abs(result.branch.share_with_y - p) <= 4 * math.sqrt(p * (1 - p) / DRAWS)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_branch_with_impossible_evidence_leaves_that_answer_out(p):
    answers = ow.explore(OpenWorldSettings(model="branch", p=p, end=0.4), 2_000, 0, device="cpu").branch.answers
    impossible = "Y was made, = y" if p == 0 else "no Y was made"
    assert impossible not in answers
    assert answers["Y only"].value == pytest.approx(p, abs=1e-12)


@pytest.mark.parametrize(("rate", "end", "seed"), [(4.0, 3.0, 0), (1.5, -2.5, 1)])
def test_pyro_importance_on_the_honest_program_agrees(rate, end, seed):
    """Pyro's own importance sampler over the Python-control-flow ``walk``: the same posterior."""
    pyro.set_rng_seed(seed)
    # The observed end goes in as a tensor: torch's validation refuses a float as a log_prob value.
    posterior = pyro.infer.Importance(ow.walk, guide=None, num_samples=3_000).run(rate, torch.tensor(end))
    log_weights = torch.stack([torch.as_tensor(w) for w in posterior.log_weights]).double()
    weights = torch.exp(log_weights - torch.logsumexp(log_weights, 0)).numpy()
    x = np.array([float(trace.nodes["X"]["value"]) for trace in posterior.exec_traces])
    # Each trace ends at its own Y_{n-1}, observed: the set of sites differs from run to run.
    for trace, value in zip(posterior.exec_traces[:50], x[:50], strict=True):
        n = max(int(value), 1)
        names = [name for name, site in trace.nodes.items() if site["type"] == "sample"]
        assert names == ["X", *(f"Y_{i}" for i in range(n))]
        assert trace.nodes[f"Y_{n - 1}"]["is_observed"]
    mean = float(np.sum(weights * x))
    standard_error = float(np.sqrt(np.sum(weights**2 * (x - mean) ** 2)))
    exact = exact_mean(rate, end)
    assert abs(mean - exact) <= 4 * standard_error, (mean, exact, standard_error)
    # Pyro's marginal of X says the same as the weights.
    marginal = pyro.infer.EmpiricalMarginal(posterior, sites="X")
    assert float(marginal.mean) == pytest.approx(mean, rel=1e-6)
    # And the page's vectorised answer agrees with both.
    page = ow.explore(OpenWorldSettings(rate=rate, end=end), DRAWS, seed, device="cpu").walk_posterior.mean
    assert page.exact == pytest.approx(exact, rel=1e-8)
    assert abs(page.value - mean) <= 4 * math.hypot(page.standard_error, standard_error)


def test_the_honest_walk_takes_a_float_end():
    pyro.infer.Importance(ow.walk, guide=None, num_samples=5).run(3.0, 2.0)


# The listed traces.


def test_listed_traces_hold_different_sets_of_sites():
    traces = ow.listed_traces(OpenWorldSettings(rate=3.0), seed=0)
    assert len(traces) == ow.LISTED_TRACES
    for trace in traces:
        n = max(int(trace["X"]), 1)
        assert list(trace) == ["X", *(f"Y_{i}" for i in range(n))]
        assert trace["X"] == int(trace["X"]) >= 0
    assert len({frozenset(trace) for trace in traces}) > 1
    assert traces == ow.listed_traces(OpenWorldSettings(rate=3.0), seed=0)
    assert traces != ow.listed_traces(OpenWorldSettings(rate=3.0), seed=1)


def test_listed_branch_traces_have_y_only_when_x_is_one():
    traces = [t for seed in range(3) for t in ow.listed_traces(OpenWorldSettings(model="branch", p=0.5), seed)]
    for trace in traces:
        assert set(trace) == ({"X", "Y"} if trace["X"] == 1 else {"X"})
    assert {len(trace) for trace in traces} == {1, 2}
    assert traces[:6] == list(ow.listed_traces(OpenWorldSettings(model="branch", p=0.5), 0))


def test_explore_lists_traces_from_their_own_seeds():
    result = ow.explore(OpenWorldSettings(rate=3.0), 1_000, 5, device="cpu")
    assert result.trace_seeds == tuple(ow.trace_seed(5, i) for i in range(ow.LISTED_TRACES))
    assert result.traces == ow.listed_traces(OpenWorldSettings(rate=3.0), 5)
    assert result.device == "cpu"


# Bad input.


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (OpenWorldSettings(rate=0.0), ["rate", "above 0", "at most 50"]),
        (OpenWorldSettings(rate=-2.0), ["rate", "above 0"]),
        (OpenWorldSettings(rate=ow.RATE_MAX + 0.5), ["rate", "at most 50", "sample sites"]),
        (OpenWorldSettings(end=math.nan), ["finite"]),
        (OpenWorldSettings(rate=math.inf), ["finite"]),
        (OpenWorldSettings(model="branch", p=-0.1), ["probability", "between 0 and 1"]),
        (OpenWorldSettings(model="branch", p=1.2), ["probability", "between 0 and 1"]),
        (OpenWorldSettings(model="tree"), ["model", "walk", "branch"]),
    ],
)
def test_bad_settings_raise_a_clear_error(settings, words):
    with pytest.raises(InferenceError) as raised:
        settings.check()
    for word in words:
        assert word in str(raised.value)
    with pytest.raises(InferenceError):
        ow.explore(settings, 100, 0, device="cpu")


@pytest.mark.parametrize("draws", [0, -5, ow.MAX_DRAWS + 1])
def test_bad_draw_counts_raise(draws):
    with pytest.raises(InferenceError, match="number of draws must be between 1 and 50,000"):
        ow.check_draws(OpenWorldSettings(), draws)
    with pytest.raises(InferenceError, match="number of draws"):
        ow.explore(OpenWorldSettings(), draws, 0, device="cpu")


def test_too_many_site_values_raise_before_drawing():
    settings = OpenWorldSettings(rate=ow.RATE_MAX)
    longest = ow.longest_walk(ow.RATE_MAX)
    too_many = ow.MAX_SITE_VALUES // longest + 1
    assert too_many <= ow.MAX_DRAWS  # the cap bites inside the allowed draws
    with pytest.raises(InferenceError) as raised:
        ow.check_draws(settings, too_many)
    message = str(raised.value)
    for words in [
        "walks of rate 50",
        f"{too_many * longest:,}",
        f"{ow.MAX_SITE_VALUES:,}",
        "fewer draws or a smaller rate",
    ]:
        assert words in message
    ow.check_draws(settings, ow.MAX_SITE_VALUES // longest)  # exactly at the cap is allowed
    # The branch makes at most two sites a run: no such cap.
    ow.check_draws(OpenWorldSettings(model="branch", rate=ow.RATE_MAX), ow.MAX_DRAWS)


def test_the_largest_allowed_walk_runs():
    settings = OpenWorldSettings(rate=ow.RATE_MAX, end=3.0)
    draws = ow.MAX_SITE_VALUES // ow.longest_walk(ow.RATE_MAX) // 10
    result = ow.explore(settings, draws, 0, device="cpu")
    assert result.walk_posterior.mean.exact == pytest.approx(exact_mean(ow.RATE_MAX, 3.0), rel=1e-8)
    assert result.walk_posterior.mean.within(4)
