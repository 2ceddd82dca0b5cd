"""MCMC diagnostics from ``pyro.ops.stats``, and what they mean in plain words.

The estimators are Pyro's own (:func:`pyro.ops.stats.effective_sample_size`,
:func:`~pyro.ops.stats.split_gelman_rubin`, :func:`~pyro.ops.stats.autocorrelation`);
this module only shapes their inputs and turns their numbers into advice. One step is
restated: Pyro 1.9.2 takes the running minimum of the autocorrelation sums through an
N x N matrix (``pyro.ops.stats._cummin``): quadratic memory in the draws, hundreds of MB
at the app's caps (README, Design notes); :func:`pyro_effective_sample_size` is Pyro's
estimator line for line with ``torch.cummin`` there, and a test holds it equal to Pyro's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from pyro.ops import stats

# Thresholds in the spirit of Vehtari et al. (2021), "Rank-normalization, folding and
# localization": R-hat above 1.01 is suspicious, above 1.05 is a clear warning; fewer
# than 100 effective draws make the tails and even the sd unreliable.
RHAT_WARN = 1.05
MIN_ESS = 100
LOW_ACCEPTANCE = 0.5


@dataclass(frozen=True)
class SiteSummary:
    """Posterior summary of one scalar quantity across all chains."""

    mean: float
    sd: float
    ess: float
    rhat: float | None  # None with a single chain
    mcse: float  # Monte Carlo standard error of the mean: sd / sqrt(ess)
    hpdi_low: float
    hpdi_high: float
    ess_capped: bool = False  # draws so anti-correlated that the estimate hit the cap


@dataclass(frozen=True)
class ChainStats:
    """What the sampler itself reports for one chain."""

    acceptance_rate: float
    divergences: int
    step_size: float
    num_steps: int | None  # HMC's leapfrog steps per iteration; None for NUTS


@dataclass(frozen=True)
class Advice:
    """A problem found in a run, and what to change."""

    problem: str
    fix: str


def ess_cap(total_draws: int) -> float:
    return total_draws * math.log10(max(total_draws, 2))


def pyro_effective_sample_size(draws: torch.Tensor) -> torch.Tensor:
    """:func:`pyro.ops.stats.effective_sample_size` of ``draws`` shaped ``(chains, draws)``
    (Geyer's initial monotone sequence, as in Stan), in memory linear in the draws."""
    series = draws.transpose(0, 1)  # N x C, as Pyro arranges it
    n, chains = series.shape
    gamma_k_c = stats.autocovariance(series, dim=0)
    var_within = series.var(dim=0).mean(dim=0)
    var_estimator = (n - 1) / n * var_within
    if chains > 1:
        var_estimator = var_estimator + series.mean(dim=0).var(dim=0)
    else:
        var_within = var_estimator
    rho_k = (var_estimator - var_within + gamma_k_c.mean(dim=1)) / var_estimator
    rho_k[0] = 1
    pairs = rho_k if n % 2 == 0 else rho_k[:-1]
    pairs = pairs.reshape(n // 2, 2).sum(dim=1)
    if pairs.size(0) > 1:
        monotone = torch.cummin(pairs[1:].clamp(min=0), dim=0).values
        tau = -1 + 2 * pairs[0] + 2 * monotone.sum(dim=0)
    else:
        tau = -1 + 2 * pairs[0]
    return chains * n / tau


def effective_sample_size(draws: np.ndarray) -> float:
    """ESS of ``draws`` shaped ``(chains, draws)``, capped at ``N log10 N``.

    Pyro's estimator, like Stan's, exceeds ``N`` for anti-correlated chains and can
    even turn negative when the autocorrelation sum is dominated by negative lags; Stan
    and ArviZ report such chains at the ``N log10 N`` cap, and so do we.
    """
    total = draws.size
    if total < 4 or np.ptp(draws) == 0:
        return float(total) if total and np.ptp(draws) > 0 else 1.0
    ess = float(pyro_effective_sample_size(torch.as_tensor(draws, dtype=torch.float64)))
    cap = ess_cap(total)
    if not math.isfinite(ess) or ess <= 0 or ess > cap:
        return cap
    return ess


def split_rhat(draws: np.ndarray) -> float | None:
    """Split R-hat of ``draws`` shaped ``(chains, draws)``; None for a single chain."""
    if draws.shape[0] < 2 or draws.shape[1] < 4:
        return None
    if np.ptp(draws) == 0:
        return 1.0
    return float(stats.split_gelman_rubin(torch.as_tensor(draws, dtype=torch.float64), 0, 1))


def autocorrelation(draws: np.ndarray, max_lag: int = 50) -> np.ndarray:
    """Autocorrelation per chain of ``draws`` shaped ``(chains, draws)``, lags 0..max_lag."""
    if draws.shape[1] < 2 or np.ptp(draws) == 0:
        return np.ones((draws.shape[0], min(max_lag + 1, draws.shape[1])))
    acf = stats.autocorrelation(torch.as_tensor(draws, dtype=torch.float64), dim=-1)
    return acf[:, : max_lag + 1].numpy()


def summarize(draws: np.ndarray, prob: float = 0.9) -> SiteSummary:
    """Mean, sd, ESS, R-hat, MCSE and a ``prob`` highest-density interval of ``draws``."""
    flat = draws.reshape(-1)
    ess = effective_sample_size(draws)
    sd = float(flat.std(ddof=1)) if flat.size > 1 else 0.0
    low, high = stats.hpdi(torch.as_tensor(flat, dtype=torch.float64), prob, dim=0)
    return SiteSummary(
        mean=float(flat.mean()),
        sd=sd,
        ess=ess,
        rhat=split_rhat(draws),
        mcse=sd / math.sqrt(ess),
        hpdi_low=float(low),
        hpdi_high=float(high),
        ess_capped=ess >= ess_cap(flat.size) * (1 - 1e-9),
    )


def advise_mcmc(
    summaries: dict[str, SiteSummary], chains: list[ChainStats], kernel: str, adapt_step_size: bool = True
) -> list[Advice]:
    """Plain-words warnings for a run whose numbers should not be trusted.

    Each fix is one the run's own settings allow: adaptation is never suggested "on" when it
    is on, nor "off" when it is off.
    """
    advice: list[Advice] = []
    if adapt_step_size:
        smaller_step = "Use more warmup steps so the step size can settle, or switch to NUTS."
    else:
        smaller_step = "Lower the step size, or turn step-size adaptation on."
    if kernel == "hmc" and adapt_step_size:
        low_ess_fix = (
            "Use more warmup steps (e.g. 300), switch to NUTS, or turn adaptation off "
            "with a smaller step size (e.g. step 0.2 with 18 steps)."
        )
    elif kernel == "hmc":
        low_ess_fix = (
            "Use a smaller step with more leapfrog steps (e.g. step 0.2 with 18 steps), turn "
            "step-size adaptation on, or switch to NUTS."
        )
    else:
        low_ess_fix = "Use more warmup steps (e.g. 300) and more samples."
    low_ess = [name for name, s in summaries.items() if s.ess < MIN_ESS]
    if low_ess:
        worst = min(summaries[name].ess for name in low_ess)
        advice.append(
            Advice(
                f"Effective sample size is only {worst:.0f} for {', '.join(low_ess)}: the draws are "
                "so correlated that the histogram shows a few independent values repeated, "
                "and it may sit in the wrong place.",
                low_ess_fix,
            )
        )
    capped = [name for name, s in summaries.items() if s.ess_capped]
    if capped:
        advice.append(
            Advice(
                f"The draws of {', '.join(capped)} alternate from side to side (strongly "
                "anti-correlated), a sign that each HMC trajectory ends near a half or whole "
                "turn of the posterior: the mean is fine, but the spread can be badly off.",
                "Switch to NUTS, which picks its own trajectory length, or change the number of leapfrog steps.",
            )
        )
    high_rhat = [name for name, s in summaries.items() if s.rhat is not None and s.rhat > RHAT_WARN]
    if high_rhat:
        worst = max(summaries[name].rhat for name in high_rhat)
        advice.append(
            Advice(
                f"R-hat is {worst:.2f} for {', '.join(high_rhat)}: the chains disagree, so at "
                "least one has not found the posterior.",
                "Use more warmup steps"
                + (", or NUTS" if kernel == "hmc" else "")
                + "; compare the chains in the trace plot.",
            )
        )
    divergences = sum(c.divergences for c in chains)
    if divergences:
        advice.append(
            Advice(
                f"{divergences} divergent transitions: the sampler's simulation blew up, so the "
                "draws may miss part of the posterior.",
                smaller_step if kernel == "hmc" else "Use more warmup steps so the step size can adapt.",
            )
        )
    acceptance = min(c.acceptance_rate for c in chains) if chains else 1.0
    if acceptance < LOW_ACCEPTANCE:
        advice.append(
            Advice(
                f"Acceptance rate is only {acceptance:.0%}: most proposals were rejected and the chain barely moves.",
                smaller_step if kernel == "hmc" else "Use more warmup steps so the step size can adapt.",
            )
        )
    return advice


def advise_against_exact(
    estimate_mean: float,
    estimate_sd: float,
    exact_mean: float,
    exact_sd: float,
    mcse: float = 0.0,
    ess: float = math.inf,
) -> list[Advice]:
    """Compare an estimate with the exact answer, allowing for Monte Carlo error.

    A mean more than 4 Monte Carlo standard errors (and 5% of the exact sd) away from
    the exact one is a wrong answer, not noise. So is an sd off by more than 3 of its
    own standard errors (relative error ~ 1/sqrt(2 ESS)), and never less than 10%.
    """
    advice = []
    tolerance = max(4 * mcse, 0.05 * exact_sd)
    if abs(estimate_mean - exact_mean) > tolerance:
        advice.append(
            Advice(
                f"The posterior mean {estimate_mean:.3f} is {abs(estimate_mean - exact_mean):.3f} "
                f"away from the exact {exact_mean:.3f}, more than Monte Carlo noise explains.",
                "Trust the exact answer here; see the diagnostics for why inference missed it.",
            )
        )
    sd_tolerance = max(0.1, 3 / math.sqrt(2 * ess))
    if exact_sd > 0 and abs(estimate_sd / exact_sd - 1) > sd_tolerance:
        advice.append(
            Advice(
                f"The posterior sd {estimate_sd:.3f} differs from the exact {exact_sd:.3f} by "
                f"{abs(estimate_sd / exact_sd - 1):.0%}.",
                "More samples or better mixing (NUTS, more warmup) bring it closer.",
            )
        )
    return advice
