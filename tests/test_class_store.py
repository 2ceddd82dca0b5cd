"""The class store: codes, the teacher's setting, followers, questions and guesses, and its bounds."""

import threading

import pytest

from ui import class_store
from ui.class_store import ClassError, ClassStore, Question


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(clock):
    return ClassStore(clock)


QUESTION = Question("scale:abc", "the posterior mean of the weight", -100.0, 100.0)


def test_a_new_code_is_short_readable_and_unused(store):
    codes = {store.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(class_store.valid_code(code) for code in codes)
    assert not any(set(code) & set("0O1IL") for code in codes)


@pytest.mark.parametrize("code", ["", "abc", "ABCDE", "ABCDEFG", "ABC0EF", "<b>XYZ", "ABCDE\n"])
def test_a_malformed_code_is_refused(store, code):
    with pytest.raises(ClassError, match="A class code is 6 letters"):
        store.teach(code, "teacher")


def test_followers_see_the_teacher_s_setting_and_a_new_version_only_when_it_changes(store):
    store.teach("ABCDEF", "t")
    v1 = store.publish("ABCDEF", "t", "scale", (("measurement", "9.5"),))
    assert store.publish("ABCDEF", "t", "scale", (("measurement", "9.5"),)) == v1
    v2 = store.publish("ABCDEF", "t", "causal", (("temp", "85.0"),))
    assert v2 == v1 + 1
    view = store.view("ABCDEF", "student-1")
    assert (view.page, view.params, view.version, view.followers) == ("causal", (("temp", "85.0"),), v2, 1)


def test_followers_are_counted_while_they_poll(store, clock):
    store.teach("ABCDEF", "t")
    store.view("ABCDEF", "a")
    store.view("ABCDEF", "b")
    assert store.teacher_view("ABCDEF", "t").followers == 2
    clock.now += class_store.FOLLOWER_GONE_S / 2
    store.view("ABCDEF", "a")
    clock.now += class_store.FOLLOWER_GONE_S / 2 + 0.1
    assert store.teacher_view("ABCDEF", "t").followers == 1
    store.leave("ABCDEF", "a")
    assert store.teacher_view("ABCDEF", "t").followers == 0


def test_a_class_that_does_not_exist_or_has_expired_says_so(store, clock):
    with pytest.raises(ClassError, match="There is no class QWERTY"):
        store.view("QWERTY", "s")
    store.teach("QWERTY", "t")
    clock.now += class_store.CLASS_TTL_S + 1
    with pytest.raises(ClassError, match="it may have ended"):
        store.view("QWERTY", "s")


def test_the_latest_teacher_leads_and_the_old_page_is_told(store):
    store.teach("ABCDEF", "tab-1")
    store.teach("ABCDEF", "tab-2")
    store.publish("ABCDEF", "tab-2", "scale", ())
    with pytest.raises(ClassError, match="now led from another page"):
        store.publish("ABCDEF", "tab-1", "weather", ())


def test_one_guess_per_student_per_question_bounded_and_closed_after_the_reveal(store):
    store.teach("ABCDEF", "t")
    store.ask("ABCDEF", "t", QUESTION)
    store.guess("ABCDEF", "s1", QUESTION.key, (12.0,))
    store.guess("ABCDEF", "s1", QUESTION.key, (12.5,))  # a second replaces the first
    store.guess("ABCDEF", "s2", QUESTION.key, (11.0,))
    assert sorted(store.guesses("ABCDEF", QUESTION.key)) == [(11.0,), (12.5,)]
    assert store.own_guess("ABCDEF", "s1", QUESTION.key) == (12.5,)
    for bad in ((float("nan"),), (1e9,), (1.0, 2.0)):
        with pytest.raises(ClassError):
            store.guess("ABCDEF", "s3", QUESTION.key, bad)
    with pytest.raises(ClassError, match="moved on"):
        store.guess("ABCDEF", "s3", "scale:other", (1.0,))
    store.reveal("ABCDEF", "t", QUESTION.key, (12.56,))
    assert store.view("ABCDEF").question.answer == (12.56,)
    with pytest.raises(ClassError, match="guesses are closed"):
        store.guess("ABCDEF", "s3", QUESTION.key, (1.0,))


def test_a_new_question_starts_with_no_guesses(store):
    store.teach("ABCDEF", "t")
    store.ask("ABCDEF", "t", QUESTION)
    store.guess("ABCDEF", "s1", QUESTION.key, (12.0,))
    store.ask("ABCDEF", "t", Question("scale:def", "again", 0.0, 1.0))
    assert store.guesses("ABCDEF", "scale:def") == ()


def test_only_the_teacher_asks_and_reveals(store):
    store.teach("ABCDEF", "t")
    with pytest.raises(ClassError):
        store.ask("ABCDEF", "student", QUESTION)
    store.ask("ABCDEF", "t", QUESTION)
    with pytest.raises(ClassError):
        store.reveal("ABCDEF", "student", QUESTION.key, (1.0,))


def test_the_store_is_bounded(store, monkeypatch):
    monkeypatch.setattr(class_store, "MAX_CLASSES", 3)
    monkeypatch.setattr(class_store, "MAX_GUESSES", 2)
    monkeypatch.setattr(class_store, "MAX_FOLLOWERS", 2)
    for code in ("AAAAAA", "BBBBBB", "CCCCCC"):
        store.teach(code, "t")
    with pytest.raises(ClassError, match="already holds 3 classes"):
        store.teach("DDDDDD", "t")
    store.ask("AAAAAA", "t", QUESTION)
    store.guess("AAAAAA", "s1", QUESTION.key, (1.0,))
    store.guess("AAAAAA", "s2", QUESTION.key, (1.0,))
    with pytest.raises(ClassError, match="already has 2 guesses"):
        store.guess("AAAAAA", "s3", QUESTION.key, (1.0,))
    for follower in ("f1", "f2", "f3"):
        store.view("AAAAAA", follower)
    assert store.teacher_view("AAAAAA", "t").followers == 2
    with pytest.raises(ClassError, match="too long"):
        store.publish("AAAAAA", "t", "scale", (("data", "1," * 5000),))


def test_many_threads_at_once_leave_the_store_consistent(store):
    store.teach("ABCDEF", "t")
    store.ask("ABCDEF", "t", QUESTION)

    def student(i):
        for _ in range(50):
            store.view("ABCDEF", f"s{i}")
            store.guess("ABCDEF", f"s{i}", QUESTION.key, (float(i),))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.guesses("ABCDEF", QUESTION.key)) == [(float(i),) for i in range(20)]
    assert store.teacher_view("ABCDEF", "t").followers == 20
