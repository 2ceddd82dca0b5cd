"""Compare two settings of a page: A, pinned, beside B, the current one (issue 20, point 3).

"Pin as A" writes the page's current control values into the link as one parameter,
``pin=measurement:14,guess:10,...``. Every later run reads A back from the link, gets A's result
through the same :func:`ui.runs.cached_run` as the page's own run (so from the shared cache, for
whoever opens the link) and shows it beside B, the result the page has just drawn, with the
settings that differ. Nothing of A is kept in the session: the link is the comparison, and
"Unpin" removes the parameter.

The pin is read strictly:

- comma-separated ``key:value`` pairs, each key a control of this page (its URL key), at most once;
- each value written as the control takes it in a link (``measurement:9.5``, ``algo:nuts``,
  ``adapt:false``) and checked by the control's own rule; a text value holds no comma, since
  a comma ends the pair, so the mixture's numbers are written with spaces (``data:0 1 10``);
- a key left out takes its default, as in any link;
- at most :attr:`Comparable.max_chars` characters.

A pin that breaks a rule is refused whole: the link's one note (:mod:`ui.link_notes`) says why,
with every value from the link quoted by :func:`ui.text.literal`; the pin leaves the link and
the page shows no comparison. A repeated ``pin`` uses its last value, as every key does.

A page's part is a :class:`Comparable` (``ui/compare_views.py``) and one call of its ``section``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from ppl_models.engine.runtime.errors import InferenceError
from ui import link_notes, panels
from ui.controls import Control, Slider, Text, Toggle
from ui.runs import cached_run, show_unfinished
from ui.text import escape, literal

PIN = "pin"
HEADING = "Compare A and B"
PIN_HELP = (
    "Keep this result as A. Then change any setting: B, the current setting, is shown beside A. "
    "A lives in the link (pin=…), so the link shows the same comparison."
)
UNPIN_HELP = "End the comparison: A leaves the link."
NOT_USED = "(not used)"
# Each side's words in the numbers' column headings.
SIDE_WORDS = {"A": "A, pinned", "B": "B, the current setting"}


def _never(values: Mapping[str, Any]) -> str:
    return ""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its controls' values by URL key and its result."""

    name: str  # "A" or "B"
    values: Mapping[str, Any]
    result: Any


@dataclass(frozen=True)
class Comparable:
    """What a page compares: which controls make its setting, its run, and what it shows.

    :ivar every: every control a pin may set, in the order a pin lists them.
    :ivar controls: the controls a setting with these values uses (the algorithm picks the
        sampler's or SVI's), a subset of ``every``.
    :ivar run: ``(function, *args)``: the page's very run for these values and a device (the
        sidebar's, which is no part of a setting), so that A and the page share the cache;
        raises :class:`InferenceError` with a message for values that cannot make a run (data
        that are not numbers).
    :ivar show: draws A's numbers and chart beside B's.
    :ivar refuse: why a setting cannot be pinned, a phrase (its data are not in the link); empty if it can.
    """

    page: str
    every: tuple[Control, ...]
    controls: Callable[[Mapping[str, Any]], Sequence[Control]]
    run: Callable[[Mapping[str, Any], str], tuple]
    show: Callable[[Side, Side], None]
    label: str = "Computing A, the pinned setting"
    refuse: Callable[[Mapping[str, Any]], str] = field(default=_never)

    def __post_init__(self) -> None:
        keys = [control.key for control in self.every]
        if len(set(keys)) != len(keys) or PIN in keys:
            raise ValueError(f"{self.page}: a pin's keys must be distinct and not {PIN!r}: {keys}")

    def section(self, result: Any) -> None:
        """The page's comparison, B being ``result``: see :func:`section`."""
        section(self, result)

    @property
    def max_chars(self) -> int:
        """The longest pin this page reads: every key with a value as long as its control allows."""
        return sum(len(c.key) + 2 + (c.max_chars if isinstance(c, Text) else 32) for c in self.every)


# ---- the pin's text ----------------------------------------------------------------------------


def encoded(control: Control, value: Any) -> str:
    """``value`` as the pin writes it: a whole number without ".0", a float exactly (its repr),
    a toggle as true / false, text with its commas as spaces."""
    if isinstance(control, Toggle):
        return "true" if value else "false"
    if isinstance(control, Slider):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if isinstance(control, Text):
        return " ".join(str(value).replace(",", " ").split())
    return str(value)


def _parsed(control: Control, raw: str) -> Any:
    """A pin's value, already checked by ``control.problem``, as the widget would hold it."""
    if isinstance(control, Toggle):
        return raw.lower() == "true"
    if isinstance(control, Slider):
        return int(float(raw)) if isinstance(control.default, int) else float(raw)
    return raw


def encode(spec: Comparable, values: Mapping[str, Any]) -> str:
    """The pin of a setting: every control it uses, in the page's order."""
    return ",".join(f"{control.key}:{encoded(control, values[control.key])}" for control in spec.controls(values))


def decode(spec: Comparable, raw: str) -> tuple[dict[str, Any] | None, str]:
    """A pin's values by URL key, every control of ``spec.every`` given; or None and what is wrong,
    a phrase that follows the quoted pin (each value from the link inside it quoted)."""
    if not raw:
        return None, "is empty"
    if len(raw) > spec.max_chars:
        return None, f"is longer than {spec.max_chars:,} characters"
    by_key = {control.key: control for control in spec.every}
    given: dict[str, Any] = {}
    for pair in raw.split(","):
        key, colon, value = pair.partition(":")
        if not colon or not key:
            return None, f"is not a list of name:value pairs such as {literal('pin=measurement:14,guess:10')}"
        control = by_key.get(key)
        if control is None:
            return None, f"names {literal(key)}, which is no setting of this page"
        if key in given:
            return None, f"sets {literal(key)} twice"
        problem = control.problem(value)
        if problem:
            return None, f"sets {literal(key)} to {literal(value)}, which {problem}"
        given[key] = _parsed(control, value)
    values = {control.key: given.get(control.key, control.default) for control in spec.every}
    refused = spec.refuse(values)
    if refused:
        return None, f"pins a setting that cannot be compared: {refused}"
    try:
        spec.run(values, "auto")
    except InferenceError as error:
        return None, f"holds a setting the page cannot run: {escape(error)}"
    return values, ""


def differences(spec: Comparable, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(label, A's value, B's value) of every setting A and B do not share, in the page's order;
    a setting only one side uses shows "(not used)" on the other."""
    used = [{c.key for c in spec.controls(values)} for values in (a, b)]
    rows = []
    for control in spec.every:
        shown = [
            _shown(control, values[control.key]) if control.key in keys else NOT_USED
            for values, keys in zip((a, b), used, strict=True)
        ]
        if shown[0] != shown[1]:
            rows.append((control.label, *shown))
    return rows


def _shown(control: Control, value: Any) -> str:
    if isinstance(control, Toggle):
        return "on" if value else "off"
    return encoded(control, value)


# ---- the page's part ---------------------------------------------------------------------------


def current_values(spec: Comparable) -> dict[str, Any]:
    """B's values: what the page's widgets (keyed by their URL key) hold in this run."""
    state = st.session_state
    return {control.key: state.get(control.key, control.default) for control in spec.every}


def pinned(spec: Comparable) -> dict[str, Any] | None:
    """A's values from the link, or None: no pin, or a bad one (noted, and taken out of the link)."""
    raw = link_notes.link_value(spec.page, PIN)
    if raw is None:
        return None
    values, problem = decode(spec, raw)
    if values is None:
        link_notes.add_note(spec.page, f"{literal(f'{PIN}={raw}')} {problem}; showing no comparison.")
        with contextlib.suppress(KeyError):
            del st.query_params[PIN]
    return values


def _pin(pin: str) -> None:
    st.query_params[PIN] = pin


def _unpin() -> None:
    with contextlib.suppress(KeyError):
        del st.query_params[PIN]


def section(spec: Comparable, result: Any) -> None:
    """The page's comparison: Pin as A and Unpin, then (while A is pinned and differs from the
    current setting) A's numbers and chart beside B's, ``result``, and the settings that differ."""
    st.header(HEADING)
    b_values = current_values(spec)
    a_values = pinned(spec)
    refused = spec.refuse(b_values)
    buttons = st.container(horizontal=True)
    buttons.button(
        "Pin as A",
        key="compare-pin",
        on_click=_pin,
        args=(encode(spec, b_values),),
        disabled=bool(refused),
        help=f"This setting cannot be pinned: {refused}." if refused else PIN_HELP,
    )
    if a_values is None:
        st.caption(
            f"This setting cannot be pinned: {refused}."
            if refused
            else "Pin as A keeps this result as A; then change any setting to see B, the current setting, beside it."
        )
        return
    buttons.button("Unpin", key="compare-unpin", on_click=_unpin, help=UNPIN_HELP)
    rows = differences(spec, a_values, b_values)
    if not rows:
        st.caption("A is pinned, and it is the current setting: change any setting to see B beside A.")
        return
    function, *args = spec.run(a_values, panels.device_preference())
    outcome = cached_run(function, *args, label=spec.label)
    if not outcome.ok:
        st.caption("A, the pinned setting, has no result:")
        show_unfinished(outcome)
        return
    spec.show(Side("A", a_values, outcome.result), Side("B", b_values, result))
    st.subheader("Settings that differ")
    panels.table(pd.DataFrame(rows, columns=["setting", "A", "B"]))
    st.caption("Settings as the controls hold them; everything else is the same in A and B.")
