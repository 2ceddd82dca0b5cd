"""Generic vectorised simulation and likelihood weighting over any plate-free model.

The model is called once inside ``pyro.plate("draws", n)``, so every site draws ``n``
values in one pass; 100,000 draws of the weather model take a few milliseconds of
tensor work instead of 100,000 Python calls.

Likelihood weighting is importance sampling with the prior as the proposal: the
observed sites are fixed with ``pyro.condition``, everything else is drawn forward,
and each draw is weighted by the probability of the observations under it. It is
exact in the limit, needs no tuning, and its effective sample size says plainly when
the evidence is too surprising for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyro
import torch
from pyro.distributions.util import scale_and_mask

from ppl_models.engine.prologue import RunContext, run_context
from ppl_models.engine.runtime.errors import InferenceError

MAX_DRAWS = 100_000
PLATE = "draws"

# Below this many effective draws (or 1% of the draws), weighted estimates are noise.
MIN_ESS = 50


@dataclass(frozen=True)
class WeightedDraws:
    """Draws per site with normalised importance weights (all equal for plain simulation)."""

    samples: dict[str, np.ndarray]
    weights: np.ndarray
    ess: float
    wall_time_s: float
    device: str
    device_note: str = ""

    def collapsed(self) -> bool:
        return self.ess < max(MIN_ESS, 0.01 * len(self.weights))

    def collapse_note(self) -> str:
        if not self.collapsed():
            return ""
        return (
            f"The importance weights collapsed: of {len(self.weights):,} draws, the effective sample size "
            f"is only {self.ess:.1f}, so a handful of draws carry the whole answer. Observe something "
            "the model finds less surprising, or use more draws."
        )


def _check_count(num_draws: int) -> None:
    if not 1 <= num_draws <= MAX_DRAWS:
        raise InferenceError(f"The number of draws must be between 1 and {MAX_DRAWS:,}.")


def _plated(model: Callable, num_draws: int) -> Callable:
    def plated(*args):
        with pyro.plate(PLATE, num_draws):
            return model(*args)

    return plated


def run_likelihood_weighting(
    model: Callable,
    model_args: tuple,
    num_draws: int,
    seed: int,
    observations: Mapping[str, Any] | None = None,
    interventions: Mapping[str, Any] | None = None,
    sites: Sequence[str] = (),
    device: str = "auto",
) -> WeightedDraws:
    """Draw ``num_draws`` days at once under ``pyro.do(interventions)`` and weight them
    by ``observations``; with no observations this is plain forward simulation.

    :param sites: the sites whose draws to return (all sample sites if empty).
    """
    _check_count(num_draws)
    with run_context(
        model,
        seed=seed,
        device=device,
        work_elements=num_draws,
        model_args=model_args,
        observations=observations,
        interventions=interventions,
        float64=True,
    ) as run:
        trace = pyro.poutine.trace(_plated(run.model, num_draws)).get_trace(*run.args)
        log_weights = torch.zeros(num_draws, device=run.device, dtype=torch.float64)
        for name in run.observations:
            site = trace.nodes[name]
            # A masked site does not exist in the draws its mask leaves out (an open-world
            # program's Y when its branch was not taken): there it says nothing.
            log_prob = scale_and_mask(site["fn"].log_prob(site["value"]), mask=site["mask"])
            log_weights = log_weights + torch.as_tensor(log_prob).double().expand(num_draws)
        samples = {
            name: node["value"].detach().expand(num_draws).cpu().numpy().astype(np.float64)
            for name, node in trace.nodes.items()
            if node["type"] == "sample" and (not sites or name in sites)
        }
    return weigh(
        samples,
        log_weights,
        "Every draw gives the observations zero probability, so there is nothing "
        "to weigh: the evidence is impossible under this model.",
        run,
    )


def weigh(samples: dict[str, np.ndarray], log_weights: torch.Tensor, impossible: str, run: RunContext) -> WeightedDraws:
    """Normalise log weights into :class:`WeightedDraws`, with their ESS.

    :param impossible: the message when every weight is zero.
    :param run: the finished run's context: its device, its note, its clock.
    """
    log_weights = log_weights.double().cpu()
    log_total = torch.logsumexp(log_weights, 0)
    if not torch.isfinite(log_total):
        raise InferenceError(impossible)
    weights = torch.exp(log_weights - log_total).numpy()
    return WeightedDraws(
        samples=samples,
        weights=weights,
        ess=float(1 / np.sum(weights**2)),
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
    )
