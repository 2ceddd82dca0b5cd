"""The variational terms of the scale model against numerical integration (issue 18)."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ppl_models import vi_exact as vi

# (prior, measurements): one weighing, as the lecture's, and several of one object.
CASES = [
    (vi.Prior(10.0, 1.0, 0.75), [14.0]),
    (vi.Prior(3.0, 2.5, 1.7), [-4.2]),
    (vi.Prior(0.0, 0.3, 4.0), [1.2, 0.4, 2.9, 1.1]),
    (vi.Prior(20.0, 5.0, 0.2), list(np.linspace(17.0, 19.0, 25))),
]
SETTINGS = [(prior, vi.Measurements.of(values)) for prior, values in CASES]
VALUES = {id(data): np.asarray(values) for (_, values), (_, data) in zip(CASES, SETTINGS, strict=True)}
GUIDES = [(12.0, 0.5), (9.0, 2.0), (0.7, 0.05)]


def log_joint(prior, values, weight):
    return stats.norm.logpdf(weight, prior.guess, prior.prior_sd) + np.sum(
        stats.norm.logpdf(np.asarray(values)[:, None], weight, prior.noise_sd), axis=0
    )


def values_of(data: vi.Measurements) -> np.ndarray:
    return VALUES[id(data)]


@pytest.mark.parametrize(("prior", "data"), SETTINGS)
def test_log_evidence_is_the_integral_of_the_joint(prior, data):
    values = values_of(data)
    mean, sd = vi.posterior(prior, data)
    offset = float(log_joint(prior, values, np.array([mean]))[0])
    integral, _ = integrate.quad(
        lambda w: math.exp(float(log_joint(prior, values, np.array([w]))[0]) - offset), mean - 12 * sd, mean + 12 * sd
    )
    assert vi.log_evidence(prior, data) == pytest.approx(offset + math.log(integral), abs=1e-8)


@pytest.mark.parametrize(("prior", "data"), SETTINGS)
@pytest.mark.parametrize(("loc", "scale"), GUIDES)
def test_elbo_and_kl_are_their_integrals_and_sum_to_the_evidence(prior, data, loc, scale):
    values = values_of(data)
    q = stats.norm(loc, scale)
    lo, hi = loc - 12 * scale, loc + 12 * scale
    expected, _ = integrate.quad(
        lambda w: q.pdf(w) * (log_joint(prior, values, np.array([w]))[0] - q.logpdf(w)), lo, hi
    )
    assert vi.elbo(prior, data, loc, scale) == pytest.approx(expected, rel=1e-7, abs=1e-7)
    mean, sd = vi.posterior(prior, data)
    kl, _ = integrate.quad(lambda w: q.pdf(w) * (q.logpdf(w) - stats.norm.logpdf(w, mean, sd)), lo, hi)
    assert vi.kl_to_posterior(prior, data, loc, scale) == pytest.approx(kl, rel=1e-7, abs=1e-7)
    assert vi.elbo(prior, data, loc, scale) + vi.kl_to_posterior(prior, data, loc, scale) == pytest.approx(
        vi.log_evidence(prior, data), abs=1e-9
    )


@pytest.mark.parametrize(("prior", "data"), SETTINGS)
def test_the_fixed_scale_floor_is_the_least_kl_over_locs(prior, data):
    floor = vi.fixed_scale_floor(prior, data, prior.prior_sd)
    mean, sd = vi.posterior(prior, data)
    locs = np.linspace(mean - 3, mean + 3, 6001)
    assert floor == pytest.approx(float(np.min(vi.kl_to_posterior(prior, data, locs, prior.prior_sd))), abs=1e-6)
    assert floor > 0  # the posterior is always narrower than the prior


def test_map_s_objective_is_not_a_bound_on_the_evidence():
    # A narrow posterior (sd 0.12 < 1 / sqrt(2 pi)): the log joint at the mode exceeds log p(x).
    prior, data = vi.Prior(10.0, 1.0, 0.12), vi.Measurements(1, 11.0)
    mean, sd = vi.posterior(prior, data)
    gap = float(vi.log_joint_at(prior, data, mean)) - vi.log_evidence(prior, data)
    assert gap == pytest.approx(-math.log(math.sqrt(2 * math.pi) * sd), abs=1e-9)
    assert gap > 0
