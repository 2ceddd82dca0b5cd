"""Distribution shapes and plates, computed by Pyro itself.

The lecture's rule: ``shape = sample_shape + batch_shape + event_shape`` (iid,
independent, dependent). ``.expand`` and ``pyro.plate`` add batch dims; ``.to_event``
moves batch dims to the event; plates are counted from the right. :func:`explore`
builds the chosen distribution and plates, samples, and reports every shape exactly as
Pyro and torch produce it, or turns Pyro's error into an explanation and a fix.

Every size is small, but their products are not: a link can ask for a batch of 1,000
MultivariateNormals of dimension 1,000, whose covariance check alone is 1,000 Cholesky
factorisations of 1,000 x 1,000 matrices. :func:`estimate_cost` bounds the memory and
arithmetic of a setting from its shapes alone, before any tensor exists, following what
torch actually allocates, and :func:`check` refuses a setting over the bounds with what
to make smaller.
"""

from __future__ import annotations

import math
import re
from contextlib import ExitStack
from dataclasses import dataclass

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine

from ppl_models.errors import InferenceError
from ppl_models.guard import inference_guard
from ppl_models.progress import Progress, ProgressCallback

# family -> (parameter names, whether the parameter's last dim is the event/categories)
FAMILIES = {
    "Normal": ("loc, scale", False),
    "Bernoulli": ("probs", False),
    "Categorical": ("probs (last dim: categories)", True),
    "Beta": ("concentration1, concentration0", False),
    "Poisson": ("rate", False),
    "Dirichlet": ("concentration (last dim: categories)", True),
    "MultivariateNormal": ("loc (last dim: dimension), covariance eye(d)", True),
}
MAX_DIM = 1000
MAX_ELEMENTS = 1_000_000


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
class PlateSpec:
    name: str
    size: int
    dim: int | None = None  # None: Pyro picks the next free dim to the left


@dataclass(frozen=True)
class ShapeSpec:
    family: str = "Normal"
    param_shape: tuple[int, ...] = ()
    expand: tuple[int, ...] | None = None
    to_event: int = 0
    sample_shape: tuple[int, ...] = ()
    plates: tuple[PlateSpec, ...] = ()


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


PRESETS = {
    "mvn_expand": ShapeSpec("MultivariateNormal", (3,), expand=(5,)),
    "mvn_plate": ShapeSpec("MultivariateNormal", (3,), plates=(PlateSpec("x_axis", 5),)),
    "nested_plates": ShapeSpec("Normal", (), plates=(PlateSpec("x_axis", 320, -1), PlateSpec("y_axis", 200, -2))),
}


def parse_shape(text: str) -> tuple[int, ...]:
    """``"5, 3"`` -> ``(5, 3)``; empty -> ``()``. Sizes must be whole numbers from 1 to 1000."""
    parts = [p for p in text.replace("(", " ").replace(")", " ").replace(",", " ").split() if p]
    sizes = []
    for part in parts:
        try:
            size = int(part)
        except ValueError:
            quoted = part if len(part) <= 20 else part[:19] + "…"
            raise InferenceError(f"{quoted!r} is not a whole number; write a shape like 5, 3.") from None
        if not 1 <= size <= MAX_DIM:
            raise InferenceError(f"Every size must be between 1 and {MAX_DIM}; got {size}.")
        sizes.append(size)
    return tuple(sizes)


# What one shapes setting may cost. A worker is sized at 200 MB and idles at about 155 MB
# (ppl_models/workers.py), so one setting gets the rest; a billion arithmetic operations
# is about a second of one core here.
MAX_BYTES = 50_000_000
MAX_OPERATIONS = 1_000_000_000
FLOAT = 4
LONG = 8
# Python's share of even the smallest setting: the trace, its table, the code text.
FIXED_BYTES = 4_000_000
PLATE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
SITE_NAME = "x"


@dataclass(frozen=True)
class CostPart:
    """One step of :func:`explore`: what it holds at once and how much arithmetic it does."""

    name: str  # "covariances", "parameters", "sample" or "site"
    numbers: int  # members (batch, or sample x batch) this step works on
    bytes: int
    operations: int


@dataclass(frozen=True)
class Cost:
    """An upper bound on what :func:`explore` needs for a setting, from its shapes alone."""

    parts: tuple[CostPart, ...]

    @property
    def bytes(self) -> int:
        # The sample, its log_prob and the trace stay alive together, so the steps add up.
        return FIXED_BYTES + sum(part.bytes for part in self.parts)

    @property
    def operations(self) -> int:
        return sum(part.operations for part in self.parts)


def _prod(sizes) -> int:
    return math.prod(sizes) if sizes else 1


def _expanded(batch: tuple[int, ...], expand: tuple[int, ...]) -> bool:
    """Whether torch's ``.expand`` accepts ``expand`` for ``batch``: it only adds dims on
    the left and grows dims of size 1."""
    if len(expand) < len(batch):
        return False
    return all(old in (1, new) for old, new in zip(batch, expand[len(expand) - len(batch) :], strict=True))


def _site_batch(batch: tuple[int, ...], plates: tuple[PlateSpec, ...]) -> tuple[int, ...]:
    """The site's batch shape inside ``plates``, placed as Pyro's dim allocator places them;
    where sizes disagree (Pyro refuses that) the larger one, so that it stays an upper bound."""
    taken: dict[int, int] = {}
    for plate in plates:
        dim = plate.dim
        if dim is None:
            dim = -1
            while dim in taken:
                dim -= 1
        taken[dim] = max(taken.get(dim, 1), plate.size)
    width = max([len(batch), *(-dim for dim in taken)])
    shape = [1] * (width - len(batch)) + list(batch)
    for dim, size in taken.items():
        shape[dim] = max(shape[dim], size)
    return tuple(shape)


def _draw_part(name: str, family: str, batch: int, draws: int, width: int) -> CostPart:
    """Drawing ``draws`` values (``draws / batch`` per batch member) and their log_prob.

    Measured on torch 2.13: a scalar family holds its value, log_prob and the broadcast
    parameters, with temporaries: up to 8 numbers per draw; Dirichlet expands its
    concentration to every draw; Categorical copies its probabilities and logits once per
    batch member (not per draw), ``width`` categories each, and draws 64-bit indices;
    MultivariateNormal multiplies each draw by its d x d scale and solves with it for
    log_prob (3 d^2 operations).
    """
    if family == "MultivariateNormal":
        operations = draws * (3 * width * width + 60 * width)
        return CostPart(name, draws, draws * width * FLOAT * 8 + draws * FLOAT * 4, operations)
    if family == "Dirichlet":
        return CostPart(name, draws, draws * width * FLOAT * 6, draws * width * 200)
    if family == "Categorical":
        return CostPart(
            name, draws, batch * width * FLOAT * 4 + draws * (LONG + FLOAT) * 4, batch * width * 40 + draws * 100
        )
    # Beta draws two gammas per value; a plate's log_prob adds a scaled and a summed copy.
    return CostPart(name, draws, draws * FLOAT * (16 if family == "Beta" else 11), draws * 200)


def estimate_cost(spec: ShapeSpec) -> Cost:
    """Memory and arithmetic of :func:`explore` for ``spec``, computed from the shapes alone.

    Steps that Pyro would refuse (an expand that does not fit, a ``to_event`` beyond the
    batch) end the estimate there, as they end the work.
    """
    family = spec.family
    shape = spec.param_shape
    dependent = FAMILIES[family][1]
    if dependent and not shape:
        return Cost(())
    batch = shape[:-1] if dependent else shape
    width = shape[-1] if dependent else 1
    members = _prod(batch)
    if family == "MultivariateNormal":
        # loc, and eye(d) broadcast to the batch: the constructor's positive-definite check
        # materialises that broadcast (a symmetry test, then a Cholesky copy and factor of
        # every member: d^3 / 3 each). Measured: 4.0 to 4.1 copies of batch x d^2 numbers
        # at (100, 100), (300, 300) and (10, 1000), and 5 for a single (1000,).
        parts = [
            CostPart(
                "covariances",
                members,
                ((5 * members + 1) * width * width + 4 * members * width) * FLOAT,
                members * (width**3 // 3 + 30 * width * width),
            )
        ]
    else:
        # Pyro's argument checks hold a temporary or two beside each parameter.
        per_member = {"Categorical": 2 * width, "Dirichlet": 2 * width, "Beta": 6}.get(family, 4)
        parts = [CostPart("parameters", members, members * per_member * FLOAT * 3 // 2, members * per_member * 20)]
    if spec.expand is not None:
        if not _expanded(batch, spec.expand):
            return Cost(tuple(parts))
        batch = spec.expand
    if spec.to_event > len(batch):
        return Cost(tuple(parts))
    members = _prod(batch)
    parts.append(_draw_part("sample", family, members, members * _prod(spec.sample_shape), width))
    site_batch = _site_batch(batch[: len(batch) - spec.to_event], spec.plates)
    site_members = _prod(site_batch) * _prod(batch[len(batch) - spec.to_event :])
    parts.append(_draw_part("site", family, site_members, site_members, width))
    return Cost(tuple(parts))


def _size_words(n_bytes: float) -> str:
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.0f} GB" if n_bytes >= 1e10 else f"{n_bytes / 1e9:.1f} GB"
    return f"{max(1, round(n_bytes / 1e6))} MB"


def _operations_words(operations: float) -> str:
    if operations >= 1e9:
        return f"{operations / 1e9:.1f} billion" if operations < 1e10 else f"{operations / 1e9:.0f} billion"
    return f"{max(1, round(operations / 1e6))} million"


def _fits(spec: ShapeSpec) -> bool:
    cost = estimate_cost(spec)
    return cost.bytes <= MAX_BYTES and cost.operations <= MAX_OPERATIONS


def _largest(fits, high: int) -> int:
    """The largest n in 1..high with fits(n) (fits is monotone); 0 when even 1 does not."""
    low, best = 1, 0
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def _shape_words(shape: tuple[int, ...]) -> str:
    return " x ".join(f"{size:,}" for size in shape) if shape else "one"


def _covariance_advice(spec: ShapeSpec) -> str:
    batch, width = spec.param_shape[:-1], spec.param_shape[-1]
    members = _prod(batch)
    alone = [
        lambda b: _fits(ShapeSpec("MultivariateNormal", (b, width))),
        lambda d: _fits(ShapeSpec("MultivariateNormal", (members, d))),
    ]
    fewer, narrower = _largest(alone[0], members - 1), _largest(alone[1], width - 1)
    examples = [f"{fewer}, {width}"] if fewer else []
    if narrower:
        examples.append(f"{members}, {narrower}")
    batch_words = f"{members:,}" if len(batch) == 1 else f"{_shape_words(batch)} = {members:,}"
    advice = f"Reduce the batch ({batch_words}) or the dimension ({width:,})"
    return advice + (f": e.g. a parameter shape of {' or '.join(examples)}." if examples else ".")


def _what(part: CostPart, spec: ShapeSpec) -> tuple[str, str]:
    """What a costly step is, in the student's terms, and which controls make it smaller."""
    family = spec.family
    dimension = {"MultivariateNormal": "the dimension", "Dirichlet": "the categories", "Categorical": "the categories"}
    last = f", or {dimension[family]} (the parameter's last size)" if family in dimension else ""
    if part.name == "covariances":
        members = _prod(spec.param_shape[:-1])
        width = spec.param_shape[-1]
        return (
            f"A batch of {members:,} MultivariateNormal covariances of {width:,} x {width:,}",
            _covariance_advice(spec),
        )
    if part.name == "parameters":
        return (f"{family}'s parameters of shape {spec.param_shape}", "Make the parameter shape smaller")
    if part.name == "sample":
        return (
            f"d.sample with sample_shape {spec.sample_shape} ({part.numbers:,} draws of {family})",
            f"Make the sample shape or the batch (the parameter shape or .expand) smaller{last}",
        )
    return (
        f"The site inside the plates ({part.numbers:,} draws of {family})",
        f"Make the plates or the batch (the parameter shape or .expand) smaller{last}",
    )


def cost_message(spec: ShapeSpec, cost: Cost) -> str:
    """Why ``spec`` is refused and what to change; empty when it fits."""
    if cost.bytes > MAX_BYTES:
        part = max(cost.parts, key=lambda p: p.bytes)
        what, advice = _what(part, spec)
        needs = f"{_size_words(cost.bytes)} of memory; this server allows {_size_words(MAX_BYTES)} a shape"
        factor = cost.bytes / MAX_BYTES
    elif cost.operations > MAX_OPERATIONS:
        part = max(cost.parts, key=lambda p: p.operations)
        what, advice = _what(part, spec)
        needs = (
            f"{_operations_words(cost.operations)} arithmetic operations; this server allows "
            f"{_operations_words(MAX_OPERATIONS)} per shape (about a second)"
        )
        factor = cost.operations / MAX_OPERATIONS
    else:
        return ""
    if part.name != "covariances":
        advice += f", about {math.ceil(factor):,} times." if factor < 10 else f", at least {math.ceil(factor):,} times."
    return f"{what} would need about {needs}. {advice}"


def numbers_drawn(spec: ShapeSpec) -> int:
    """The most numbers one draw holds: ``d.sample(sample_shape)``, or the site inside the
    plates (sample, batch and event sizes multiplied; plates broadcast with the batch)."""
    shape = spec.param_shape
    batch = shape[:-1] if FAMILIES[spec.family][1] else shape
    event = _prod(shape[-1:]) if spec.family in ("Dirichlet", "MultivariateNormal") else 1
    if spec.expand is not None and _expanded(batch, spec.expand):
        batch = spec.expand
    kept = max(0, len(batch) - spec.to_event)
    site = _prod(_site_batch(batch[:kept], spec.plates)) * _prod(batch[kept:])
    return max(_prod(spec.sample_shape) * _prod(batch), site) * event


def check(spec: ShapeSpec) -> None:
    """Refuse, before anything is built, a setting :func:`explore` should not run.

    :raises InferenceError: with what to change, for an unknown family, a plate name that
        is not a short identifier, too many numbers, or a cost over the bounds.
    """
    if spec.family not in FAMILIES:
        raise InferenceError(f"Unknown distribution {spec.family!r}; choose one of {', '.join(FAMILIES)}.")
    names = [plate.name for plate in spec.plates]
    for name in names:
        if not PLATE_NAME.fullmatch(name) or name == SITE_NAME:
            raise InferenceError(
                "A plate's name must be a short identifier (a letter, then up to 31 letters, digits or _), "
                f"other than the site's own name {SITE_NAME}, e.g. x_axis."
            )
    if len(set(names)) < len(names):
        raise InferenceError("Each plate needs its own name, e.g. x_axis and y_axis.")
    total = numbers_drawn(spec)
    if total > MAX_ELEMENTS:
        raise InferenceError(f"That would draw {total:,} numbers; keep it under {MAX_ELEMENTS:,}.")
    message = cost_message(spec, estimate_cost(spec))
    if message:
        raise InferenceError(message)


def _build(spec: ShapeSpec) -> dist.Distribution:
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


def _explain_plate_error(message: str, spec: ShapeSpec) -> ShapeError:
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


def explore(spec: ShapeSpec, progress: ProgressCallback | None = None) -> ShapeReport:
    """Build, sample and trace ``spec``; every shape is read back from what Pyro produced.

    :param progress: told at the start, after the draws and at the end, so that the run is
        one of the app's runs: it goes to a worker, under the run budget.
    :raises InferenceError: from :func:`check`, before anything is built.
    """
    check(spec)
    report = progress or (lambda _: None)
    report(Progress(stage="building", done=0, total=2))
    with inference_guard(seed=0):
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
        code=code(spec),
    )


def code(spec: ShapeSpec) -> str:
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
