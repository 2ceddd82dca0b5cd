"""AppTest: a teacher and students in one process: follow, explore, predict and reveal."""

import itertools

import pytest

from ppl_models.scale import ScaleSettings, exact_posterior
from tests.apptest_helpers import metric, open_page, texts
from ui.class_store import CODE_ALPHABET

_codes = itertools.product(CODE_ALPHABET, repeat=6)


@pytest.fixture
def code():
    """A class code of its own for each test: every AppTest shares the process's class store."""
    return "".join(next(_codes)[::-1])


def slider(app, label):
    return next(s for s in app.slider if s.label == label)


def guess_box(app):
    return next(n for n in app.number_input if n.label.startswith("Your guess"))


def test_a_student_follows_the_teacher_to_another_page_and_setting(code):
    teacher = open_page("scale", teach=code, measurement="9.5")
    assert any(f"/?follow={code}" in block.value for block in teacher.code)
    student = open_page("home", follow=code)
    assert slider(student, "Observed measurement").value == 9.5
    assert metric(student, "Posterior mean").delta.endswith(
        f"vs exact {exact_posterior(ScaleSettings(measurement=9.5)).mean:.3f}"
    )
    slider(teacher, "Observed measurement").set_value(11.0).run()
    student.run()  # the student's poll, as the fragment's timer runs it
    assert slider(student, "Observed measurement").value == 11.0
    assert metric(teacher, "Following").value == "1"


def test_explore_on_my_own_keeps_the_setting_and_follow_again_returns(code):
    teacher = open_page("scale", teach=code, measurement="8.0")
    student = open_page("scale", follow=code)
    next(b for b in student.button if b.label == "Explore on my own").click().run()
    assert slider(student, "Observed measurement").value == 8.0
    slider(teacher, "Observed measurement").set_value(12.0).run()
    student.run()
    assert slider(student, "Observed measurement").value == 8.0, "exploring: the teacher's change does not arrive"
    next(b for b in student.button if b.label == "Follow again").click().run()
    student.run()
    assert slider(student, "Observed measurement").value == 12.0


@pytest.mark.parametrize("bad", ["QWXRTY", "abc", "<b>x</b>"])
def test_a_code_that_does_not_exist_or_is_malformed_gets_a_clear_message(bad):
    student = open_page("scale", follow=bad)
    said = texts(student.error)
    assert "There is no class QWXRTY" in said if bad == "QWXRTY" else "takes a class code of 6" in said
    assert "<b>" not in said
    assert metric(student, "Posterior mean").value  # the page still works


def test_predict_first_then_reveal_with_two_students(code):
    teacher = open_page("scale", teach=code, measurement="9.5")
    next(t for t in teacher.toggle if t.label.startswith("Predict first")).set_value(True).run()
    assert not [m for m in teacher.metric if m.label == "Posterior mean"], "the projector hides the answer"
    first, second = open_page("scale", follow=code), open_page("scale", follow=code)
    for student, value in ((first, 9.0), (second, 10.5)):
        assert "The teacher asks: what is the posterior mean of the weight" in texts(student.info)
        assert not [m for m in student.metric if m.label == "Posterior mean"]
        guess_box(student).set_value(value)
        next(b for b in student.button if b.label == "Send my guess").click().run()
        assert f"Your guess is in: {value:g}" in texts(student.success)
    teacher.run()
    assert "2 guesses so far" in texts(teacher.markdown)
    next(b for b in teacher.button if b.label == "Reveal").click().run()
    exact = exact_posterior(ScaleSettings(measurement=9.5)).mean
    assert f"The answer: {exact:.3f}" in texts(teacher.success)
    assert metric(teacher, "Posterior mean").value
    first.run()
    said = texts(first.success)
    assert f"The answer: {exact:.3f}" in said and "Your guess: 9" in said and "median 9.750" in said
    assert metric(first, "Posterior mean").value


def test_a_guess_outside_the_bounds_is_refused_in_words(code):
    teacher = open_page("scale", teach=code)
    next(t for t in teacher.toggle if t.label.startswith("Predict first")).set_value(True).run()
    student = open_page("scale", follow=code)
    box = guess_box(student)
    assert (box.min, box.max) == (-100.0, 100.0)


def test_start_a_class_on_the_home_page_picks_a_code_and_shows_the_students_link():
    home = open_page("home")
    next(b for b in home.button if b.label == "Start a class").click().run()
    code = home.query_params["teach"]
    code = code[0] if isinstance(code, list) else code
    assert len(code) == 6
    assert any(f"/?follow={code}" in block.value for block in home.code)
    assert any(f"/?follow={code}`" in m.value for m in home.markdown), "the dialog shows it large"
    assert home.get("image"), "the QR code is drawn"


def test_the_causal_page_asks_for_the_interventional_mean_and_reveals_the_exact_one(code):
    from ppl_models import weather

    teacher = open_page("causal", teach=code, temp="85")
    next(t for t in teacher.toggle if t.label.startswith("Predict first")).set_value(True).run()
    student = open_page("causal", follow=code)
    assert "do(temp = 85)" in texts(student.info)
    assert not [m for m in student.metric if m.label.startswith("E[sales")]
    guess_box(student).set_value(120.0)
    next(b for b in student.button if b.label == "Send my guess").click().run()
    next(b for b in teacher.button if b.label == "Reveal").click().run()
    student.run()
    exact = weather.exact_interventional_sales(weather.WeatherSettings(), 85.0)
    assert f"The answer: {exact:.3f}" in texts(student.success)
    assert [m for m in student.metric if m.label.startswith("E[sales | do(temp")]


def test_the_mixture_page_asks_for_every_location(code):
    teacher = open_page("gmm", teach=code)
    next(t for t in teacher.toggle if t.label.startswith("Predict first")).set_value(True).run()
    student = open_page("gmm", follow=code)
    boxes = [n for n in student.number_input if n.label.startswith("Your guess")]
    assert [b.label for b in boxes] == ["Your guess: location 1", "Your guess: location 2"]
    for box, value in zip(boxes, (1.0, 11.0), strict=True):
        box.set_value(value)
    next(b for b in student.button if b.label == "Send my guess").click().run()
    assert "Your guess is in: 1, 11" in texts(student.success)
