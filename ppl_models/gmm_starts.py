"""Where a mixture fit starts: the lecture's recipe, a spread-out start, and their scores.

Both starts make many candidate parameter sets at once and :func:`score_candidates` scores
them all in one pass; the fit begins at the best. They differ in where the locations go:

- ``lecture``: K distinct data points drawn at random, the scale at half the data's
  variance (the lecture's recipe, which reproduces its answer).
- ``spread``: k-means++ (each next location a data point drawn with probability
  proportional to its squared distance from the locations already picked), the scale
  the root mean squared distance of the points to their nearest location. With clearly
  separated groups the picks land one per group, and the scale starts at the groups'
  own width: started at half the whole data's variance, the components overlap and SVI
  empties some of them even from spread-out locations (README, "When the mixture
  collapses").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyro.distributions as dist
import torch

if TYPE_CHECKING:
    from ppl_models.gmm_model import GmmPrior

# The initialisations are scored a slice at a time, each slice touching at most this many
# floats (initialisations x points x K), so a worker's memory stays fixed however many
# initialisations and points are asked for; a start's draws over the data need an
# initialisations x points array, used only while it stays this small.
CHUNK_ELEMENTS = 1_000_000
STARTS = ("lecture", "spread")


def lecture_candidates(data: torch.Tensor, k: int, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The lecture's initialisation, ``count`` times at once: uniform weights, half the data's
    variance as the scale, and locations at ``k`` distinct data points chosen at random."""
    n = len(data)
    if count * n <= CHUNK_ELEMENTS:
        picks = torch.multinomial(torch.ones(count, n), k, replacement=False, generator=generator)
    else:
        # Floyd's algorithm, all initialisations at once: k distinct points, uniformly as a set,
        # in count x k memory where multinomial needs count x n (1,000 x 100,000: 765 MB).
        picks = torch.empty(count, k, dtype=torch.long)
        for j, last in enumerate(range(n - k, n)):
            pick = torch.randint(0, last + 1, (count,), generator=generator)
            taken = (picks[:, :j] == pick[:, None]).any(dim=1)
            picks[:, j] = torch.where(taken, torch.full_like(pick, last), pick)
    return {
        "weights": torch.full((count, k), 1.0 / k),
        "scale": (data.var() / 2).sqrt().expand(count).clone(),
        "locs": data[picks],
    }


def spread_candidates(data: torch.Tensor, k: int, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """k-means++ starts, ``count`` at once, the scale from the points' distances to them."""
    n = len(data)
    # Over a random subset when count x n would not fit in a slice: the picks need only
    # be spread over the data's groups, which a few hundred points show.
    kept = min(n, max(k, CHUNK_ELEMENTS // count))
    pool = data if kept == n else data[torch.randperm(n, generator=generator)[:kept]]
    locs = torch.empty(count, k, dtype=data.dtype)
    locs[:, 0] = pool[torch.randint(0, kept, (count,), generator=generator)]
    nearest = (pool[None, :] - locs[:, :1]).square()
    # Lets the draw go on when every point already sits on a location (fewer distinct values than K).
    floor = torch.finfo(data.dtype).tiny
    for j in range(1, k):
        pick = torch.multinomial(nearest + floor, 1, generator=generator)[:, 0]
        locs[:, j] = pool[pick]
        torch.minimum(nearest, (pool[None, :] - locs[:, j : j + 1]).square(), out=nearest)
    # A zero scale has no density to score; a thousandth of the data's spread is narrow enough.
    narrowest = 1e-3 * float(data.std())
    return {
        "weights": torch.full((count, k), 1.0 / k),
        "scale": nearest.mean(dim=1).sqrt().clamp_min(narrowest),
        "locs": locs,
    }


def make_starts(
    start: str, data: torch.Tensor, k: int, count: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """``count`` candidate starts of the kind ``start`` (one of :data:`STARTS`)."""
    return (lecture_candidates if start == "lecture" else spread_candidates)(data, k, count, generator)


def score_candidates(
    data: torch.Tensor, candidates: dict[str, torch.Tensor], prior: GmmPrior, total: int
) -> torch.Tensor:
    """:func:`ppl_models.gmm.negative_log_joint` of every candidate, a slice of candidates at a time.

    Each slice is computed in place in buffers allocated once: fresh slice-sized tensors
    on every slice are not handed back to the system by the C allocator, and grew a
    worker by 80 to 400 MB (measured) where the buffers cost a few MB.
    """
    count, k = candidates["weights"].shape
    points = len(data)
    rows = max(1, min(count, CHUNK_ELEMENTS // (points * k)))
    log_prior = (
        dist.Dirichlet(prior.concentration * torch.ones(k, dtype=data.dtype, device=data.device)).log_prob(
            candidates["weights"]
        )
        + dist.LogNormal(0.0, prior.scale_sd).log_prob(candidates["scale"])
        + dist.Normal(0.0, prior.locs_sd).log_prob(candidates["locs"]).sum(-1)
    )
    # log w_k + log Normal(x | loc_k, scale), without the shared constant -log(2 pi) / 2.
    offsets = candidates["weights"].log() - candidates["scale"].log()[:, None]
    buffer = dict(dtype=data.dtype, device=data.device)
    work = torch.empty(rows, points, k, **buffer)
    peak = torch.empty(rows, points, 1, **buffer)
    per_point = torch.empty(rows, points, **buffer)
    likelihood = torch.empty(count, **buffer)
    for first in range(0, count, rows):
        r = min(rows, count - first)
        w, m, p = work[:r], peak[:r], per_point[:r]
        torch.sub(data[None, :, None], candidates["locs"][first : first + r, None, :], out=w)
        w.div_(candidates["scale"][first : first + r, None, None]).square_().mul_(-0.5)
        w.add_(offsets[first : first + r, None, :])
        torch.amax(w, dim=-1, keepdim=True, out=m)
        torch.sum(w.sub_(m).exp_(), dim=-1, out=p)
        p.log_().add_(m[..., 0])
        torch.sum(p, dim=-1, out=likelihood[first : first + r])
    likelihood.sub_(points * 0.5 * math.log(2 * math.pi))
    return -(log_prior + likelihood * (total / points))
