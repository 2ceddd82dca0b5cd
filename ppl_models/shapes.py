"""Distribution shapes and plates, computed by Pyro itself.

The lecture's rule: ``shape = sample_shape + batch_shape + event_shape`` (iid,
independent, dependent). ``.expand`` and ``pyro.plate`` add batch dims; ``.to_event``
moves batch dims to the event; plates are counted from the right. :func:`explore`
builds the chosen distribution and plates, samples, and reports every shape exactly as
Pyro and torch produce it, or turns Pyro's error into an explanation and a fix.

The setting itself is :mod:`ppl_models.shapes_settings`; what it may cost, and the check
that refuses it before anything is built, is :mod:`ppl_models.shapes_cost`.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine

from ppl_models.engine.prologue import run_context
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.engine.runtime.progress import Progress, ProgressCallback
from ppl_models.shapes_cost import check
from ppl_models.shapes_settings import FAMILIES, SITE_NAME, ShapesSettings


class ShapeError(InferenceError):
    """Pyro rejected the construction; carries Pyro's message, an explanation and a fix."""

    def __init__(self, pyro_message: str, explanation: str, fix: str):
        super().__init__(f"{pyro_message}\n{explanation} {fix}")
        self.pyro_message = pyro_message
        self.explanation = explanation
        self.fix = fix

    def __reduce__(self):
        # The default rebuilds an exception from its one joined message, which this
        # constructor cannot take: a worker's ShapeError would fail to unpickle here.
        return (type(self), (self.pyro_message, self.explanation, self.fix))


@dataclass(frozen=True)
class ShapeReport:
    """Shapes of ``d.sample(sample_shape)``, and of ``pyro.sample("x", d)`` inside the plates."""

    batch_shape: tuple[int, ...]
    event_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    value_shape: tuple[int, ...]
    log_prob_shape: tuple[int, ...]
    site_batch_shape: tuple[int, ...]  # the plates broadcast the batch shape out to their dims
    site_value_shape: tuple[int, ...]
    site_log_prob_shape: tuple[int, ...]
    trace_table: str  # Pyro's format_shapes() of a model sampling the site inside the plates
    plate_dims: tuple[tuple[str, int, int], ...]  # (name, size, dim) as Pyro allocated them
    code: str


def _build(spec: ShapesSettings) -> dist.Distribution:
    shape = torch.Size(spec.param_shape)
    family = spec.family
    if FAMILIES[family][1] and not shape:
        meaning = "dimension" if family == "MultivariateNormal" else "categories"
        raise ShapeError(
            f"{family} needs a parameter with at least one dim.",
            f"The last dim of {family}'s parameter is its {meaning}.",
            "Give the parameter shape at least one size, e.g. 3.",
        )
    if family == "Normal":
        d = dist.Normal(torch.zeros(shape), torch.ones(shape))
    elif family == "Bernoulli":
        d = dist.Bernoulli(torch.full(shape, 0.5))
    elif family == "Categorical":
        d = dist.Categorical(torch.full(shape, 1.0 / shape[-1]))
    elif family == "Beta":
        d = dist.Beta(torch.full(shape, 2.0), torch.full(shape, 2.0))
    elif family == "Poisson":
        d = dist.Poisson(torch.full(shape, 3.0))
    elif family == "Dirichlet":
        d = dist.Dirichlet(torch.ones(shape))
    else:
        size = shape[-1]
        d = dist.MultivariateNormal(torch.zeros(shape), torch.eye(size))
    if spec.expand is not None:
        try:
            d = d.expand(torch.Size(spec.expand))
        except (RuntimeError, ValueError) as error:
            raise ShapeError(
                str(error).split("\n")[0],
                f".expand({list(spec.expand)}) sets the batch shape; it can only add dims on the left or grow "
                f"dims of size 1, never change the existing batch shape {tuple(d.batch_shape)}.",
                f"End the expand shape with {tuple(d.batch_shape)}, e.g. {(4, *d.batch_shape)}.",
            ) from None
    if spec.to_event:
        try:
            d = d.to_event(spec.to_event)
        except ValueError as error:
            raise ShapeError(
                str(error).split("\n")[0],
                f".to_event({spec.to_event}) moves the {spec.to_event} rightmost batch dims into the event, but "
                f"the batch shape {tuple(d.batch_shape)} has only {len(d.batch_shape)}.",
                f"Use .to_event({len(d.batch_shape)}) at most, or add batch dims with .expand first.",
            ) from None
    return d


def _explain_plate_error(message: str, spec: ShapesSettings) -> ShapeError:
    first = message.split("\n")[0]
    if "collide at dim" in message:
        return ShapeError(
            first,
            "Two plates claim the same tensor dim, so Pyro cannot tell which of them a batch dim belongs to.",
            "Give each plate its own dim (e.g. -1 and -2), or leave dim on auto.",
        )
    if "Shape mismatch inside plate" in message:
        return ShapeError(
            first,
            "A plate of size N says: the dim it owns holds N independent copies. The "
            "distribution's batch shape has a different, non-1 size in that dim.",
            "Make the plate's size equal the batch dim it sits on, or move the plate to another dim.",
        )
    return ShapeError(first, "Pyro could not place the site inside these plates.", "Check each plate's size and dim.")


def explore(spec: ShapesSettings, progress: ProgressCallback | None = None) -> ShapeReport:
    """Build, sample and trace ``spec``; every shape is read back from what Pyro produced.

    :param progress: told at the start, after the draws and at the end, so that the run is
        one of the app's runs: it goes to a worker, under the run budget.
    :raises InferenceError: from :func:`check`, before anything is built.
    """
    check(spec)
    report = progress or (lambda _: None)
    report(Progress(stage="building", done=0, total=2))
    # The CPU always: the shapes are the lesson, and a shape does not depend on the device.
    with run_context(seed=0, device="cpu"):
        d = _build(spec)
        value = d.sample(torch.Size(spec.sample_shape))
        log_prob = d.log_prob(value)
        report(Progress(stage="tracing", done=1, total=2))
        allocated: list[tuple[str, int, int]] = []

        def model():
            with ExitStack() as stack:
                for plate in spec.plates:
                    messenger = pyro.plate(plate.name, plate.size, dim=plate.dim)
                    stack.enter_context(messenger)
                    allocated.append((plate.name, plate.size, messenger.dim))
                return pyro.sample(SITE_NAME, d)

        try:
            trace = poutine.trace(model).get_trace()
            trace.compute_log_prob()
        except ValueError as error:
            raise _explain_plate_error(str(error), spec) from None
        table = trace.format_shapes()
        site = trace.nodes[SITE_NAME]
    report(Progress(stage="tracing", done=2, total=2))
    return ShapeReport(
        batch_shape=tuple(d.batch_shape),
        event_shape=tuple(d.event_shape),
        sample_shape=tuple(spec.sample_shape),
        value_shape=tuple(value.shape),
        log_prob_shape=tuple(log_prob.shape),
        site_batch_shape=tuple(site["fn"].batch_shape),
        site_value_shape=tuple(site["value"].shape),
        site_log_prob_shape=tuple(site["log_prob"].shape),
        trace_table=table,
        plate_dims=tuple(allocated),
        code=explore_code(spec),
    )


def explore_code(spec: ShapesSettings) -> str:
    shape = list(spec.param_shape)
    builders = {
        "Normal": f"dist.Normal(torch.zeros({shape}), torch.ones({shape}))",
        "Bernoulli": f"dist.Bernoulli(torch.full({shape}, 0.5))",
        "Categorical": f"dist.Categorical(torch.full({shape}, 1 / {shape[-1] if shape else 1}))",
        "Beta": f"dist.Beta(torch.full({shape}, 2.), torch.full({shape}, 2.))",
        "Poisson": f"dist.Poisson(torch.full({shape}, 3.))",
        "Dirichlet": f"dist.Dirichlet(torch.ones({shape}))",
        "MultivariateNormal": f"dist.MultivariateNormal(torch.zeros({shape}), torch.eye({shape[-1] if shape else 1}))",
    }
    line = "d = " + builders[spec.family]
    if spec.expand is not None:
        line += f".expand({list(spec.expand)})"
    if spec.to_event:
        line += f".to_event({spec.to_event})"
    lines = [
        "import torch",
        "import pyro",
        "import pyro.distributions as dist",
        "",
        line,
        'print("batch_shape:", d.batch_shape, "event_shape:", d.event_shape)',
        f"x = d.sample(torch.Size({list(spec.sample_shape)}))",
        'print("x shape:", x.shape, "log_prob shape:", d.log_prob(x).shape)',
    ]
    if spec.plates:
        lines += ["", "def model():"]
        indent = "    "
        for plate in spec.plates:
            dim = "" if plate.dim is None else f", dim={plate.dim}"
            lines.append(f'{indent}with pyro.plate("{plate.name}", {plate.size}{dim}):')
            indent += "    "
        lines.append(f'{indent}return pyro.sample("x", d)')
        lines += [
            "",
            "trace = pyro.poutine.trace(model).get_trace()",
            "trace.compute_log_prob()",
            "print(trace.format_shapes())",
        ]
    return "\n".join(lines) + "\n"
