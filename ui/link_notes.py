"""What a link did to the controls, told once at the top of the page.

:func:`ui.controls.render` draws the controls; this module checks the raw query string
against their specs, so that a value Streamlit ignored or corrected is reported rather
than silently replaced, and owns the one note area where that is said.

Three rules hold for every control, whatever its widget:

- **A repeated key uses its last value.** Left to Streamlit, ``?measurement=1&measurement=2``
  gave a slider its default (it reads the two values as a range) while a number box, a
  choice, a toggle and a text box took the last one. The first
  :func:`ui.controls.render` of a run rewrites every repeated key to its last value and
  reruns once, so each widget is seeded from one value, and the link the student shares
  holds that value; the page says so.
- **A query the server ignored is reported.** Streamlit drops the whole query string when
  it has more than 1,000 parameters or 512 Ki characters, before the script runs; a small
  script in the page compares the browser's own address with those limits and the page
  says the link opened with the defaults.
- **Notes are shown once, above the page.** Every note of the run goes into one warning at
  the top of the main column, each bad value once, with the value quoted through
  :func:`ui.text.literal` (a value from a link is data, never markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit.delta_generator_singletons import context_dg_stack
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ui.text import literal

if TYPE_CHECKING:  # annotations only: ui.controls calls into this module
    from ui.controls import Control

try:  # the limits Streamlit applies to the query string before a script sees it
    from streamlit.runtime.state.query_params import (
        CLIENT_STATE_QUERY_STRING_MAX_FIELDS as MAX_QUERY_FIELDS,
    )
    from streamlit.runtime.state.query_params import (
        CLIENT_STATE_QUERY_STRING_MAX_LENGTH as MAX_QUERY_CHARS,
    )
except ImportError:  # pragma: no cover - the values of Streamlit 1.67
    MAX_QUERY_FIELDS, MAX_QUERY_CHARS = 1000, 512 * 1024

NOTE_HEADING = "Some values in the link were ignored:"
# The note area's key: ui/style.py takes the area out of the layout while it holds no note.
NOTES_KEY = "pme-link-notes"
_RUN = "_link_run"  # this run's note slot, the pages drawn so far and the repeated keys
_PENDING_REPEATS = "_link_repeats"  # repeated keys found just before the rerun that fixed them
_NOTES = "_link_notes"  # every note seen, by page, kept for the session
_LINK_PAGE = "link"  # notes about the link as a whole, shown on every page
_QUERY_REPORTED = "_link_query_reported"

# Streamlit drops an oversized query string before the script runs, so only the browser
# knows the link was long. This reports the browser's address once, and only when it is
# over the limits (a normal page load sends nothing and causes no rerun).
_QUERY_CHECK_JS = """
export default function ({ data, setTriggerValue }) {
  if (!data || data.reported) return;
  const query = window.location.search.replace(/^[?]/, "");
  if (!query) return;
  const fields = query.split("&").length;
  if (fields <= data.max_fields && query.length <= data.max_chars) return;
  // A rerun asked for while the first run is still drawing left the sliders showing their
  // minimum (seen in Chromium), so report only once the run has finished.
  const app = document.querySelector('[data-testid="stApp"]');
  const report = () => setTriggerValue("ignored", { fields: fields, chars: query.length });
  if (!app) return report();
  const idle = () => app.getAttribute("data-test-script-state") === "notRunning";
  if (idle()) return report();
  const watch = new MutationObserver(() => {
    if (idle()) { watch.disconnect(); report(); }
  });
  watch.observe(app, { attributes: true, attributeFilter: ["data-test-script-state"] });
}
"""
_query_check = st.components.v2.component("pme_query_check", js=_QUERY_CHECK_JS)


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
            # A text box's value is the user's own text, so it is quoted as data too.
            shown = literal(used) if control.free_text else repr(used)
            instead = f"using {shown} instead"
            if used is None and getattr(control, "placeholder", ""):
                # An empty box has a meaning of its own ("drawn with the seed"); None says nothing.
                instead = f"leaving it empty: {control.placeholder}"
            problems.append(f"{literal(f'{control.key}={raw}')} {problem}; {instead}.")
    return problems


def repeated_key_note(key: str, count: int, last: str) -> str:
    return f"{literal(key)} appears {count} times in the link; using the last, {literal(last)}."


def ignored_query_note(fields: int, chars: int) -> str:
    if fields > MAX_QUERY_FIELDS:
        size = f"had {fields:,} values, more than the {MAX_QUERY_FIELDS:,} the app reads"
    else:
        size = f"was {chars:,} characters long, more than the {MAX_QUERY_CHARS:,} the app reads"
    return f"This link {size}, so it opened with the defaults. Share a shorter link."


def _run_state() -> dict[str, Any]:
    """What this script run knows about the link; a new run starts afresh.

    A run is told apart by its context's cursor table, which Streamlit replaces at the
    start of every run.
    """
    ctx = get_script_run_ctx()
    marker = ctx.cursors if ctx is not None else None
    state = st.session_state.get(_RUN)
    if state is None or state["marker"] is not marker:
        state = {
            "marker": marker,
            "slot": None,
            "pages": [],
            "repeats": st.session_state.pop(_PENDING_REPEATS, {}),
            "collapsed": False,
        }
        st.session_state[_RUN] = state
    return state


def _collapse_repeated_keys(state: dict[str, Any]) -> None:
    """Rewrite each repeated key to its last value and rerun once, before any widget exists.

    Rewriting ``st.query_params`` alone changes the link but not the widgets (they are
    seeded from the query string the run started with), hence the rerun. A key already
    bound to a widget (a later run of the session) cannot be rewritten and is left alone.
    """
    if state["collapsed"]:
        return
    state["collapsed"] = True
    repeats = {}
    for key in list(st.query_params):
        values = st.query_params.get_all(key)
        if len(values) > 1:
            repeats[key] = (len(values), values[-1])
    if not repeats:
        return
    try:
        st.query_params.update({key: last for key, (_, last) in repeats.items()})
    except StreamlitAPIException:
        for key, (_, last) in list(repeats.items()):
            try:
                st.query_params[key] = last
            except StreamlitAPIException:
                del repeats[key]
    if repeats:
        st.session_state[_PENDING_REPEATS] = repeats
        st.rerun()


def _notes(page: str) -> list[str]:
    return st.session_state.setdefault(_NOTES, {}).setdefault(page, [])


def _check_ignored_query(slot) -> None:
    """Mount the browser-side check while the server sees no query string at all."""
    ctx = get_script_run_ctx()
    if ctx is None or ctx.query_string or len(st.query_params):
        return
    reported = st.session_state.get(_QUERY_REPORTED, False)
    with slot:
        result = _query_check(
            key="_link_query_check",
            data={"max_fields": MAX_QUERY_FIELDS, "max_chars": MAX_QUERY_CHARS, "reported": reported},
            on_ignored_change=lambda: None,
        )
    ignored = getattr(result, "ignored", None)
    if reported or not isinstance(ignored, dict):
        return
    try:  # the browser's numbers are data: bounded ints or nothing
        fields, chars = (min(max(int(ignored.get(name, 0)), 0), 10**9) for name in ("fields", "chars"))
    except (TypeError, ValueError):
        return
    if fields > MAX_QUERY_FIELDS or chars > MAX_QUERY_CHARS:
        st.session_state[_QUERY_REPORTED] = True
        _notes(_LINK_PAGE).append(ignored_query_note(fields, chars))


def _slot(state: dict[str, Any]):
    """The run's one note area: the top of the main column, whichever container asks first."""
    if state["slot"] is None:
        # ``st._main`` follows the open ``with`` block (the sidebar, an expander), so the
        # container is made with that stack set aside for a moment.
        token = context_dg_stack.set(context_dg_stack.get()[:1])
        try:
            container = st._main.container(key=NOTES_KEY)
        finally:
            context_dg_stack.reset(token)
        state["slot"] = (container, container.empty())
        _check_ignored_query(container)
    return state["slot"][1]


def _show_notes(state: dict[str, Any], slot) -> None:
    shown: list[str] = []
    for page in [_LINK_PAGE, *state["pages"]]:
        shown += [note for note in _notes(page) if note not in shown]
    if shown:
        slot.warning(NOTE_HEADING + "\n\n" + "\n".join(f"- {note}" for note in shown))


def begin(controls: list[Control]) -> tuple[dict[str, Any], dict[str, str]]:
    """Before ``controls`` are drawn: the run's state, with repeated keys collapsed (this
    may rerun) and the note area made, and the query string's values for these controls.

    The values are read now because a bound widget removes an invalid value from
    ``st.query_params``.
    """
    state = _run_state()
    _collapse_repeated_keys(state)
    _slot(state)
    raw_values = {c.key: st.query_params[c.key] for c in controls if c.key in st.query_params}
    return state, raw_values


def report(
    state: dict[str, Any], page: str, controls: list[Control], raw_values: dict[str, str], values: dict[str, Any]
) -> None:
    """After ``controls`` are drawn: note what the link did to them, then show the run's note.

    Each note stays for the session once seen: Streamlit removes an invalid value from the
    URL after the first run, and the student should still see why the page does not show
    what the link said.
    """
    notes = _notes(page)
    found = [repeated_key_note(c.key, *state["repeats"][c.key]) for c in controls if c.key in state["repeats"]]
    for problem in found + link_problems(controls, raw_values, values):
        if problem not in notes:
            notes.append(problem)
    if page not in state["pages"]:
        state["pages"].append(page)
    _show_notes(state, _slot(state))


def link_value(page: str, key: str) -> str | None:
    """The link's value of ``key``, a parameter no widget is bound to (``pin``), after the
    controls of the run were drawn; a repeated key gets its note, as a control's does."""
    state = _run_state()
    if key in state["repeats"]:
        add_note(page, repeated_key_note(key, *state["repeats"][key]))
    return st.query_params.get(key)


def add_note(page: str, note: str) -> None:
    """Put ``note`` (already written with :func:`ui.text.literal` for what the link held)
    among the run's notes and show them again; it stays for the session like every note."""
    state = _run_state()
    notes = _notes(page)
    if note not in notes:
        notes.append(note)
    if page not in state["pages"]:
        state["pages"].append(page)
    _show_notes(state, _slot(state))
