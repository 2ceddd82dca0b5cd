"""A generic SVI runner: any model, any guide, Adam or plain SGD, a step-size schedule, a choice of ELBO.

:func:`run_svi` records the loss at every step and every parameter's constrained
value along the way (the trajectories the page draws), reports the loss curve so far
to a progress callback, and returns a frozen :class:`SviResult` of numpy arrays.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import (
    JitTrace_ELBO,
    JitTraceEnum_ELBO,
    JitTraceMeanField_ELBO,
    Predictive,
    Trace_ELBO,
    TraceEnum_ELBO,
    TraceMeanField_ELBO,
)
from pyro.infer.util import zero_grads

from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.progress import Progress, ProgressCallback

ELBOS = {
    "trace": "Trace_ELBO: Monte Carlo estimate of the whole ELBO",
    "meanfield": "TraceMeanField_ELBO: analytic KL terms where Pyro knows them (less noise)",
    "enum": "TraceEnum_ELBO: sums out enumerated discrete sites exactly",
}

OPTIMIZERS = ("adam", "sgd")
# constant: rho_t = lr. robbins_monro: rho_t = lr / (1 + t)^kappa, for which sum rho_t diverges
# and sum rho_t^2 converges when 1/2 < kappa <= 1: Robbins and Monro's conditions, under which
# SGD with noisy but unbiased gradients converges.
SCHEDULES = ("constant", "robbins_monro")
MAX_STEPS = 5000
PROGRESS_INTERVAL_S = 0.15


class SviDiverged(InferenceError):
    """The loss became NaN or infinite, or a parameter left its distribution's support.

    Its own type so a lecture that knows its model can replace the generic advice with
    advice it has checked on the data (``ppl_models.gmm``).
    """


@dataclass(frozen=True)
class SviSettings:
    """Everything that decides an SVI run; frozen and hashable, so it can key a cache."""

    num_steps: int = 1000
    lr: float = 0.05
    beta1: float = 0.9
    beta2: float = 0.999
    elbo: str = "meanfield"
    num_particles: int = 8
    max_plate_nesting: int = 1
    seed: int = 0
    device: str = "auto"
    num_posterior_samples: int = 1000
    jit_compile: bool = False
    optimizer: str = "adam"
    schedule: str = "constant"
    kappa: float = 0.75

    def check(self) -> None:
        problems = []
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"the optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"the schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if self.schedule == "robbins_monro" and not 0.5 < self.kappa <= 1:
            problems.append("a Robbins-Monro exponent must lie in (0.5, 1]")
        if self.elbo not in ELBOS:
            problems.append(f"the ELBO must be one of {tuple(ELBOS)}, not {self.elbo!r}")
        if not 1 <= self.num_steps <= MAX_STEPS:
            problems.append(f"steps must be between 1 and {MAX_STEPS}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append("the learning rate must be a positive number")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            problems.append("Adam's betas must lie in [0, 1)")
        if not 1 <= self.num_particles <= 100:
            problems.append("particles must be between 1 and 100")
        if problems:
            raise InferenceError("Cannot run SVI: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class SviResult:
    """A finished SVI run.

    :ivar losses: the ELBO loss (negative ELBO) at every step.
    :ivar params: each guide parameter's final constrained value.
    :ivar trajectories: each parameter's constrained value after every step,
        shaped ``(steps, *param_shape)``.
    :ivar posterior_samples: draws from the fitted guide per latent site.
    :ivar grad_norms: each parameter's gradient norm (unconstrained) at every step.
    """

    settings: SviSettings
    losses: np.ndarray
    params: dict[str, np.ndarray]
    trajectories: dict[str, np.ndarray]
    posterior_samples: dict[str, np.ndarray]
    wall_time_s: float
    device: str
    device_note: str = ""
    grad_norms: dict[str, np.ndarray] = field(default_factory=dict)


def _make_elbo(settings: SviSettings):
    common = dict(
        num_particles=settings.num_particles,
        vectorize_particles=settings.num_particles > 1,
        max_plate_nesting=settings.max_plate_nesting,
    )
    if settings.jit_compile:
        common["ignore_jit_warnings"] = True
        kind = {"enum": JitTraceEnum_ELBO, "meanfield": JitTraceMeanField_ELBO, "trace": JitTrace_ELBO}
    else:
        kind = {"enum": TraceEnum_ELBO, "meanfield": TraceMeanField_ELBO, "trace": Trace_ELBO}
    return kind[settings.elbo](**common)


# A learning rate this large moves each parameter by a whole unit or more a step; only
# there is lowering it known to help (the runner tests show it). At smaller rates a
# failure comes from the model's numbers, and lowering it was seen not to help.
LARGE_LR = 1.0


def _make_optimizer(settings: SviSettings):
    """The step rule: Pyro's Adam or SGD, wrapped in a per-step schedule when one is asked for."""
    if settings.optimizer == "adam":
        torch_optimizer, args = torch.optim.Adam, {"lr": settings.lr, "betas": (settings.beta1, settings.beta2)}
    else:
        torch_optimizer, args = torch.optim.SGD, {"lr": settings.lr}
    if settings.schedule == "constant":
        return pyro.optim.PyroOptim(torch_optimizer, args)
    kappa = settings.kappa
    return pyro.optim.LambdaLR(
        {"optimizer": torch_optimizer, "optim_args": args, "lr_lambda": lambda step: (1 + step) ** -kappa}
    )


def lr_advice(settings: SviSettings) -> str:
    if settings.lr >= LARGE_LR:
        return f" A learning rate of {settings.lr:g} moves each parameter a unit or more a step: try 0.05."
    return ""


def _current_params() -> dict[str, np.ndarray]:
    store = pyro.get_param_store()
    return {name: value.detach().cpu().numpy().copy() for name, value in store.items()}


def _step(elbo, optimizer, model, guide, args: tuple) -> tuple[float, dict[str, float]]:
    """One SVI step, as ``SVI.step`` takes it, also reading each gradient's norm.

    ``SVI.step`` zeroes the gradients before returning, so the norms the lecture reads
    with tensor hooks are taken here, between the backward pass and the update.
    """
    with poutine.trace(param_only=True) as param_capture:
        loss = elbo.loss_and_grads(model, guide, *args)
    params = {site["name"]: site["value"].unconstrained() for site in param_capture.trace.nodes.values()}
    norms = {name: float(p.grad.norm()) for name, p in params.items() if p.grad is not None}
    optimizer(set(params.values()))
    zero_grads(set(params.values()))
    return float(loss), norms


def _record(
    trajectories: dict[str, np.ndarray], norms: dict[str, np.ndarray], step: int, steps: int, step_norms: dict
) -> None:
    """Store every parameter's value and gradient norm after ``step``; a parameter that
    first appears later has NaN for the steps before it."""
    for name, value in pyro.get_param_store().items():
        value = value.detach().cpu().numpy()
        if name not in trajectories:
            trajectories[name] = np.full((steps, *value.shape), np.nan, dtype=value.dtype)
            norms[name] = np.full(steps, np.nan)
        trajectories[name][step] = value
        norms[name][step] = step_norms.get(name, np.nan)


def _draw_from_guide(model, guide, settings: SviSettings, args: tuple) -> dict:
    """Draw from the fitted guide, in one vectorised pass when the model allows it."""
    try:
        predictive = Predictive(model, guide=guide, num_samples=settings.num_posterior_samples, parallel=True)
        return predictive.get_samples(*args)
    except (ValueError, RuntimeError, NotImplementedError):
        # Models with Python control flow on sampled values cannot be vectorised.
        predictive = Predictive(model, guide=guide, num_samples=settings.num_posterior_samples)
        return predictive.get_samples(*args)


def run_svi(
    model: Callable,
    guide: Callable,
    settings: SviSettings,
    model_args: tuple = (),
    observations: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    work_elements: int = 1,
) -> SviResult:
    """Fit ``guide`` to the posterior of ``model`` given ``observations`` by SVI (Adam or SGD, with its schedule).

    :param progress: called every ~0.15 s with the loss curve so far (``partial["loss"]``);
        returning ``False`` stops the run with :class:`RunCancelled`.
    :raises InferenceError: for impossible settings, or when the loss becomes NaN or
        infinite (the message says at which step, and what to change).
    """
    settings.check()
    with run_context(
        model,
        seed=settings.seed,
        device=settings.device,
        work_elements=work_elements,
        model_args=model_args,
        observations=observations,
    ) as run:
        optimizer = _make_optimizer(settings)
        scheduled = isinstance(optimizer, pyro.optim.PyroLRScheduler)
        elbo = _make_elbo(settings)
        losses = np.empty(settings.num_steps)
        # Filled in place, allocated once at the first step: a small array per step would
        # stay scattered among each step's freed tensors and keep the heap from shrinking.
        trajectories: dict[str, np.ndarray] = {}
        norms: dict[str, np.ndarray] = {}
        last_report = 0.0
        for step in range(settings.num_steps):
            try:
                loss, step_norms = _step(elbo, optimizer, run.model, guide, run.args)
            except ValueError as error:
                # Pyro's text here is a support check with a dump of the tensor: for the log only.
                raise SviDiverged(
                    f"SVI failed at step {step + 1}: a parameter left the range its distribution allows "
                    f"(a scale or a probability became zero, negative or not a number).{lr_advice(settings)}"
                ) from error
            if not math.isfinite(loss):
                raise SviDiverged(f"SVI diverged at step {step + 1}: the loss became {loss}.{lr_advice(settings)}")
            losses[step] = loss
            if scheduled:
                optimizer.step()
            _record(trajectories, norms, step, settings.num_steps, step_norms)
            now = time.perf_counter()
            if progress and (step + 1 == settings.num_steps or now - last_report >= PROGRESS_INTERVAL_S):
                last_report = now
                so_far = {name: path[: step + 1].copy() for name, path in trajectories.items()}
                report = Progress(
                    "optimizing",
                    step + 1,
                    settings.num_steps,
                    partial={"loss": losses[: step + 1].copy(), "params": so_far},
                )
                if progress(report) is False:
                    raise RunCancelled("Stopped on request.")
        params = _current_params()
        if settings.num_posterior_samples == 0:
            latent = {}
        else:
            latent = {
                name: value.detach().cpu().numpy()
                for name, value in _draw_from_guide(run.model, guide, settings, run.args).items()
                if name not in run.observations
            }
    return SviResult(
        settings=settings,
        losses=losses,
        params=params,
        trajectories=trajectories,
        posterior_samples=latent,
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
        grad_norms=norms,
    )
