"""The one prologue every run starts with, written once.

Every runner used to open with the same six steps, each copy a chance to drift: resolve
the device, enter the inference guard, start the clock, move the arguments onto the
device, turn the observations (and interventions) into tensors, condition the model.
:func:`run_context` does them in that order, after NumPyro's single ``run_inference``
serving every example (``examples/`` in NumPyro)::

    with run_context(model, seed=settings.seed, device=settings.device, work_elements=n,
                     model_args=args, observations={"measurement": 14.0}) as run:
        mcmc.run(*run.args)          # run.model is conditioned on the measurement
    wall_time_s = run.elapsed()      # counted from inside the guard, never its queue

The device is resolved before the guard, so an unknown device is refused without
queueing; the clock starts inside it, so time spent waiting for other runs is not the
run's (the README's run budget makes the same cut).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyro
import torch

from ppl_models.engine.device import DeviceChoice, resolve_device
from ppl_models.engine.runtime.guard import inference_guard
from ppl_models.engine.tensors import in_float64, observations_on, to_device


@dataclass(frozen=True)
class RunContext:
    """What a run needs once the prologue is done.

    :ivar choice: the device the run uses and, when it differs from the request, why.
    :ivar started: ``time.perf_counter()`` on entering the guard.
    :ivar args: the model arguments on the device (float64 when asked).
    :ivar observations: observed site -> value, as tensors on the device.
    :ivar interventions: intervened site -> value, as tensors on the device.
    :ivar model: the model under ``pyro.do(interventions)`` and ``pyro.condition(observations)``,
        or the model itself when the runner applies them (``condition=False``) or there is none.
    """

    choice: DeviceChoice
    started: float
    args: tuple
    observations: dict[str, torch.Tensor]
    interventions: dict[str, torch.Tensor]
    model: Callable | None
    float64: bool = False

    @property
    def device(self) -> torch.device:
        return self.choice.device

    @property
    def device_note(self) -> str:
        return self.choice.note

    def elapsed(self) -> float:
        """Seconds since the guard let the run in."""
        return time.perf_counter() - self.started

    def move(self, value: Any) -> Any:
        """Another value onto the run's device, the way the arguments were moved."""
        moved = to_device(value, self.device)
        return in_float64(moved) if self.float64 else moved


@contextmanager
def run_context(
    model: Callable | None = None,
    *,
    seed: int,
    device: str = "auto",
    work_elements: int = 1,
    model_args: tuple = (),
    observations: Mapping[str, Any] | tuple[tuple[str, Any], ...] | None = None,
    interventions: Mapping[str, Any] | None = None,
    float64: bool = False,
    condition: bool = True,
) -> Iterator[RunContext]:
    """Resolve the device, enter the guard, start the clock, move arguments and
    observations onto the device, and condition ``model``; the body is the run.

    :param model: the plain model, or ``None`` for a run that builds its own.
    :param int seed: the guard's seed (see :func:`~ppl_models.engine.runtime.guard.inference_guard`).
    :param str device: ``auto``, ``cpu`` or ``cuda`` (see :func:`~ppl_models.engine.device.resolve_device`).
    :param int work_elements: tensor elements per model evaluation, for the ``auto`` rule.
    :param observations: site -> observed value (a mapping or name/value pairs).
    :param interventions: site -> value the site is set to, applied with ``pyro.do``.
    :param bool float64: floating arguments and values as float64 (likelihood weighting's
        log weights need it: :func:`~ppl_models.engine.tensors.in_float64`).
    :param bool condition: ``False`` when the runner applies observations and interventions
        its own way (ChiRho's twin worlds); ``run.model`` is then the plain model.
    """
    choice = resolve_device(device, work_elements)
    with inference_guard(seed):
        started = time.perf_counter()  # time queued for the guard is not the run's

        def on_device(value: Any) -> Any:
            return in_float64(value) if float64 else value

        args = on_device(to_device(tuple(model_args), choice.device))
        data = on_device(observations_on(dict(observations or {}), choice.device))
        actions = on_device(observations_on(interventions, choice.device))
        runnable = model
        if condition and model is not None:
            # condition outside do: the observations are of the world after the intervention.
            runnable = pyro.do(runnable, data=actions) if actions else runnable
            runnable = pyro.condition(runnable, data=data) if data else runnable
        yield RunContext(choice, started, args, data, actions, runnable, float64)
