"""Data sets of clearly separated groups, for the mixture's collapse tests and bench."""

from __future__ import annotations

import numpy as np

from ppl_models.gmm import GmmFit


def separated_groups(count: int, per_group: int, seed: int) -> tuple[tuple[float, ...], np.ndarray, float]:
    """``count`` groups of ``per_group`` points, 8 to 12 of their sds apart, within 27 of 0.

    Within three prior sds of the locations (``GmmPrior().locs_sd`` is 10), where the
    prior does not drag a location off its group: data beyond it are their own case.
    Returns the data, the groups' centres and their sd.
    """
    rng = np.random.default_rng(seed)
    sd = float(rng.choice([0.3, 0.5, 1.0]))
    centers = np.sort(rng.choice(np.arange(-3, 4), count, replace=False)) * (8 + 4 * rng.random()) * sd
    centers = centers + rng.uniform(-1, 1) * (27 - np.abs(centers).max())
    data = tuple(float(v) for c in centers for v in c + rng.normal(0, sd, per_group))
    return data, centers, sd


def groups_found(fit: GmmFit, centers, sd: float) -> bool:
    """Every true group has a component with real weight within three of its sds."""
    real = [j for j in range(len(fit.weights)) if j not in fit.check.empty]
    return all(any(abs(fit.locs[j] - c) < 3 * sd for j in real) for c in centers)
