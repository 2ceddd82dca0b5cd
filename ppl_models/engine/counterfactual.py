"""Counterfactuals by abduction, action and prediction, with ChiRho's twin worlds.

ChiRho (the causal-inference library built on Pyro) runs a model in a factual and a
counterfactual world at once under ``MultiWorldCounterfactual``. Its ``do`` intervenes
in the counterfactual world only, and its ``condition`` fixes the observations in the
factual one. The two worlds share all exogenous noise: the weather drawn for a day is
the same in both, and so is the sales noise of a site written as a transformed
distribution (the model's ``ice_cream``). Draws are weighted by how well they explain
the observed day (abduction by likelihood weighting). Then the counterfactual world's
values, read with ``gather``, are the prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyro
import torch
from chirho.counterfactual.handlers import MultiWorldCounterfactual
from chirho.indexed.ops import IndexSet, gather
from chirho.interventional.handlers import do
from chirho.observational.handlers import condition

from ppl_models.engine.prologue import run_context
from ppl_models.engine.sampling import WeightedDraws, _check_count, _plated, weigh


@dataclass(frozen=True)
class CounterfactualDraws:
    """Each draw's value of a site in the factual and the counterfactual world, weighted."""

    factual: WeightedDraws
    counterfactual: dict[str, np.ndarray]


def run_counterfactual(
    model: Callable,
    model_args: tuple,
    observations: Mapping[str, Any],
    actions: Mapping[str, Any],
    num_draws: int,
    seed: int,
    sites: tuple[str, ...],
    device: str = "auto",
) -> CounterfactualDraws:
    """What ``sites`` would have been under ``actions``, given the factual ``observations``."""
    _check_count(num_draws)
    # ChiRho applies the observations and the actions itself, each to its own world.
    with run_context(
        model,
        seed=seed,
        device=device,
        work_elements=num_draws,
        model_args=model_args,
        observations=observations,
        interventions=actions,
        float64=True,
        condition=False,
    ) as run:
        interventions = run.interventions
        with MultiWorldCounterfactual() as worlds, do(actions=interventions), condition(data=run.observations):
            trace = pyro.poutine.trace(_plated(run.model, num_draws)).get_trace(*run.args)
        trace.compute_log_prob()
        factual_world = IndexSet(**{name: {0} for name in interventions})
        counterfactual_world = IndexSet(**{name: {1} for name in interventions})
        with worlds:
            # Every observed site counts, not only the names in ``run.observations``: ChiRho splits an
            # observed transformed site into helper sites, and the likelihood of the day's
            # noise lands on ``<name>_noise_prior``, not on ``<name>`` itself.
            log_weights = torch.zeros(num_draws, device=run.device, dtype=torch.float64)
            for node in trace.nodes.values():
                if node["type"] == "sample" and node["is_observed"]:
                    log_prob = gather(node["log_prob"], factual_world)
                    log_weights = log_weights + log_prob.reshape(-1).double().expand(num_draws)

            def world_values(world: IndexSet) -> dict[str, np.ndarray]:
                return {
                    name: gather(trace.nodes[name]["value"], world)
                    .detach()
                    .reshape(-1)
                    .expand(num_draws)
                    .cpu()
                    .numpy()
                    .astype(np.float64)
                    for name in sites
                }

            factual_values = world_values(factual_world)
            counterfactual_values = world_values(counterfactual_world)
    factual = weigh(
        factual_values,
        log_weights,
        "The observed day has zero probability under this model: nothing can explain it.",
        run,
    )
    return CounterfactualDraws(factual=factual, counterfactual=counterfactual_values)
