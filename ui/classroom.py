"""A class on one server: the teacher leads, the students follow (issue 20).

A teacher opens any page with ``?teach=CODE`` (or presses "Start a class"); every run of
the teacher's page then publishes its page and the values its controls showed to the
class store (:mod:`ui.class_store`). A student opens ``/?follow=CODE``: a fragment polls
the store every ``FOLLOW_POLL_S`` and, when the teacher's setting changes, puts the
teacher's values into this session's controls (:func:`adopt_shared_setting`, called by
``ui.controls.render`` before the widgets are drawn) and reruns, on the teacher's page.
The values travel as link strings and pass the same checks as a link's, so a follower
sees exactly what a student who opened the teacher's link would see, through the shared
cache: thirty followers cost one computation.
"""

from __future__ import annotations

import contextlib
import io
import secrets
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from ui.class_store import CLASSES, CODE_LENGTH, ClassError, valid_code
from ui.text import escape, literal

FOLLOW_POLL_S = 1.0
TEACHER_POLL_S = 2.0
SESSION_KEY = "pme-session-id"
# The teacher's setting for this run's controls: link strings by control key.
ADOPT_KEY = "pme-adopt"
# What this run's controls showed, as link strings: what a teacher's run publishes.
SHOWN_KEY = "pme-shown"
FOLLOWED_VERSION_KEY = "pme-followed-version"
TEACHING_KEY = "pme-teaching"
SHOW_JOIN_KEY = "pme-show-join"
JOIN_LINK_KEY = "pme-join-link"
ADOPT_RUNS_KEY = "pme-adopt-runs"
EXPLORING_KEY = "pme-exploring"
# Link parameters that say how this browser takes part, not what the page computes: never passed on.
CLASS_PARAMS = ("teach", "follow", "present")


def session_id() -> str:
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = secrets.token_hex(8)
    return st.session_state[SESSION_KEY]


def link_text(value: Any) -> str | None:
    """A control's value as a link carries it; None for an empty box (the link leaves it out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def record_shown(values: dict[str, Any]) -> None:
    shown = st.session_state.setdefault(SHOWN_KEY, {})
    shown.update(values)


def adopt_shared_setting(controls) -> None:
    """Before the widgets: set each control to the teacher's value, or to its default when the
    teacher's link leaves it out or holds a value its check refuses."""
    shared = st.session_state.get(ADOPT_KEY)
    if shared is None:
        return
    for control in controls:
        raw = shared.get(control.key)
        value = control.default if raw is None or control.problem(raw) else control.value_of(raw)
        st.session_state[control.key] = value


def teaching_code() -> str | None:
    """The class this session leads, if any."""
    return st.session_state.get(TEACHING_KEY) or None


def following_code() -> str | None:
    """The class this session follows right now (not while it explores on its own)."""
    follow = _single("follow")
    if follow is None or teaching_code():
        return None
    code = follow.upper()
    if not valid_code(code) or st.session_state.get(EXPLORING_KEY) == code:
        return None
    return code


def _single(name: str) -> str | None:
    values = st.query_params.get_all(name)
    return values[-1] if values else None


def _students_link(code: str) -> str:
    url = st.context.url or ""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return f"{root}/?follow={code}"


def _qr_png(text: str) -> bytes:
    import qrcode

    image = qrcode.make(text, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def _start_class() -> None:
    st.query_params["teach"] = CLASSES.new_code()
    st.query_params.pop("follow", None)
    st.session_state[SHOW_JOIN_KEY] = True


def start_class_button() -> None:
    """For the home page: a teacher starts a class there, or opens any page's link with ``teach=CODE``."""
    if teaching_code():
        return
    st.button(
        "Start a class",
        icon=":material/school:",
        on_click=_start_class,
        help="Picks a class code and shows your students' link; their pages then follow yours.",
    )


def _end_class() -> None:
    st.session_state[TEACHING_KEY] = None
    st.query_params.pop("teach", None)


def _lead_from_here(code: str) -> None:
    CLASSES.teach(code, session_id())


@st.dialog("Join the class", width="large")
def _join_dialog(code: str, link: str) -> None:
    """The students' link as a projector shows it: large, with its QR code."""
    # A code span: shown as data and copied without escapes; ui/style.py draws it large.
    st.container(key=JOIN_LINK_KEY).markdown(f"## {literal(link)}")
    st.image(_qr_png(link), caption=f"Class code {code}", width=360)
    st.caption("Open the link, or scan the code with a phone's camera: your page then follows the teacher's.")


def _teacher_panel(code: str) -> None:
    link = _students_link(code)
    with st.sidebar.expander(f"Teaching class {code}", expanded=True, icon=":material/school:"):
        st.markdown("Students open this link, or scan its code:")
        st.code(link, language=None)
        st.image(_qr_png(link), caption=f"Class code {code}", width=200)
        _follower_count(code)
        show = st.button("Show the link large", icon=":material/fullscreen:", help="For the projector.")
        st.button("End the class", on_click=_end_class, help="Stop leading; your students' pages stop following.")
    if show or st.session_state.pop(SHOW_JOIN_KEY, False):
        _join_dialog(code, link)


@st.fragment(run_every=TEACHER_POLL_S)
def _follower_count(code: str) -> None:
    try:
        view = CLASSES.teacher_view(code, session_id())
    except ClassError as error:
        st.warning(escape(str(error)))
        st.button("Lead from here", on_click=_lead_from_here, args=(code,), help="Take the class back to this page.")
        return
    st.metric("Following", f"{view.followers:,}", help="Students whose page follows yours, seen in the last seconds.")


@st.fragment(run_every=FOLLOW_POLL_S)
def _follow(code: str, pages: dict[str, str]) -> None:
    """Poll the class; on a new setting, adopt it and rerun the whole app on the teacher's page."""
    try:
        view = CLASSES.view(code, session_id())
    except ClassError as error:
        st.error(escape(str(error)))
        return
    st.caption(f"Following class {code}: your page shows the teacher's page and setting.")
    if view.version and view.version != st.session_state.get(FOLLOWED_VERSION_KEY):
        st.session_state[FOLLOWED_VERSION_KEY] = view.version
        st.session_state[ADOPT_KEY] = dict(view.params)
        target = pages.get(view.page)
        if target is not None and view.page != st.session_state.get("pme-page"):
            # A widget the page has not drawn before takes a value set in code but does not
            # write it to the link; set again on one more run, it does (so the link keeps it).
            st.session_state[ADOPT_RUNS_KEY] = 2
            st.switch_page(target, query_params={"follow": code})
        st.rerun(scope="app")


def begin(pages: dict[str, str], current_page: str) -> None:
    """The class part of the shell, before the page: a teacher's panel, or a follower's poll.

    :param pages: page file by address (``""`` for home), for switching to the teacher's page.
    :param current_page: the address of the page this run shows.
    """
    st.session_state["pme-page"] = current_page
    st.session_state[SHOWN_KEY] = {}
    teach, follow = _single("teach"), _single("follow")
    teaching = st.session_state.get(TEACHING_KEY)
    if teach is not None and teach.upper() != teaching:
        try:
            CLASSES.teach(teach.upper(), session_id())
        except ClassError as error:
            st.error(escape(str(error)))
        else:
            teaching = st.session_state[TEACHING_KEY] = teach.upper()
    elif teach is None and teaching:
        # The navigation drops a page's link parameters: the class stays in this session's link.
        st.query_params["teach"] = teaching
    if teaching:
        _teacher_panel(teaching)
        return
    if follow is not None:
        code = follow.upper()
        if not valid_code(code):
            st.error(f"`follow=` takes a class code of {CODE_LENGTH} letters and digits; this link's is not one.")
            return
        try:
            CLASSES.view(code)
        except ClassError as error:
            # In the main column: on a phone the sidebar starts closed.
            st.error(escape(str(error)))
            return
        with st.sidebar:
            if st.session_state.get(EXPLORING_KEY) == code:
                if st.button("Follow again", icon=":material/group:", help="Back to the teacher's page and setting."):
                    st.session_state[EXPLORING_KEY] = None
                    st.session_state[FOLLOWED_VERSION_KEY] = None
                    st.rerun()
                st.caption(f"Exploring on your own; class {code} goes on without you.")
                return
            _follow(code, pages)
            if st.button(
                "Explore on my own",
                icon=":material/explore:",
                help="Stop following: the page keeps the teacher's setting, and your changes stay yours.",
            ):
                CLASSES.leave(code, session_id())
                st.session_state[EXPLORING_KEY] = code
                st.rerun()
        return


def end() -> None:
    """After the page: a teacher's run publishes what its controls showed; an adopted setting is spent."""
    runs_left = st.session_state.pop(ADOPT_RUNS_KEY, 1) - 1
    if runs_left > 0 and ADOPT_KEY in st.session_state:
        st.session_state[ADOPT_RUNS_KEY] = runs_left
        st.rerun()
    st.session_state.pop(ADOPT_KEY, None)
    publish_setting()


def publish_setting() -> None:
    """A teacher's run tells the class its page and what its controls show.

    Called before a page's first computation (``ui.runs.cached_run``) as well as after the
    page: the class switches when the teacher's setting does, and waits for the answer with
    the teacher, on the one shared computation.
    """
    teach = st.session_state.get(TEACHING_KEY)
    if not teach:
        return
    shown = st.session_state.get(SHOWN_KEY, {})
    params = tuple((key, text) for key, value in shown.items() if (text := link_text(value)) is not None)
    # A session another page took the class from publishes nothing: its panel says why.
    with contextlib.suppress(ClassError):
        CLASSES.publish(teach, session_id(), st.session_state.get("pme-page", ""), params)
