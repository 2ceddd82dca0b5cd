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

import time
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

from ppl_models.engine.device import resolve_device
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.engine.sampling import WeightedDraws, _check_count, _plated, in_float64, weigh
from ppl_models.engine.tensors import observations_on, to_device


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
    choice = resolve_device(device, num_draws)
    with inference_guard(seed):
        started = time.perf_counter()  # time queued for the guard is not the run's
        args = in_float64(to_device(tuple(model_args), choice.device))
        data = in_float64(observations_on(observations, choice.device))
        interventions = in_float64(observations_on(actions, choice.device))
        with MultiWorldCounterfactual() as worlds, do(actions=interventions), condition(data=data):
            trace = pyro.poutine.trace(_plated(model, num_draws)).get_trace(*args)
        trace.compute_log_prob()
        factual_world = IndexSet(**{name: {0} for name in interventions})
        counterfactual_world = IndexSet(**{name: {1} for name in interventions})
        with worlds:
            # Every observed site counts, not only the names in ``data``: ChiRho splits an
            # observed transformed site into helper sites, and the likelihood of the day's
            # noise lands on ``<name>_noise_prior``, not on ``<name>`` itself.
            log_weights = torch.zeros(num_draws, device=choice.device, dtype=torch.float64)
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
        started,
        str(choice.device),
    )
    return CounterfactualDraws(factual=factual, counterfactual=counterfactual_values)
