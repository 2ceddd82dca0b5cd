"""Controls bound to the URL query string, declared as small specs.

Every control is a Streamlit widget with ``bind="query-params"``, keyed by its URL
name, so a teacher can share a link to an exact setting. Streamlit silently drops a
malformed value (``measurement=abc``) and falls back to the default; :func:`render`
also checks the raw query string against each spec first and shows which values were
ignored and why, so a broken link never looks like a working one. That check, and the
rules every control follows for a link, are :mod:`ui.link_notes`.

A control that fills a field of a settings dataclass is made with ``for_field``: its
default is read from the dataclass, so the page, the warm-up and a bare ``Settings()``
agree, and :func:`build` makes the settings from the controls' values by field name.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, Self, TypeVar

import streamlit as st

from ui import classroom, link_notes


def _default(key: str, argument: str, default: Any) -> dict[str, Any]:
    """The widget's default, unless code (a preset) already put its value in session state:
    Streamlit warns when a widget gets both."""
    return {} if key in st.session_state else {argument: default}


Settings = TypeVar("Settings")


def default_of(settings: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``settings``."""
    for candidate in fields(settings):
        if candidate.name == name:
            if candidate.default is MISSING:
                raise TypeError(f"{settings.__name__}.{name} has no plain default for a control to show")
            return candidate.default
    raise AttributeError(f"{settings.__name__} has no field {name!r}")


class _FillsAField:
    """What every control spec shares: the settings field it fills."""

    @property
    def fills(self) -> str:
        """The settings field this control's value goes to: ``field``, else its URL key."""
        return self.field or self.key

    @classmethod
    def for_field(cls, settings: type, name: str, *, key: str = "", **spec: Any) -> Self:
        """The control for ``settings.name``, starting at the dataclass's default.

        :param key: its URL key, when that differs from the field's name (a link's
            ``samples`` fills ``num_samples``): every link that works keeps working.
        """
        return cls(key=key or name, default=default_of(settings, name), field=name, **spec)


@dataclass(frozen=True)
class Slider(_FillsAField):
    key: str
    label: str
    min: float
    max: float
    default: float
    step: float
    help: str
    number_box: bool = False  # a number box instead of a slider, for wide ranges
    field: str = ""  # the settings field it fills; empty: the one named like its key
    # Why the range stops where it does, told to whoever's link went past it.
    bound_reason: str = ""
    # A number box whose default is None is empty until someone types: this says what empty means.
    placeholder: str = ""
    free_text: ClassVar[bool] = False

    def problem(self, raw: str) -> str:
        try:
            value = float(raw)
        except ValueError:
            return "is not a number"
        if not math.isfinite(value):
            return "is not a finite number"
        if not self.min <= value <= self.max:
            reason = f" ({self.bound_reason})" if self.bound_reason else ""
            return f"is outside {self.min:g} to {self.max:g}{reason}"
        if isinstance(self.default, int) and value != int(value):
            return "is not a whole number"
        return ""

    def value_of(self, raw: str) -> Any:
        """The widget value a link string means; the caller has checked :meth:`problem`."""
        value = float(raw)
        return int(value) if isinstance(self.default, int) else value

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
            if self.placeholder:
                kwargs["placeholder"] = self.placeholder
            return st.number_input(self.label, **kwargs)
        return st.slider(self.label, **kwargs)


@dataclass(frozen=True)
class Choice(_FillsAField):
    key: str
    label: str
    options: tuple[str, ...]
    captions: tuple[str, ...]
    default: str
    help: str
    compact: bool = False  # a drop-down, without the captions, for the sidebar
    field: str = ""
    free_text: ClassVar[bool] = False

    def problem(self, raw: str) -> str:
        return "" if raw in self.options else f"is not one of {', '.join(self.options)}"

    def value_of(self, raw: str) -> Any:
        return raw

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
class Toggle(_FillsAField):
    key: str
    label: str
    default: bool
    help: str
    field: str = ""
    free_text: ClassVar[bool] = False

    def problem(self, raw: str) -> str:
        return "" if raw.lower() in ("true", "false") else "is not true or false"

    def value_of(self, raw: str) -> Any:
        return raw.lower() == "true"

    def widget(self) -> Any:
        return st.toggle(
            self.label, help=self.help, key=self.key, bind="query-params", **_default(self.key, "value", self.default)
        )


@dataclass(frozen=True)
class Text(_FillsAField):
    """Free text the page parses itself (and reports on); never executed."""

    key: str
    label: str
    default: str
    help: str
    max_chars: int = 5000
    field: str = ""
    # The value is the user's own text, so a link note quotes it as data (ui.link_notes
    # reads this flag rather than the class: it cannot import this module).
    free_text: ClassVar[bool] = True

    def problem(self, raw: str) -> str:
        return f"is longer than {self.max_chars} characters" if len(raw) > self.max_chars else ""

    def value_of(self, raw: str) -> Any:
        return raw

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


def render(controls: list[Control], page: str) -> dict[str, Any]:
    """Draw the controls in order and return their values by URL key.

    Around the widgets, :mod:`ui.link_notes` collapses repeated keys and adds the link
    values that were ignored or corrected to the run's one note.
    """
    state, raw_values = link_notes.begin(controls)
    classroom.adopt_shared_setting(controls)
    values = {control.key: control.widget() for control in controls}
    link_notes.report(state, page, controls, raw_values, values)
    classroom.record_shown(values)
    return values


def by_field(controls: list[Control], values: dict[str, Any]) -> dict[str, Any]:
    """The controls' values (as :func:`render` returns them, by URL key) by the field each fills."""
    return {control.fills: values[control.key] for control in controls}


def build(settings: type[Settings], controls: list[Control], values: dict[str, Any], **others: Any) -> Settings:
    """``settings`` filled from the controls' values by field name, and ``others`` as given."""
    return settings(**by_field(controls, values), **others)


# One seed for every page, so a link's ``seed`` means the same everywhere. Every runner
# and settings class starts at seed 0 (tests/test_controls.py holds them to it).
SEED = Slider(
    "seed", "Random seed", 0, 10_000, 0, 1, "Same seed, same random draws and starting points.", number_box=True
)
