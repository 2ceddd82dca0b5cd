"""The effective sample size is Pyro's estimator exactly, in memory linear in the draws."""

import numpy as np
import pytest
import torch
from pyro.ops import stats

from ppl_models.engine.diagnostics import ChainStats, SiteSummary, advise_mcmc, pyro_effective_sample_size


def _series(kind: str, chains: int, n: int) -> torch.Tensor:
    rng = np.random.default_rng(chains * 1000 + n)
    x = rng.normal(size=(chains, n))
    if kind == "random walk":
        x = np.cumsum(x, axis=1)
    elif kind == "alternating":
        x = np.abs(x) * np.where(np.arange(n) % 2, 1.0, -1.0)
    return torch.as_tensor(x)


@pytest.mark.parametrize("kind", ["independent", "random walk", "alternating"])
@pytest.mark.parametrize("chains", [1, 2, 4])
@pytest.mark.parametrize("n", [4, 5, 101, 2000])
def test_equals_pyros_effective_sample_size_bit_for_bit(kind, chains, n):
    draws = _series(kind, chains, n)
    assert torch.equal(pyro_effective_sample_size(draws), stats.effective_sample_size(draws, 0, 1))


@pytest.mark.parametrize("adapt", [True, False])
def test_advice_suggests_only_what_the_settings_allow(adapt):
    summaries = {"weight": SiteSummary(12.0, 0.6, 20.0, None, 0.13, 11.0, 13.0)}
    chains = [ChainStats(acceptance_rate=0.2, divergences=3, step_size=1.5, num_steps=4)]
    fixes = " ".join(item.fix for item in advise_mcmc(summaries, chains, "hmc", adapt_step_size=adapt))
    assert len(advise_mcmc(summaries, chains, "hmc", adapt_step_size=adapt)) == 3
    if adapt:
        assert "adaptation on" not in fixes and "turn adaptation off" in fixes
    else:
        assert "adaptation off" not in fixes and "adaptation on" in fixes
