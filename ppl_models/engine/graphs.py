"""Model graphs drawn by Pyro itself (``pyro.render_model``), as Graphviz DOT text.

Only the DOT source is produced here; the browser draws it (``st.graphviz_chart``),
so no system Graphviz is needed on the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pyro
from pyro.distributions import TransformedDistribution

from ppl_models.engine.prologue import run_context


def model_graph(
    model: Callable,
    model_args: tuple = (),
    observations: Mapping[str, Any] | tuple[tuple[str, Any], ...] = (),
    seed: int = 0,
) -> str:
    """DOT source of ``model`` with ``observations`` drawn as observed (shaded) nodes.

    Rendering traces the model, which touches Pyro's global handler stack, so it runs
    under the inference guard like any run.

    :param seed: which run is drawn, for a program whose sites differ from run to run.
    """
    # The CPU always: a graph is one trace of the model, and what it shows does not depend on the device.
    with run_context(model, seed=seed, device="cpu", model_args=model_args, observations=observations) as run:
        graph = pyro.render_model(run.model, model_args=run.args, render_distributions=True)
        trace = pyro.poutine.trace(run.model).get_trace(*run.args)
    observed = [name for name, _ in (observations.items() if isinstance(observations, Mapping) else observations)]
    return _say_observed(_name_transformed_sites(graph.source, trace), observed)


def _say_observed(source: str, observed: list[str]) -> str:
    """An observed node says "(observed)" under its name: grey shading alone is lost on a
    reader who cannot tell the greys apart, or on a screen reader reading the graph's text."""
    for name in observed:
        source = re.sub(
            rf"^(\s*{re.escape(name)} \[label=)(?:{re.escape(name)}|\"{re.escape(name)}\") ",
            rf'\g<1>"{name}\\n(observed)" ',
            source,
            flags=re.MULTILINE,
        )
    return source


def _name_transformed_sites(source: str, trace) -> str:
    """``x ~ TransformedDistribution`` says what the code does not: name its base and transforms.

    A site written as a transformed noise (so a counterfactual can share the noise) reads
    in the code as, say, a shifted Normal; the graph says so too.
    """
    for name, node in trace.nodes.items():
        fn = node.get("fn")
        if node["type"] != "sample" or not isinstance(fn, TransformedDistribution):
            continue
        transforms = ", ".join(type(t).__name__ for t in fn.transforms)
        source = source.replace(
            f"{name} ~ TransformedDistribution", f"{name} ~ {type(fn.base_dist).__name__} then {transforms}"
        )
    return source


def intervened_graph(source: str, site: str, value: float) -> str:
    """The graph after ``do(site = value)``: the site's incoming edges cut, the site boxed.

    Intervening replaces the site's mechanism by a constant, so whatever used to cause it
    no longer does; that missing edge is the picture of the difference between seeing and
    doing.
    """
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.endswith(f"-> {site}"):
            continue
        if stripped.startswith(f"{site} ["):
            line = f'\t{site} [label="do({site} = {value:g})" fillcolor="#fdd49e" shape=box style=filled]'
        if stripped.startswith("distribution_description_node"):
            # The site is set now, not drawn: its line in the legend says so.
            # Each legend entry follows the label's opening quote or Graphviz's \l line break.
            entry = rf'(?:(?<=")|(?<=\\l)){re.escape(site)} ~ [^\\]*'
            line = re.sub(entry, f"{site} = {value:g} (set by do)", line)
        lines.append(line)
    return "\n".join(lines)
