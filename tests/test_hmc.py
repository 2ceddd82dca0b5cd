"""Inside HMC against an independent float64 leapfrog, the harmonic oscillator's exact facts, and Pyro's kernels."""

import math

import numpy as np
import pyro
import pytest
import torch
from pyro.infer.mcmc import HMC, NUTS

from ppl_models import hmc
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.hmc_nuts import Leaf
from ppl_models.hmc_phase import PYRO_DIVERGENCE_ENERGY, Oscillator, pyro_potential, resonance
from ppl_models.scale import ScaleSettings, exact_posterior


def numpy_leapfrog(query: ScaleSettings, q0: float, p0: float, step: float, steps: int):
    """Velocity Verlet on U(q) = (q - guess)^2 / (2 prior_sd^2) + (m - q)^2 / (2 noise_sd^2), written out.

    Its constants differ from Pyro's U by log terms, which no energy difference sees.
    """

    def grad(q):
        return (q - query.guess) / query.prior_sd**2 - (query.measurement - q) / query.noise_sd**2

    def energy(q, p):
        return (
            (q - query.guess) ** 2 / (2 * query.prior_sd**2)
            + (query.measurement - q) ** 2 / (2 * query.noise_sd**2)
            + p * p / 2
        )

    q, p = float(q0), float(p0)
    qs, ps = [q], [p]
    for _ in range(steps):
        p -= 0.5 * step * grad(q)
        q += step * p
        p -= 0.5 * step * grad(q)
        qs.append(q)
        ps.append(p)
    return np.array(qs), np.array(ps), energy(q, p) - energy(q0, p0)


def random_settings(count: int, seed: int):
    """Settings no page or issue names: model, step (both sides of 2s), steps, start and momentum."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        query = ScaleSettings(
            guess=float(rng.uniform(0, 30)),
            prior_sd=float(rng.uniform(0.2, 5)),
            noise_sd=float(rng.uniform(0.2, 5)),
            measurement=float(rng.uniform(0, 30)),
        )
        limit = 2 * exact_posterior(query).sd
        settings = hmc.HmcSettings(
            step_size=float(round(limit * rng.uniform(0.05, 1.3), 3)),
            num_steps=int(rng.integers(1, 60)),
            start=float(rng.uniform(-5, 35)),
            momentum=float(rng.normal()),
            trajectories=5,
            seed=int(rng.integers(0, 100)),
        )
        yield query, settings


@pytest.mark.parametrize(("query", "settings"), list(random_settings(24, seed=19)))
def test_energy_error_and_acceptance_match_an_independent_leapfrog(query, settings):
    trajectory = hmc.explore(query, settings).trajectory
    qs, ps, error = numpy_leapfrog(query, settings.start, settings.momentum, settings.step_size, settings.num_steps)
    if not math.isfinite(error) or abs(error) > 1e250:
        assert trajectory.diverges
        return
    scale_of_h = 1 + abs(error) + float(np.max(ps**2))
    assert trajectory.energy_error == pytest.approx(error, abs=1e-9 * scale_of_h)
    expected = min(1.0, math.exp(-error)) if error > -700 else 1.0
    assert trajectory.acceptance == pytest.approx(expected, abs=1e-9)
    assert np.allclose(trajectory.q, qs, rtol=1e-10, atol=1e-9)
    assert np.allclose(trajectory.p, ps, rtol=1e-10, atol=1e-9)


def test_pyro_s_potential_is_the_posterior_s_quadratic():
    query = ScaleSettings(guess=4.0, prior_sd=1.7, noise_sd=0.4, measurement=6.5)
    potential = pyro_potential(query)
    oscillator = Oscillator.of(query, potential)
    exact = exact_posterior(query)
    for q in (-3.0, 4.0, 6.1, 20.0):
        pyro_u = float(potential({"weight": torch.tensor(q, dtype=torch.float64)}))
        assert pyro_u == pytest.approx(oscillator.potential(q), rel=1e-12)
        assert pyro_u - oscillator.lowest_potential == pytest.approx((q - exact.mean) ** 2 / (2 * exact.sd**2))


@pytest.mark.parametrize("query", [ScaleSettings(), ScaleSettings(guess=2, prior_sd=3, noise_sd=2.2, measurement=9)])
def test_the_stability_limit_is_two_posterior_sds_on_both_sides(query):
    s = exact_posterior(query).sd
    many = 400
    below = hmc.explore(query, hmc.HmcSettings(step_size=1.95 * s, num_steps=many, momentum=1.0, trajectories=1))
    above = hmc.explore(query, hmc.HmcSettings(step_size=2.05 * s, num_steps=many, momentum=1.0, trajectories=1))
    assert below.oscillator.stability_limit == pytest.approx(2 * s)
    assert below.oscillator.turn_per_step(1.95 * s) is not None
    assert above.oscillator.turn_per_step(2.05 * s) is None
    # Below the limit the energy error stays in a band however long the trajectory; above, it explodes.
    start_energy = below.trajectory.energy[0]
    band = np.max(np.abs(below.trajectory.energy - start_energy))
    assert band < 200 * (1 + start_energy - below.oscillator.lowest_potential)
    assert not below.trajectory.diverges
    assert above.trajectory.diverges and not above.trajectory.energy_error < 1e20


def test_resonance_at_the_lecture_s_setting():
    """0.9 x 4 = 3.6 against 2 pi x 0.6 = 3.77: every trajectory returns near its start."""
    turns = hmc.explore(ScaleSettings(), hmc.HmcSettings()).resonance
    assert turns.length == pytest.approx(3.6)
    assert turns.period == pytest.approx(2 * math.pi * 0.6)
    assert turns.exact_turns == pytest.approx(3.6 / (2 * math.pi * 0.6))
    assert turns.returns_near_start and not turns.lands_near_mirror


@pytest.mark.parametrize(("query", "settings"), list(random_settings(10, seed=7)))
def test_the_draw_correlation_is_leapfrog_s_own_map(query, settings):
    """From momentum 0, leapfrog carries q - mean to cos(steps x theta)(q - mean): the stated correlation."""
    oscillator = Oscillator.of(query, pyro_potential(query))
    turns = resonance(oscillator, settings.step_size, settings.num_steps)
    qs, _, _ = numpy_leapfrog(query, oscillator.mean + 1.0, 0.0, settings.step_size, settings.num_steps)
    if turns.draw_correlation is None:
        assert settings.step_size >= oscillator.stability_limit
        return
    assert qs[-1] - oscillator.mean == pytest.approx(turns.draw_correlation, abs=1e-8)
    if turns.returns_near_start:
        assert turns.draw_correlation > math.cos(2 * math.pi * 0.1) - 1e-12


def test_a_half_period_lands_on_the_mirror_and_a_short_one_barely_moves():
    query = ScaleSettings()
    s = exact_posterior(query).sd
    oscillator = Oscillator.of(query, pyro_potential(query))
    half = resonance(oscillator, 0.05 * s, round(math.pi / 0.05))
    assert half.lands_near_mirror and half.draw_correlation < -0.95
    short = resonance(oscillator, 0.05 * s, 1)
    assert short.too_short and not short.returns_near_start


@pytest.mark.parametrize(
    ("query", "settings"),
    [
        (ScaleSettings(), hmc.HmcSettings(trajectories=60)),
        (ScaleSettings(guess=3, prior_sd=2, noise_sd=1.1, measurement=7), hmc.HmcSettings(0.5, 3, 1.0, None, 40, 11)),
        (ScaleSettings(), hmc.HmcSettings(step_size=1.4, num_steps=5, trajectories=30, seed=3)),
    ],
)
def test_the_chain_is_pyro_s_hmc_kernel_draw_for_draw(query, settings):
    chain = hmc.explore(query, settings).chain
    potential = pyro_potential(query)
    kernel = HMC(
        potential_fn=potential, step_size=settings.step_size, num_steps=settings.num_steps, adapt_step_size=False
    )
    kernel.initial_params = {"weight": torch.tensor(settings.start, dtype=torch.float64)}
    kernel.setup(warmup_steps=0)
    pyro.set_rng_seed(settings.seed)
    state, draws = dict(kernel.initial_params), []
    for _ in range(settings.trajectories):
        state = kernel.sample(state)
        draws.append(float(state["weight"]))
    assert np.array_equal(chain.draws, np.array(draws))
    assert chain.acceptance_rate == pytest.approx(kernel.diagnostics()["acceptance rate"])


def test_the_first_proposal_is_the_trajectory_shown():
    explored = hmc.explore(ScaleSettings(measurement=11.0), hmc.HmcSettings(step_size=0.4, num_steps=6, seed=9))
    assert explored.trajectory.momentum_drawn
    assert explored.chain.proposals[0] == explored.trajectory.q[-1]
    assert explored.tree.start_p == explored.trajectory.p[0]


def test_a_well_tuned_chain_finds_the_exact_posterior():
    query = ScaleSettings(guess=5, prior_sd=2, noise_sd=1, measurement=8)
    exact = exact_posterior(query)
    chain = hmc.explore(query, hmc.HmcSettings(step_size=0.35, num_steps=4, start=6.0, trajectories=2000, seed=1)).chain
    assert chain.summary.ess > 300
    assert abs(chain.summary.mean - exact.mean) < 4 * chain.summary.mcse
    assert chain.summary.sd == pytest.approx(exact.sd, rel=0.1)
    assert chain.advice == ()


def test_an_unstable_chain_says_it_diverged_and_stays_put():
    chain = hmc.explore(ScaleSettings(), hmc.HmcSettings(step_size=1.5, num_steps=30, trajectories=20)).chain
    assert chain.divergences == 20 and chain.acceptance_rate == 0
    problems = " ".join(advice.problem for advice in chain.advice)
    assert "20 of 20 trajectories diverged" in problems and "Only 0% of the proposals" in problems


@pytest.mark.parametrize(
    "settings",
    [
        hmc.HmcSettings(),
        hmc.HmcSettings(step_size=0.05, num_steps=1, start=14.0, seed=4),
        hmc.HmcSettings(step_size=0.3, momentum=-2.5, start=9.0, seed=2),
        hmc.HmcSettings(step_size=1.3, momentum=0.4, seed=5),
    ],
)
def test_the_nuts_tree_is_pyro_s_and_stops_where_pyro_s_test_says(settings):
    query = ScaleSettings()
    tree = hmc.explore(query, settings).tree
    potential = pyro_potential(query)
    # Pyro's own kernel from the same seed (and, when given, momentum) returns the same draw.
    kernel_class = NUTS
    if settings.momentum is not None:
        given = torch.tensor(settings.momentum, dtype=torch.float64)

        class kernel_class(NUTS):  # noqa: N801
            def _sample_r(self, name):
                r, unscaled = super()._sample_r(name)
                return {k: given.reshape(v.shape) for k, v in r.items()}, {
                    k: given.reshape(v.shape) for k, v in unscaled.items()
                }

    kernel = kernel_class(potential_fn=potential, step_size=settings.step_size, adapt_step_size=False)
    kernel.initial_params = {"weight": torch.tensor(settings.start, dtype=torch.float64)}
    kernel.setup(warmup_steps=0)
    pyro.set_rng_seed(settings.seed)
    assert float(kernel.sample(dict(kernel.initial_params))["weight"]) == tree.proposal
    # Every leaf is leapfrog's state that many steps from the start, forwards or backwards.
    span = max(abs(leaf.index) for leaf in tree.leaves)
    forward_q, forward_p, _ = numpy_leapfrog(query, tree.start_q, tree.start_p, settings.step_size, span)
    backward_q, backward_p, _ = numpy_leapfrog(query, tree.start_q, tree.start_p, -settings.step_size, span)
    for leaf in tree.leaves:
        qs, ps = (forward_q, forward_p) if leaf.index > 0 else (backward_q, backward_p)
        if abs(ps[abs(leaf.index)]) < 1e12:
            assert leaf.q == pytest.approx(qs[abs(leaf.index)], rel=1e-9, abs=1e-9)
            assert leaf.p == pytest.approx(ps[abs(leaf.index)], rel=1e-9, abs=1e-9)
    assert sorted(leaf.index for leaf in tree.leaves) == sorted(set(leaf.index for leaf in tree.leaves)), (
        "each step is made once"
    )
    assert sum(d.leaves for d in tree.doublings) == tree.steps
    # The U-turn test, recomputed from the leaves: the whole tree's ends and momentum sum.
    for number, doubling in enumerate(tree.doublings):
        if doubling.rho_left is None:
            continue
        start = Leaf(0, tree.start_q, tree.start_p, tree.start_energy, -1)
        so_far = [start, *(leaf for leaf in tree.leaves if leaf.doubling <= number)]
        left, right = min(so_far, key=lambda leaf: leaf.index), max(so_far, key=lambda leaf: leaf.index)
        rho = sum(leaf.p for leaf in so_far) - (left.p + right.p) / 2
        assert doubling.rho_left == pytest.approx(left.p * rho, rel=1e-9, abs=1e-12)
        assert doubling.rho_right == pytest.approx(right.p * rho, rel=1e-9, abs=1e-12)
        assert doubling.u_turn == (min(left.p * rho, right.p * rho) <= 0 or doubling.sub_tree_turned)
    assert all(not d.u_turn and not d.diverged for d in tree.doublings[:-1])
    assert tree.stop_reason in ("u-turn", "divergence", "max depth")


def test_a_tiny_step_grows_the_tree_to_pyro_s_largest():
    """Half the period of a posterior with sd 7.07 is about 2,200 steps of 0.01: more than Pyro's tree holds."""
    wide = ScaleSettings(prior_sd=10.0, noise_sd=10.0)
    tree = hmc.explore(wide, hmc.HmcSettings(step_size=0.01, start=12.0, momentum=1.0, trajectories=1)).tree
    assert tree.stop_reason == "max depth" and tree.steps == 2**tree.max_depth - 1


def test_pyro_counts_a_divergence_past_the_same_energy():
    def flat(_):
        return torch.tensor(0.0)

    assert HMC(potential_fn=flat)._max_sliced_energy == PYRO_DIVERGENCE_ENERGY
    assert NUTS(potential_fn=flat)._max_sliced_energy == PYRO_DIVERGENCE_ENERGY


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (hmc.HmcSettings(step_size=0.0), "step size must be a positive number"),
        (hmc.HmcSettings(step_size=-0.5), "step size must be a positive number"),
        (hmc.HmcSettings(step_size=float("nan")), "step size must be a positive number"),
        (hmc.HmcSettings(num_steps=0), "1 to 1,000 leapfrog steps"),
        (hmc.HmcSettings(num_steps=5000), "1 to 1,000 leapfrog steps"),
        (hmc.HmcSettings(start=float("inf")), "start must be a finite weight"),
        (hmc.HmcSettings(momentum=float("nan")), "momentum must be a finite number"),
        (hmc.HmcSettings(momentum=1e6), "momentum must be a finite number"),
        (hmc.HmcSettings(trajectories=0), "1 to 2,000 trajectories"),
    ],
)
def test_bad_settings_get_a_clear_message(settings, said):
    with pytest.raises(InferenceError, match=said):
        hmc.explore(ScaleSettings(), settings)


def test_a_chain_past_the_server_s_share_is_not_run_and_says_why():
    explored = hmc.explore(ScaleSettings(), hmc.HmcSettings(num_steps=1000, trajectories=2000))
    assert explored.chain is None
    assert "2,000,000 leapfrog steps" in explored.chain_problem and "20,000" in explored.chain_problem
    assert len(explored.trajectory.q) == 1001
