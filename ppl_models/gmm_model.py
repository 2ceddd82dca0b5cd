"""The lecture's Gaussian mixture: the model, its prior and the settings of a fit.

::

    concentration        scale_sd         locs_sd
         |                  |                |
         v                  v                v
      weights             scale      locs[k], k < K   (plate "components")
         |                  |                |
         v                  v                v
    assignment[i] -------> obs[i] <-----------        (plate "data", i < n)

    weights       ~ Dirichlet(concentration * ones(K))
    scale         ~ LogNormal(0, scale_sd)
    locs[k]       ~ Normal(0, locs_sd)
    assignment[i] ~ Categorical(weights)              (enumerated: summed out exactly)
    obs[i]        ~ Normal(locs[assignment[i]], scale)

From the Pyro lecture of the causal-ML course (after Pyro's GMM tutorial): data
[0, 1, 10, 11, 12], K = 2, ``AutoDelta`` on the global variables,
``TraceEnum_ELBO(max_plate_nesting=1)``, Adam(lr 0.1, betas 0.8/0.99), the best of 100
random initialisations, 200 steps. The lecture's answer: weights 0.375/0.625, locs
0.50/10.98, scale 0.651 (up to label order).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyro
import pyro.distributions as dist
import torch
from pyro.infer import config_enumerate

from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.svi import SviSettings
from ppl_models.gmm_starts import STARTS

LECTURE_DATA = (0.0, 1.0, 10.0, 11.0, 12.0)
MAX_K = 6
MAX_INITS = 1000
MAX_STEPS = 2000
# Above this many points each SVI step sees a random subsample (scaled up by Pyro's
# plate), and initialisations are scored on one; the fit stays a few seconds at 100,000.
SUBSAMPLE_SIZE = 5_000
GLOBAL_SITES = ("weights", "scale", "locs")


@dataclass(frozen=True)
class GmmPrior:
    concentration: float = 0.5
    scale_sd: float = 2.0
    locs_sd: float = 10.0

    def check(self) -> None:
        if not (self.concentration > 0 and self.scale_sd > 0 and self.locs_sd > 0):
            raise InferenceError("The prior's concentration and standard deviations must be positive.")


@dataclass(frozen=True)
class GmmSettings:
    k: int = 2
    init: str = "lecture"  # where the fit starts: ppl_models/gmm_starts.py
    inits: int = 100
    steps: int = 200
    lr: float = 0.1
    beta1: float = 0.8
    beta2: float = 0.99
    seed: int = 0
    # auto, cpu or cuda, resolved like an MCMC run's (engine/device.py) with points x K elements.
    device: str = "auto"

    def check(self) -> None:
        problems = []
        if not 1 <= self.k <= MAX_K:
            problems.append(f"K must be between 1 and {MAX_K}")
        if self.init not in STARTS:
            problems.append(f"the start must be one of {', '.join(STARTS)}")
        if not 1 <= self.inits <= MAX_INITS:
            problems.append(f"initialisations must be between 1 and {MAX_INITS}")
        if not 1 <= self.steps <= MAX_STEPS:
            problems.append(f"steps must be between 1 and {MAX_STEPS}")
        if problems:
            raise InferenceError("Cannot fit: " + "; ".join(problems) + ".")
        # The optimizer's own numbers are checked where SVI checks them.
        SviSettings(num_steps=self.steps, lr=self.lr, beta1=self.beta1, beta2=self.beta2, elbo="enum").check()


# ---- the model ----------------------------------------------------------------------


@config_enumerate
def mixture(data, k, concentration, scale_sd, locs_sd, subsample_size=None):
    weights = pyro.sample("weights", dist.Dirichlet(concentration * torch.ones(k, device=data.device)))
    scale = pyro.sample("scale", dist.LogNormal(torch.zeros((), device=data.device), scale_sd))
    with pyro.plate("components", k):
        locs = pyro.sample("locs", dist.Normal(torch.zeros((), device=data.device), locs_sd))
    with pyro.plate("data", len(data), subsample_size=subsample_size) as index:
        assignment = pyro.sample("assignment", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[assignment], scale), obs=data[index])


def negative_log_joint(data: torch.Tensor, weights, locs, scale, prior: GmmPrior, total: int | None = None):
    """-log p(data, weights, locs, scale) with the assignments summed out, for a batch of
    parameter sets (leading dim). With ``AutoDelta`` this is exactly the loss
    ``TraceEnum_ELBO`` reports, so 100 initialisations are scored in one pass.

    :param total: the full data set's size when ``data`` is a subsample of it.
    """
    k = weights.shape[-1]
    log_prior = (
        dist.Dirichlet(prior.concentration * torch.ones(k, dtype=data.dtype)).log_prob(weights)
        + dist.LogNormal(0.0, prior.scale_sd).log_prob(scale)
        + dist.Normal(0.0, prior.locs_sd).log_prob(locs).sum(-1)
    )
    per_point = torch.logsumexp(
        weights.log()[:, None, :] + dist.Normal(locs[:, None, :], scale[:, None, None]).log_prob(data[None, :, None]),
        dim=-1,
    )
    likelihood = per_point.sum(-1) * ((total or len(data)) / len(data))
    return -(log_prior + likelihood)
