"""Variational inference on the scale model, every term in closed form.

The lecture derives ``log p(X) = KL(q || p(Z | X)) + ELBO(q)``. On the scale model with n
measurements of one object (``weight ~ Normal(guess, prior_sd)``, each
``measurement_i ~ Normal(weight, noise_sd)``) and a normal guide ``q = Normal(loc, scale)``,
the evidence, the ELBO and the KL are all exact, so a page can show the identity itself.

The data enter only through their count, mean and sum of squared deviations
(:class:`Measurements`): one measurement is ``Measurements(1, m, 0)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Measurements:
    """What n weighings of one object tell about its weight: their count, mean and spread."""

    count: int
    mean: float
    squared_deviations: float = 0.0  # sum of (x_i - mean)^2

    @classmethod
    def of(cls, values) -> Measurements:
        values = np.asarray(values, dtype=float).reshape(-1)
        mean = float(values.mean())
        return cls(len(values), mean, float(np.sum((values - mean) ** 2)))


@dataclass(frozen=True)
class Prior:
    guess: float
    prior_sd: float
    noise_sd: float


def posterior(prior: Prior, data: Measurements) -> tuple[float, float]:
    """The conjugate posterior's mean and sd."""
    precision = 1 / prior.prior_sd**2 + data.count / prior.noise_sd**2
    mean = (prior.guess / prior.prior_sd**2 + data.count * data.mean / prior.noise_sd**2) / precision
    return mean, math.sqrt(1 / precision)


def expected_log_joint(prior: Prior, data: Measurements, loc, scale):
    """E_q[log p(weight) + sum_i log p(x_i | weight)] for q = Normal(loc, scale) (arrays allowed)."""
    loc, scale = np.asarray(loc, dtype=float), np.asarray(scale, dtype=float)
    log_prior = -0.5 * (LOG_2PI + 2 * math.log(prior.prior_sd)) - ((loc - prior.guess) ** 2 + scale**2) / (
        2 * prior.prior_sd**2
    )
    squares = data.squared_deviations + data.count * ((data.mean - loc) ** 2 + scale**2)
    log_likelihood = -0.5 * data.count * (LOG_2PI + 2 * math.log(prior.noise_sd)) - squares / (2 * prior.noise_sd**2)
    return log_prior + log_likelihood


def entropy(scale):
    """The entropy of Normal(., scale): what the ELBO adds for the guide's spread."""
    return 0.5 * (LOG_2PI + 1) + np.log(np.asarray(scale, dtype=float))


def elbo(prior: Prior, data: Measurements, loc, scale):
    return expected_log_joint(prior, data, loc, scale) + entropy(scale)


def kl_to_posterior(prior: Prior, data: Measurements, loc, scale):
    """KL(Normal(loc, scale) || the exact posterior)."""
    mean, sd = posterior(prior, data)
    loc, scale = np.asarray(loc, dtype=float), np.asarray(scale, dtype=float)
    return np.log(sd / scale) + (scale**2 + (loc - mean) ** 2) / (2 * sd**2) - 0.5


def log_evidence(prior: Prior, data: Measurements) -> float:
    """log p(x_1 .. x_n): the log joint at any weight minus the log posterior there."""
    mean, sd = posterior(prior, data)
    at_mean = float(expected_log_joint(prior, data, mean, 0.0))
    return at_mean + 0.5 * (LOG_2PI + 2 * math.log(sd))


def log_joint_at(prior: Prior, data: Measurements, weight):
    """log p(x, weight): what MAP (a Delta guide) climbs. It has no entropy term, so it is not a
    bound on log p(x): at the mode it exceeds it by -log(sqrt(2 pi) * posterior sd) when that is positive."""
    return expected_log_joint(prior, data, weight, 0.0)


def fixed_scale_floor(prior: Prior, data: Measurements, scale: float) -> float:
    """The least KL a normal guide of a fixed scale can reach: its loc at the posterior mean."""
    mean, _ = posterior(prior, data)
    return float(kl_to_posterior(prior, data, mean, scale))
