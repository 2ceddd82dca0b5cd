"""Controls bound to the URL query string, declared as small specs.

Every control is a Streamlit widget with ``bind="query-params"``, keyed by its URL
name, so a teacher can share a link to an exact setting. Streamlit silently drops a
malformed value (``measurement=abc``) and falls back to the default; :func:`render`
also checks the raw query string against each spec first and shows which values were
ignored and why, so a broken link never looks like a working one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st


def _default(key: str, argument: str, default: Any) -> dict[str, Any]:
    """The widget's default, unless code (a preset) already put its value in session state:
    Streamlit warns when a widget gets both."""
    return {} if key in st.session_state else {argument: default}


@dataclass(frozen=True)
class Slider:
    key: str
    label: str
    min: float
    max: float
    default: float
    step: float
    help: str
    number_box: bool = False  # a number box instead of a slider, for wide ranges

    def problem(self, raw: str) -> str:
        try:
            value = float(raw)
        except ValueError:
            return "is not a number"
        if not math.isfinite(value) or not self.min <= value <= self.max:
            return f"is outside {self.min:g} to {self.max:g}"
        if isinstance(self.default, int) and value != int(value):
            return "is not a whole number"
        return ""

    def widget(self) -> Any:
        kwargs = dict(
            min_value=self.min,
            max_value=self.max,
            step=self.step,
            help=self.help,
            key=self.key,
            bind="query-params",
            **_default(self.key, "value", self.default),
        )
        if self.number_box:
            return st.number_input(self.label, **kwargs)
        return st.slider(self.label, **kwargs)


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    options: tuple[str, ...]
    captions: tuple[str, ...]
    default: str
    help: str
    compact: bool = False  # a drop-down, without the captions, for the sidebar

    def problem(self, raw: str) -> str:
        return "" if raw in self.options else f"is not one of {', '.join(self.options)}"

    def widget(self) -> Any:
        if self.compact:
            # No format_func: a bound select matches the URL against the displayed label.
            return st.selectbox(
                self.label,
                self.options,
                help=self.help,
                key=self.key,
                bind="query-params",
                **_default(self.key, "index", self.options.index(self.default)),
            )
        return st.radio(
            self.label,
            self.options,
            **_default(self.key, "index", self.options.index(self.default)),
            captions=self.captions,
            help=self.help,
            key=self.key,
            bind="query-params",
        )


@dataclass(frozen=True)
class Toggle:
    key: str
    label: str
    default: bool
    help: str

    def problem(self, raw: str) -> str:
        return "" if raw.lower() in ("true", "false") else "is not true or false"

    def widget(self) -> Any:
        return st.toggle(
            self.label, help=self.help, key=self.key, bind="query-params", **_default(self.key, "value", self.default)
        )


@dataclass(frozen=True)
class Text:
    """Free text the page parses itself (and reports on); never executed."""

    key: str
    label: str
    default: str
    help: str
    max_chars: int = 5000

    def problem(self, raw: str) -> str:
        return f"is longer than {self.max_chars} characters" if len(raw) > self.max_chars else ""

    def widget(self) -> Any:
        return st.text_input(
            self.label,
            max_chars=self.max_chars,
            help=self.help,
            key=self.key,
            bind="query-params",
            **_default(self.key, "value", self.default),
        )


Control = Slider | Choice | Toggle | Text


def link_problems(controls: list[Control], raw_values: dict[str, str], values: dict[str, Any]) -> list[str]:
    """One sentence per query-string value that a control ignored or corrected.

    :param raw_values: the query string's values, read before the widgets were drawn (a
        bound widget removes an invalid value from ``st.query_params``).
    :param values: what the rendered widgets returned, by key; the sentence names the value
        actually used (Streamlit falls back to the default for most bad values, but
        truncates a fractional whole number).
    """
    problems = []
    for control in controls:
        raw = raw_values.get(control.key)
        if raw is None:
            continue
        problem = control.problem(raw)
        if problem:
            used = values.get(control.key, control.default)
            problems.append(f"`{control.key}={raw}` {problem}; using {used!r} instead.")
    return problems


def render(controls: list[Control], page: str) -> dict[str, Any]:
    """Draw the controls in order and return their values by URL key.

    Above them, a warning lists the link values that were ignored. It stays for the
    session once seen: Streamlit removes an invalid value from the URL after the first
    run, and the student should still see why the page does not show what the link said.
    """
    note = st.empty()
    raw_values = {c.key: st.query_params[c.key] for c in controls if c.key in st.query_params}
    values = {control.key: control.widget() for control in controls}
    remembered = st.session_state.setdefault(f"_link_problems_{page}", [])
    for problem in link_problems(controls, raw_values, values):
        if problem not in remembered:
            remembered.append(problem)
    if remembered:
        note.warning("Some values in the link were ignored:\n\n" + "\n".join(f"- {p}" for p in remembered))
    return values
