"""A Pyro model's potential energy, for many chains at once, as a graph of tensor operations.

The batched sampler (:mod:`ppl_models.engine.batched_hmc`) needs, for a whole batch of chains
each with its own setting, the gradient of every chain's potential energy in a handful of
tensor operations. This module derives it once per model *structure* (which sites are
latent, which observed, their shapes, the dtype, the batch width) and keeps it:

1. The potential is Pyro's own: ``initialize_model`` of the model conditioned on its
   observations gives the sites' transforms and the log-density evaluator, and Pyro's
   potential maker (``_PEMaker``, what ``initialize_model`` returns the bound method of)
   evaluates ``-log p(z, data)`` with the Jacobian terms. The setting's numbers (model
   arguments and observed values) enter as *inputs* of that potential, not as constants,
   so a new setting is not a new trace.
2. ``torch.func.vmap`` of ``torch.func.grad`` turns one chain's potential into a whole
   batch's, and ``make_fx`` records it as plain aten operations: no autograd tape and no
   Pyro effect handlers run while sampling.
3. The operations that depend only on the setting (``scale ** 2``, ``log(scale)``, the
   constant of the normal density) are split off into a *prelude* that runs once per
   run; the *core* that runs at every leapfrog step keeps only what depends on the
   position. For the scale model that is 12 operations a step out of 60.

Models with discrete latent sites, data-dependent control flow or operations ``vmap``
cannot batch raise :class:`NotBatchable`, and the caller runs Pyro's own HMC instead.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import pyro
import torch
from pyro import poutine
from pyro.infer.mcmc.util import initialize_model
from torch.fx.experimental.proxy_tensor import make_fx

aten = torch.ops.aten

# Operations whose result depends on their argument's shape only: a position-dependent
# argument does not make them position-dependent (the autograd seed ``ones_like(value)``).
_SHAPE_ONLY = {
    aten.ones_like.default,
    aten.zeros_like.default,
    aten.empty_like.default,
    aten.full_like.default,
}

# Each structure's graphs hold a few MB (bench/batched_hmc.py measures them); a class
# explores one or two models at a time, so a handful covers it.
MAX_STRUCTURES = 6


class NotBatchable(Exception):
    """This model cannot run on the batched sampler; Pyro's HMC runs it instead."""


@dataclass(frozen=True)
class SiteLayout:
    """Where each latent site lives in a chain's flat unconstrained vector."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    sizes: tuple[int, ...]

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """One chain's flat vector (or ``(..., dim)`` of them) as site values."""
        values, start = {}, 0
        lead = flat.shape[:-1]
        for name, shape, size in zip(self.names, self.shapes, self.sizes, strict=True):
            values[name] = flat[..., start : start + size].reshape((*lead, *shape))
            start += size
        return values


def _sums_over_single_elements(node: torch.fx.Node) -> bool:
    if node.target is not aten.sum.dim_IntList or len(node.args) < 2:
        return False
    source = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else None
    keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
    if source is None or keepdim or node.kwargs.get("dtype") is not None:
        return False
    return all(source.shape[d] == 1 for d in node.args[1])


def _drop_identities(module: torch.fx.GraphModule) -> None:
    """Remove operations that compute nothing: ``x ** 1.0``, aliases, and sums over a
    single element (Pyro sums each site's log-density over its event dimensions, which for
    a scalar site is one number). Each costs a dispatch at every leapfrog step."""
    graph = module.graph
    for node in list(graph.nodes):
        if node.op != "call_function":
            continue
        if node.target is aten.alias.default or (node.target is aten.pow.Tensor_Scalar and node.args[1] == 1.0):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
        elif _sums_over_single_elements(node):
            with graph.inserting_before(node):
                squeezed = graph.call_function(aten.squeeze.dims, (node.args[0], list(node.args[1])))
            squeezed.meta = dict(node.meta)
            node.replace_all_uses_with(squeezed)
            graph.erase_node(node)
    # An unsqueeze undone at once by a squeeze of the same dimension is no operation at all.
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target is aten.squeeze.dims:
            inner = node.args[0]
            if (
                isinstance(inner, torch.fx.Node)
                and inner.target is aten.unsqueeze.default
                and len(inner.users) == 1
                and _dims_match(inner, node)
            ):
                node.replace_all_uses_with(inner.args[0])
                graph.erase_node(node)
                graph.erase_node(inner)
    graph.eliminate_dead_code()
    module.recompile()


def _dims_match(unsqueeze: torch.fx.Node, squeeze: torch.fx.Node) -> bool:
    rank = unsqueeze.meta["val"].dim()
    added = unsqueeze.args[1] % rank
    return [d % rank for d in squeeze.args[1]] == [added]


def _hoist_invariants(module: torch.fx.GraphModule, varying_inputs: int) -> tuple[Callable, Callable]:
    """Split ``module(*varying, *inputs)`` into ``prelude(*varying, *inputs) -> invariants``
    and ``core(*varying, *invariants) -> outputs``.

    A node is varying when an argument is, except through a shape-only operation; every
    invariant node a varying node (or the output) uses becomes an input of the core. The
    prelude takes the varying inputs too, for those shapes; their values never reach an
    invariant node.
    """
    graph = module.graph
    placeholders = [node for node in graph.nodes if node.op == "placeholder"]
    varying = set(placeholders[:varying_inputs])
    (output,) = [node for node in graph.nodes if node.op == "output"]
    for node in graph.nodes:
        if node.op != "call_function" or node.target in _SHAPE_ONLY:
            continue
        if any(arg in varying for arg in node.all_input_nodes):
            varying.add(node)

    boundary: list[torch.fx.Node] = []
    for node in graph.nodes:
        if node in varying or node.op == "output":
            for arg in node.all_input_nodes:
                if arg not in varying and arg not in boundary:
                    boundary.append(arg)

    prelude_graph = torch.fx.Graph()
    remap: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in graph.nodes:
        if node.op == "output":
            break
        remap[node] = prelude_graph.node_copy(node, lambda arg: remap[arg])
    prelude_graph.output(tuple(remap[node] for node in boundary))
    prelude_graph.eliminate_dead_code()

    core_graph = torch.fx.Graph()
    core_remap: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in placeholders[:varying_inputs]:
        core_remap[node] = core_graph.node_copy(node)
    for index, node in enumerate(boundary):
        if node not in core_remap:
            core_remap[node] = core_graph.placeholder(f"invariant_{index}")
    for node in graph.nodes:
        if node in varying and node.op != "placeholder":
            core_remap[node] = core_graph.node_copy(node, lambda arg: core_remap[arg])
    core_graph.node_copy(output, lambda arg: core_remap[arg])
    core_graph.eliminate_dead_code()
    prelude = torch.fx.GraphModule(module, prelude_graph)
    return prelude, torch.fx.GraphModule(module, core_graph)


class PotentialGraphs:
    """One model structure's batched potential: Pyro's, with the setting as inputs.

    :ivar layout: the latent sites in the flat vector, in Pyro's mass-matrix order.
    :ivar transforms: Pyro's unconstrained-to-constrained transforms, per site.
    :ivar width: how many chains every call handles (the batch is padded to it).
    :ivar compilation_unit: holds the TorchScript traces of this structure; they are freed
        with it (the inference guard empties the process-wide unit after each run).
    """

    def __init__(
        self, model: Callable, observed: tuple[str, ...], prototype_inputs: Sequence[torch.Tensor], width: int
    ):
        self.width = width
        self.observed = observed
        argument_count = len(prototype_inputs) - len(observed)

        def with_evidence(*inputs):
            data = dict(zip(observed, inputs[argument_count:], strict=True))
            return poutine.condition(model, data=data)(*inputs[:argument_count])

        with torch.random.fork_rng(devices=[]), pyro.validation_enabled(False):
            try:
                initial, potential_fn, transforms, trace = initialize_model(with_evidence, tuple(prototype_inputs))
            except (ValueError, RuntimeError, NotImplementedError) as error:
                raise NotBatchable(f"Pyro could not set up the model: {error}") from error
        if not initial:
            raise NotBatchable("the model has no continuous latent sites")
        if any(site["type"] == "sample" and site["infer"].get("enumerate") for site in trace.nodes.values()):
            raise NotBatchable("the model enumerates discrete sites")
        maker = getattr(potential_fn, "__self__", None)
        if maker is None:
            raise NotBatchable("Pyro's potential is not a plain potential maker")
        names = tuple(sorted(initial))
        self.layout = SiteLayout(
            names, tuple(initial[n].shape for n in names), tuple(max(1, initial[n].numel()) for n in names)
        )
        self.transforms = transforms
        self.supports = {name: trace.nodes[name]["fn"].support for name in names}
        self.dtype = initial[names[0]].dtype
        maker_class, evaluator = type(maker), maker.trace_prob_evaluator

        def element_potential(flat: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
            chain_maker = maker_class(with_evidence, inputs, {}, evaluator, transforms)
            return chain_maker._potential_fn(self.layout.unflatten(flat))

        def gradient(flat, *inputs):
            return torch.func.grad(element_potential)(flat, *inputs)

        def gradient_and_value(flat, *inputs):
            return torch.func.grad_and_value(element_potential)(flat, *inputs)

        flat = torch.zeros(width, self.layout.dim, dtype=self.dtype)
        batched_inputs = [
            torch.as_tensor(value).expand(width, *torch.as_tensor(value).shape).clone() for value in prototype_inputs
        ]
        try:
            with pyro.validation_enabled(False):
                gradient_graph = make_fx(torch.func.vmap(gradient))(flat, *batched_inputs)
                value_graph = make_fx(torch.func.vmap(gradient_and_value))(flat, *batched_inputs)
        except Exception as error:  # noqa: BLE001 - whatever vmap or make_fx cannot trace
            raise NotBatchable(f"{type(error).__name__}: {error}") from error
        for graph in (gradient_graph, value_graph):
            _drop_identities(graph)
        self._gradient_prelude, self.gradient_core = _hoist_invariants(gradient_graph, 1)
        self._value_prelude, self.value_core = _hoist_invariants(value_graph, 1)
        self.compilation_unit = torch._C.CompilationUnit()
        self.traces: dict[Hashable, Callable] = {}

    def invariants(self, flat: torch.Tensor, inputs: Sequence[torch.Tensor]) -> tuple[tuple, tuple]:
        """What the cores need besides the position, computed once per run."""
        with torch.no_grad():
            return tuple(self._gradient_prelude(flat, *inputs)), tuple(self._value_prelude(flat, *inputs))

    def gradient_and_value(self, flat: torch.Tensor, value_invariants: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            gradient, value = self.value_core(flat, *value_invariants)
        return gradient, value

    def traced(self, key: Hashable, build: Callable[[], tuple[Callable, tuple]]) -> Callable:
        """A TorchScript trace of ``build()``'s function on its example inputs, kept per ``key``."""
        function = self.traces.get(key)
        if function is None:
            body, example = build()
            function = trace_kept(body, example, self.compilation_unit)
            self.traces[key] = function
        return function


# The batch widths: every batch is padded to one of them.
WIDTHS = (32, 128)


def trace_kept(body: Callable, example: tuple, unit) -> Callable:
    """``torch.jit.trace(body, example)``, registered in ``unit`` instead of the process-wide unit.

    torch.jit.trace always registers in the process-wide unit, which the inference guard
    empties after every run (freeing Pyro's JIT traces); a trace kept across runs must live
    in a unit of its own, freed with its owner. Tracing runs inside the guard, so no other
    thread traces meanwhile.
    """
    process_wide = torch.jit._state._python_cu
    torch.jit._state._python_cu = unit
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch 2.13 deprecates torch.jit.trace; nothing here for a student.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return torch.jit.trace(body, example, check_trace=False)
    finally:
        torch.jit._state._python_cu = process_wide


def padded_width(chains: int) -> int:
    """The batch width for ``chains`` chains: 32, or 128 for a bigger batch.

    torch's CPU kernels run whole vector registers, and only the last, partial register of
    a tensor through a scalar loop whose ``exp`` and ``log`` may round differently. With the
    width a multiple of 32 (two AVX-512 registers of float32) no chain ever lands in that
    loop, so a chain's arithmetic is the same in every batch, alone or with 127 others. Two
    widths, not every multiple of 32, keep the structures' traces to two per model.
    """
    for width in WIDTHS:
        if chains <= width:
            return width
    raise ValueError(f"at most {WIDTHS[-1]} chains in one batch")


_cache: OrderedDict[Hashable, PotentialGraphs] = OrderedDict()
_cache_lock = threading.Lock()


def structure_key(model: Callable, observed: tuple[str, ...], inputs: Sequence[torch.Tensor], width: int) -> tuple:
    shapes = tuple((tuple(value.shape), str(value.dtype)) for value in inputs)
    # The function itself, not its name: two closures of one name may hold other constants,
    # and a potential built for one would be silently wrong for the other. Held in the key,
    # the object cannot be freed and its id reused.
    return (model, observed, shapes, width)


def graphs_for(
    model: Callable, observed: tuple[str, ...], inputs: Sequence[torch.Tensor], width: int
) -> PotentialGraphs:
    """The structure's graphs, built on first use and kept (least recently used out first)."""
    key = structure_key(model, observed, inputs, width)
    with _cache_lock:
        graphs = _cache.get(key)
        if graphs is not None:
            _cache.move_to_end(key)
            return graphs
    graphs = PotentialGraphs(model, observed, inputs, width)
    with _cache_lock:
        _cache[key] = graphs
        while len(_cache) > MAX_STRUCTURES:
            _cache.popitem(last=False)
    return graphs


def cached_structures() -> int:
    return len(_cache)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
