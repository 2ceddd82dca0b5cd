"""Predict before the reveal: the class commits to a guess, then sees the answer beside its spread.

A page with a question calls :func:`predict_first` before it shows its answer. Outside a
class it does nothing. In a class, the teacher's page offers "Predict first"; while the
question is open the teacher sees the class's guesses arrive and the followers see the
setting and a guess box, neither sees the answer (the teacher's screen is the projector),
and the page stops there. "Reveal" shows everyone the answer, their own guess and the
class's spread. A question belongs to one page and setting: change either and it is a new one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from ui import class_charts
from ui.chart_view import chart
from ui.class_store import CLASSES, ClassError, Question
from ui.classroom import SHOWN_KEY, following_code, link_text, session_id, teaching_code
from ui.text import escape

GUESS_POLL_S = 1.0


@dataclass(frozen=True)
class Prediction:
    """What a page asks: the question in words, the bounds of a guess, and the answer.

    :ivar names: one per number a guess holds (the mixture asks for each location).
    """

    label: str
    low: float
    high: float
    answer: tuple[float, ...]
    names: tuple[str, ...] = ("",)


def _question_key() -> str:
    """The page and every value its controls show: a new setting is a new question."""
    shown = st.session_state.get(SHOWN_KEY, {})
    setting = "&".join(f"{key}={link_text(value)}" for key, value in sorted(shown.items()))
    digest = hashlib.sha256(setting.encode()).hexdigest()[:16]
    return f"{st.session_state.get('pme-page', '')}:{digest}"


def _question(prediction: Prediction, key: str) -> Question:
    return Question(key, prediction.label, prediction.low, prediction.high, prediction.names)


def predict_first(prediction: Prediction) -> bool:
    """Whether this session must not see the answer yet; draws the guess box or the class's guesses."""
    teacher, follower = teaching_code(), following_code()
    if not (teacher or follower):
        return False
    key = _question_key()
    try:
        if teacher:
            return _teacher(teacher, prediction, key)
        return _follower(follower, prediction, key)
    except ClassError as error:
        st.warning(escape(str(error)))
        return False


def _teacher(code: str, prediction: Prediction, key: str) -> bool:
    view = CLASSES.teacher_view(code, session_id())
    open_here = view.question is not None and view.question.key == key
    asking = st.toggle(
        f"Predict first: ask the class for {prediction.label} before showing it",
        value=open_here,
        key=f"pme-predict-{key}",
        help="Followers see the setting and a guess box; the answer, here too, waits for Reveal.",
    )
    if asking and not open_here:
        CLASSES.ask(code, session_id(), _question(prediction, key))
        view = CLASSES.teacher_view(code, session_id())
    elif not asking and open_here:
        CLASSES.ask(code, session_id(), None)
        return False
    if not asking:
        return False
    if view.question.revealed:
        _reveal_panel(code, prediction, key, None)
        return False
    _live_guesses(code, key, prediction)
    if st.button("Reveal", type="primary", icon=":material/visibility:", help="Show everyone the answer."):
        CLASSES.reveal(code, session_id(), key, prediction.answer)
        st.rerun()
    return True


@st.fragment(run_every=GUESS_POLL_S)
def _live_guesses(code: str, key: str, prediction: Prediction) -> None:
    guesses = CLASSES.guesses(code, key)
    st.markdown(f"**{len(guesses):,} guesses so far** for {escape(prediction.label)}.")
    if guesses:
        chart(class_charts.guesses_histogram(np.array(guesses), prediction.names, None, None))


def _follower(code: str, prediction: Prediction, key: str) -> bool:
    view = CLASSES.view(code)
    question = view.question
    if question is None or question.key != key:
        return False
    student = session_id()
    if question.revealed:
        _reveal_panel(code, prediction, key, CLASSES.own_guess(code, student, key))
        return False
    own = CLASSES.own_guess(code, student, key)
    st.info(
        f"**Predict first.** The teacher asks: what is {escape(question.label)}? The answer shows after the reveal."
    )
    with st.form(f"pme-guess-{key}", enter_to_submit=True):
        values = [
            st.number_input(
                f"Your guess{': ' + name if name else ''}",
                min_value=float(question.low),
                max_value=float(question.high),
                value=None if own is None else own[i],
                step=0.01,
                key=f"pme-guess-{key}-{i}",
            )
            for i, name in enumerate(question.names)
        ]
        sent = st.form_submit_button("Send my guess")
    if sent:
        if any(v is None or not math.isfinite(v) for v in values):
            st.warning("Type a number in every box first.")
        else:
            CLASSES.guess(code, student, key, tuple(values))
            own = tuple(values)
    if own is not None:
        st.success("Your guess is in: " + ", ".join(f"{v:g}" for v in own) + ". Change it until the reveal.")
    return True


def _reveal_panel(code: str, prediction: Prediction, key: str, own: tuple[float, ...] | None) -> None:
    guesses = np.array(CLASSES.guesses(code, key))
    answer = prediction.answer
    said = ", ".join(f"{a:.3f}" for a in answer)
    text = f"**The answer: {said}.**"
    if own is not None:
        off = ", ".join(f"{g - a:+.3f}" for g, a in zip(own, answer, strict=True))
        text += f" Your guess: {', '.join(f'{g:g}' for g in own)} (off by {off})."
    if len(guesses):
        median = ", ".join(f"{m:.3f}" for m in np.median(guesses, axis=0))
        text += f" The class: {len(guesses):,} guesses, median {median}."
    st.success(text)
    if len(guesses):
        chart(class_charts.guesses_histogram(guesses, prediction.names, answer, own))
