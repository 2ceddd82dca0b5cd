"""Where a class lives: the teacher's page and setting, who follows, and the class's guesses (no Streamlit).

One process holds every class in memory, bounded: at most ``MAX_CLASSES`` at once, each
expiring ``CLASS_TTL_S`` after its teacher was last seen, at most ``MAX_FOLLOWERS`` counted
and ``MAX_GUESSES`` guesses per question. The interface is the few calls below, all taking
and returning plain values (strings, numbers, tuples, frozen dataclasses), so a shared store
(Redis hashes with expiry, say) could stand behind it when the app runs as several replicas
(README, "Beyond one machine").

A class code is ``CODE_LENGTH`` characters of an alphabet without look-alikes (no 0/O,
1/I/L), so it can be read off a projector and typed on a phone.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
MAX_CLASSES = 200
CLASS_TTL_S = 4 * 3600.0
MAX_FOLLOWERS = 500
MAX_GUESSES = 500
# A follower polls every second, but not while its page runs (a run may take up to the run
# budget, 30 s): one not heard from for this long has left.
FOLLOWER_GONE_S = 40.0
MAX_PARAMS = 40
MAX_PARAM_CHARS = 2000


class ClassError(Exception):
    """A request the store refuses, with a message for the page."""


@dataclass(frozen=True)
class Question:
    """A "predict first" question: what the class guesses before the answer is shown.

    :ivar key: which question of which page (``scale:posterior-mean``); guesses are per key
        and per setting, so a new setting is a new question.
    :ivar label: the question in words.
    :ivar low, high: the bounds a guess must lie in.
    """

    key: str
    label: str
    low: float
    high: float
    names: tuple[str, ...] = ("",)  # one guess is this many numbers (the mixture: one per location)
    revealed: bool = False
    answer: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ClassView:
    """What a follower needs on each poll: where the teacher is, and any open question."""

    code: str
    version: int
    page: str
    params: tuple[tuple[str, str], ...]
    question: Question | None
    followers: int


@dataclass
class _Class:
    code: str
    teacher: str
    teacher_seen: float
    version: int = 0
    page: str = ""
    params: tuple[tuple[str, str], ...] = ()
    question: Question | None = None
    followers: dict[str, float] = field(default_factory=dict)
    guesses: dict[str, tuple[float, ...]] = field(default_factory=dict)


def valid_code(code: str) -> bool:
    return bool(CODE_PATTERN.fullmatch(code))


class ClassStore:
    """Every class of this process. Thread-safe: every session is a thread of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._classes: dict[str, _Class] = {}

    def _expire(self, now: float) -> None:
        for code in [c for c, k in self._classes.items() if now - k.teacher_seen > CLASS_TTL_S]:
            del self._classes[code]

    def _get(self, code: str) -> _Class:
        found = self._classes.get(code)
        if found is None:
            raise ClassError(
                f"There is no class {code}: it may have ended (classes end {_hours()} after the teacher leaves)."
            )
        return found

    def new_code(self) -> str:
        with self._lock:
            while True:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                if code not in self._classes:
                    return code

    def teach(self, code: str, teacher: str) -> None:
        """Open class ``code`` for session ``teacher``, or hand it to this session.

        The latest session to ask leads: a teacher who reloads the page, or opens a link to
        another page, is a new session, and must not be locked out of the class by the tab
        it just left. The code is for a room, not a secret (README, "Classroom").
        """
        if not valid_code(code):
            raise ClassError(f"A class code is {CODE_LENGTH} letters and digits from {CODE_ALPHABET}.")
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._classes.get(code)
            if found is None:
                if len(self._classes) >= MAX_CLASSES:
                    raise ClassError(f"This server already holds {MAX_CLASSES} classes; try again later.")
                self._classes[code] = _Class(code, teacher, now)
                return
            found.teacher, found.teacher_seen = teacher, now

    def _teacher_class(self, code: str, teacher: str) -> _Class:
        found = self._get(code)
        if found.teacher != teacher:
            raise ClassError(f"Class {code} is now led from another page.")
        found.teacher_seen = self._clock()
        return found

    def publish(self, code: str, teacher: str, page: str, params: tuple[tuple[str, str], ...]) -> int:
        """The teacher's current page and link values; a new version whenever they change."""
        params = tuple(params)[:MAX_PARAMS]
        if any(len(k) + len(v) > MAX_PARAM_CHARS for k, v in params):
            raise ClassError("The teacher's link is too long to share.")
        with self._lock:
            found = self._teacher_class(code, teacher)
            if (found.page, found.params) != (page, params):
                found.page, found.params = page, params
                found.version += 1
            return found.version

    def teacher_view(self, code: str, teacher: str) -> ClassView:
        """The class as its teacher sees it; being asked keeps the teacher counted as present."""
        now = self._clock()
        with self._lock:
            found = self._teacher_class(code, teacher)
            self._drop_gone_followers(found, now)
            return self._view_of(found)

    def _drop_gone_followers(self, found: _Class, now: float) -> None:
        for gone in [f for f, seen in found.followers.items() if now - seen > FOLLOWER_GONE_S]:
            del found.followers[gone]

    @staticmethod
    def _view_of(found: _Class) -> ClassView:
        return ClassView(found.code, found.version, found.page, found.params, found.question, len(found.followers))

    def view(self, code: str, follower: str | None = None) -> ClassView:
        """The class as a follower sees it; ``follower`` (a session id) is counted as present."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._get(code)
            if follower is not None and (follower in found.followers or len(found.followers) < MAX_FOLLOWERS):
                found.followers[follower] = now
            self._drop_gone_followers(found, now)
            return self._view_of(found)

    def leave(self, code: str, follower: str) -> None:
        with self._lock:
            found = self._classes.get(code)
            if found is not None:
                found.followers.pop(follower, None)

    def ask(self, code: str, teacher: str, question: Question | None) -> None:
        """Open ``question`` for guesses (None: no question); a new question clears the guesses."""
        with self._lock:
            found = self._teacher_class(code, teacher)
            if question is None or found.question is None or found.question.key != question.key:
                found.guesses = {}
            if found.question != question:
                found.question = question
                found.version += 1

    def reveal(self, code: str, teacher: str, key: str, answer: tuple[float, ...]) -> None:
        with self._lock:
            found = self._teacher_class(code, teacher)
            if found.question is None or found.question.key != key:
                raise ClassError("There is no such question to reveal.")
            found.question = replace(found.question, revealed=True, answer=tuple(float(a) for a in answer))
            found.version += 1

    def guess(self, code: str, student: str, key: str, value: tuple[float, ...]) -> None:
        """One guess per student per question: a second replaces the first."""
        with self._lock:
            found = self._get(code)
            question = found.question
            if question is None or question.key != key:
                raise ClassError("The teacher has moved on: this question is closed.")
            if question.revealed:
                raise ClassError("The answer is out: guesses are closed.")
            value = tuple(float(v) for v in value)
            if len(value) != len(question.names):
                raise ClassError(f"This question takes {len(question.names)} numbers.")
            if not all(math.isfinite(v) and question.low <= v <= question.high for v in value):
                raise ClassError(f"A guess is a number from {question.low:g} to {question.high:g}.")
            if student not in found.guesses and len(found.guesses) >= MAX_GUESSES:
                raise ClassError(f"This question already has {MAX_GUESSES} guesses.")
            found.guesses[student] = value

    def guesses(self, code: str, key: str) -> tuple[tuple[float, ...], ...]:
        with self._lock:
            found = self._get(code)
            if found.question is None or found.question.key != key:
                return ()
            return tuple(found.guesses.values())

    def own_guess(self, code: str, student: str, key: str) -> tuple[float, ...] | None:
        with self._lock:
            found = self._get(code)
            if found.question is None or found.question.key != key:
                return None
            return found.guesses.get(student)

    def class_count(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._classes)


def _hours() -> str:
    return f"{CLASS_TTL_S / 3600:g} hours"


# The process's classes, shared by every session.
CLASSES = ClassStore()
