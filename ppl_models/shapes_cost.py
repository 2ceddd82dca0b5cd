"""What a shapes setting would cost, so that it is refused before any tensor exists.

Every size is small, but their products are not: a link can ask for a batch of 1,000
MultivariateNormals of dimension 1,000, whose covariance check alone is 1,000 Cholesky
factorisations of 1,000 x 1,000 matrices. Only the shapes are known up front, so
:func:`estimate_cost` bounds the memory and arithmetic of a setting from its shapes
alone, following what torch actually allocates, and :func:`check` (the first thing
:func:`ppl_models.shapes.explore` does) refuses a setting over the bounds with what to
make smaller.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.shapes_settings import FAMILIES, SITE_NAME, PlateSpec, ShapesSettings

# What one shapes setting may cost. A worker is sized at 200 MB and idles at about 155 MB
# (ppl_models/workers.py), so one setting gets the rest; a billion arithmetic operations
# is about a second of one core here.
MAX_BYTES = 50_000_000
MAX_OPERATIONS = 1_000_000_000
MAX_ELEMENTS = 1_000_000  # the most numbers one draw may hold (numbers_drawn)
FLOAT = 4
LONG = 8
# Python's share of even the smallest setting: the trace, its table, the code text.
FIXED_BYTES = 4_000_000
PLATE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


@dataclass(frozen=True)
class CostPart:
    """One step of :func:`ppl_models.shapes.explore`: what it holds at once and how much arithmetic it does."""

    name: str  # "covariances", "parameters", "sample" or "site"
    numbers: int  # members (batch, or sample x batch) this step works on
    bytes: int
    operations: int


@dataclass(frozen=True)
class Cost:
    """An upper bound on what :func:`ppl_models.shapes.explore` needs for a setting, from its shapes alone."""

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


def estimate_cost(spec: ShapesSettings) -> Cost:
    """Memory and arithmetic of :func:`ppl_models.shapes.explore` for ``spec``, computed from the shapes alone.

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
        # every member: d^3 / 3 each). Measured in a fresh process: 4.0 to 4.1 copies of
        # batch x d^2 numbers at (100, 100), (300, 300) and (10, 1000), and 5 for a single
        # (1000,); in a process with a long history (a test run, a worker) 6.6 at (2, 1000),
        # as freed blocks stay with the allocator. The estimate allows 7.
        parts = [
            CostPart(
                "covariances",
                members,
                ((7 * members + 1) * width * width + 4 * members * width) * FLOAT,
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


def _fits(spec: ShapesSettings) -> bool:
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


def _covariance_advice(spec: ShapesSettings) -> str:
    batch, width = spec.param_shape[:-1], spec.param_shape[-1]
    members = _prod(batch)
    alone = [
        lambda b: _fits(ShapesSettings("MultivariateNormal", (b, width))),
        lambda d: _fits(ShapesSettings("MultivariateNormal", (members, d))),
    ]
    fewer, narrower = _largest(alone[0], members - 1), _largest(alone[1], width - 1)
    examples = [f"{fewer}, {width}"] if fewer else []
    if narrower:
        examples.append(f"{members}, {narrower}")
    batch_words = f"{members:,}" if len(batch) == 1 else f"{_shape_words(batch)} = {members:,}"
    advice = f"Reduce the batch ({batch_words}) or the dimension ({width:,})"
    return advice + (f": e.g. a parameter shape of {' or '.join(examples)}." if examples else ".")


def _what(part: CostPart, spec: ShapesSettings) -> tuple[str, str]:
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


def cost_message(spec: ShapesSettings, cost: Cost) -> str:
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


def numbers_drawn(spec: ShapesSettings) -> int:
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


def check(spec: ShapesSettings) -> None:
    """Refuse, before anything is built, a setting :func:`ppl_models.shapes.explore` should not run.

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
