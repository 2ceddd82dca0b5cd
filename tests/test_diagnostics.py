"""The effective sample size is Pyro's estimator exactly, in memory linear in the draws."""

import numpy as np
import pytest
import torch
from pyro.ops import stats

from ppl_models.engine.diagnostics import pyro_effective_sample_size


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
