"""A MAP fit (``AutoDelta`` with Adam on Pyro's enumerated ELBO), each step one traced call.

The mixture lecture fits ``AutoDelta`` by 200 steps of ``SVI`` with ``TraceEnum_ELBO``. On
the lecture's five points each step is bookkeeping: Pyro traces the model and the guide,
looks the parameters up in the param store, runs autograd, and ``torch.optim.Adam`` walks
its parameter groups, about 2 ms a step for a handful of numbers. Here the same step is
derived once per model structure and setting shape:

- the loss is the lecture's closed form of ``TraceEnum_ELBO``'s loss for an ``AutoDelta``
  guide (whose log-density is zero): ``-log p(data, parameters)`` with the discrete sites
  summed out, which the lecture's tests hold equal to Pyro's. Pyro's own contraction cannot
  be recorded here: it decides on the data (``mask.all()``, ``masked_select``) while it runs;
- the parameters are unconstrained through ``transform_to`` of each site's support,
  as ``AutoDelta`` stores them;
- ``torch.func.grad_and_value`` and ``make_fx`` turn loss and gradient into aten
  operations, and one TorchScript trace holds the gradient, Adam's update (the operations
  of ``torch.optim.Adam``'s single-tensor step, in its order), each gradient's norm and the
  constrained values the page draws.

The result is an :class:`~ppl_models.engine.svi.SviResult` like ``run_svi``'s, and
``tests/test_compiled_map.py`` holds it to Pyro's ``SVI`` on the same start (the same
losses and parameters to float rounding). Models or settings it cannot take (a GPU, a
subsampled plate, SGD or a schedule, several particles) raise :class:`NotCompilable`,
and the caller runs Pyro's ``SVI``.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pyro
import torch
from pyro import poutine
from torch.distributions import transform_to
from torch.fx.experimental.proxy_tensor import make_fx

from ppl_models.engine.potential_graph import trace_kept
from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import RunCancelled
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.engine.svi import PROGRESS_INTERVAL_S, SviDiverged, SviResult, SviSettings, lr_advice

ADAM_EPS = 1e-8  # torch.optim.Adam's default, which pyro.optim.Adam keeps


class NotCompilable(Exception):
    """This fit runs on Pyro's SVI instead."""


def check_compilable(settings: SviSettings, device: torch.device) -> None:
    reasons = []
    if device.type != "cpu":
        reasons.append("it runs on a GPU")
    if settings.optimizer != "adam" or settings.schedule != "constant":
        reasons.append("it is not Adam at a constant rate")
    if settings.num_particles != 1 or settings.elbo != "enum":
        reasons.append("it is not one particle of TraceEnum_ELBO")
    if reasons:
        raise NotCompilable("; ".join(reasons))


# Traced steps kept per (structure, data shape, optimizer numbers); a class fitting a few
# data sets reuses them. Each holds the loss's graph for its data size: small.
MAX_KEPT_STEPS = 8
_kept: OrderedDict[Hashable, tuple[Callable, object]] = OrderedDict()
_kept_lock = threading.Lock()


def run_map_fit(
    model: Callable,
    loss_of: Callable[..., torch.Tensor],
    start: dict[str, torch.Tensor],
    settings: SviSettings,
    model_args: tuple = (),
    progress: ProgressCallback | None = None,
    param_prefix: str = "AutoDelta.",
    structure: Hashable | None = None,
) -> SviResult:
    """Fit the point estimates of ``start``'s sites by Adam on Pyro's enumerated ELBO.

    :param model: the Pyro model; its sites' supports give the unconstrained parameters.
    :param loss_of: ``loss_of(constrained_values, *model_args)``, a scalar equal to
        ``TraceEnum_ELBO``'s loss of ``model`` with an ``AutoDelta`` guide at those values.
    :param start: each latent site's starting value, constrained (as ``AutoDelta``'s
        ``init_loc_fn`` gives it).
    :param structure: what, besides the arguments' shapes, decides the model's graph (its
        constants): the traced step is kept under it. None traces afresh.
    :raises NotCompilable: for a fit only Pyro's SVI runs.
    :raises SviDiverged: when the loss stops being finite, with the step and the advice
        ``run_svi`` gives.
    """
    settings.check()
    names = tuple(start)
    with run_context(model, seed=settings.seed, device=settings.device, model_args=model_args) as run:
        check_compilable(settings, run.device)
        args = tuple(run.args)
        if not all(isinstance(a, torch.Tensor) for a in args):
            raise NotCompilable("a model argument is not a tensor")
        with pyro.validation_enabled(False), poutine.block():
            prototype = poutine.trace(poutine.condition(model, data=dict(start))).get_trace(*args)
        # transform_to, not biject_to: Pyro's param store keeps AutoDelta's values unconstrained so
        # (a softmax for a simplex, where biject_to would stick-break).
        transforms = {name: transform_to(prototype.nodes[name]["fn"].support) for name in names}

        def loss(*values):
            unconstrained, data_args = values[: len(names)], values[len(names) :]
            constrained = {n: transforms[n](u) for n, u in zip(names, unconstrained, strict=True)}
            return loss_of(constrained, *data_args)

        unconstrained = [transforms[n].inv(start[n].detach().to(run.device)).clone() for n in names]
        key = None
        if structure is not None:
            shapes = tuple((tuple(a.shape), str(a.dtype)) for a in (*unconstrained, *args))
            key = (structure, names, shapes, settings.lr, settings.beta1, settings.beta2, settings.max_plate_nesting)
        step = _kept_step(key, lambda: _traced_step(loss, names, transforms, unconstrained, args, settings))
        firsts = [torch.zeros_like(u) for u in unconstrained]
        seconds = [torch.zeros_like(u) for u in unconstrained]
        steps = settings.num_steps
        losses = np.empty(steps)
        trajectories = {f"{param_prefix}{n}": np.empty((steps, *start[n].shape), dtype=np.float32) for n in names}
        norms = {f"{param_prefix}{n}": np.empty(steps) for n in names}
        last_report = 0.0
        beta1, beta2 = settings.beta1, settings.beta2
        count = len(names)
        for index in range(steps):
            # Adam's bias corrections, as torch.optim.Adam computes them in Python floats.
            t = index + 1
            step_size = torch.tensor(settings.lr / (1 - beta1**t), dtype=unconstrained[0].dtype)
            correction = torch.tensor((1 - beta2**t) ** 0.5, dtype=unconstrained[0].dtype)
            out = step(step_size, correction, *unconstrained, *firsts, *seconds, *args)
            unconstrained = list(out[:count])
            firsts, seconds = list(out[count : 2 * count]), list(out[2 * count : 3 * count])
            value, gradient_norms, constrained = out[3 * count], out[3 * count + 1], out[3 * count + 2 :]
            loss_value = float(value)
            if not math.isfinite(loss_value):
                raise SviDiverged(
                    f"SVI diverged at step {index + 1}: the loss became {loss_value}.{lr_advice(settings)}"
                )
            losses[index] = loss_value
            for n, norm, c in zip(names, gradient_norms.tolist(), constrained, strict=True):
                trajectories[f"{param_prefix}{n}"][index] = c.numpy()
                norms[f"{param_prefix}{n}"][index] = norm
            now = time.perf_counter()
            if progress and (index + 1 == steps or now - last_report >= PROGRESS_INTERVAL_S):
                last_report = now
                so_far = {name: path[: index + 1].copy() for name, path in trajectories.items()}
                report = Progress(
                    "optimizing", index + 1, steps, partial={"loss": losses[: index + 1].copy(), "params": so_far}
                )
                if progress(report) is False:
                    raise RunCancelled("Stopped on request.")
        params = {name: path[-1].copy() for name, path in trajectories.items()}
    return SviResult(
        settings=settings,
        losses=losses,
        params=params,
        trajectories=trajectories,
        posterior_samples={},
        wall_time_s=run.elapsed(),
        device=str(run.device),
        device_note=run.device_note,
        grad_norms=norms,
    )


def _kept_step(key: Hashable | None, build: Callable[[], tuple[Callable, object]]) -> Callable:
    if key is None:
        return build()[0]
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            return kept[0]
    kept = build()
    with _kept_lock:
        _kept[key] = kept
        while len(_kept) > MAX_KEPT_STEPS:
            _kept.popitem(last=False)
    return kept[0]


def _traced_step(
    loss: Callable, names: Sequence[str], transforms: dict, unconstrained: list, args: tuple, settings: SviSettings
) -> tuple[Callable, object]:
    """One Adam step on ``loss`` as a single TorchScript call, and the unit that holds it."""
    count = len(names)

    def gradient_and_value(*values):
        # torch.autograd.grad, not torch.func.grad: Pyro's safe_log is an autograd.Function
        # that functorch cannot transform, and make_fx records the backward pass either way.
        leaves = [v.detach().requires_grad_() for v in values[:count]]
        with torch.enable_grad():
            value = loss(*leaves, *values[count:])
            gradients = torch.autograd.grad(value, leaves)
        return gradients, value.detach()

    try:
        with pyro.validation_enabled(False), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gradient_graph = make_fx(gradient_and_value)(*unconstrained, *args)
    except Exception as error:  # noqa: BLE001 - whatever make_fx cannot trace
        raise NotCompilable(f"{type(error).__name__}: {error}") from error
    beta1, beta2 = settings.beta1, settings.beta2

    def adam_step(step_size, correction, *state):
        values, firsts, seconds = state[:count], state[count : 2 * count], state[2 * count : 3 * count]
        data_args = state[3 * count :]
        gradients, value = gradient_graph(*values, *data_args)
        new_values, new_firsts, new_seconds, norms, constrained = [], [], [], [], []
        for name, u, m, v, g in zip(names, values, firsts, seconds, gradients, strict=True):
            norms.append(torch.linalg.vector_norm(g))
            # torch.optim.Adam's _single_tensor_adam: lerp, addcmul, sqrt / correction + eps, addcdiv.
            m = torch.lerp(m, g, 1 - beta1)
            v = v * beta2 + (1 - beta2) * g * g
            denominator = v.sqrt() / correction + ADAM_EPS
            u = u - step_size * (m / denominator)
            new_values.append(u)
            new_firsts.append(m)
            new_seconds.append(v)
            constrained.append(transforms[name](u))
        return (*new_values, *new_firsts, *new_seconds, value, torch.stack(norms), *constrained)

    example = (
        torch.tensor(1.0, dtype=unconstrained[0].dtype),
        torch.tensor(1.0, dtype=unconstrained[0].dtype),
        *unconstrained,
        *[torch.zeros_like(u) for u in unconstrained],
        *[torch.zeros_like(u) for u in unconstrained],
        *args,
    )
    unit = torch._C.CompilationUnit()
    return trace_kept(adam_step, example, unit), unit
