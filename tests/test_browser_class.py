"""A teacher and two students in real browsers: follow, predict, reveal, explore on one's own."""

import secrets

import pytest

from harness.browser import VIEWPORT, local_only
from ppl_models.scale import ScaleSettings, exact_posterior
from tests.browser_fixtures import metric_delta, screenshot, wait_for_metric_delta, wait_idle
from ui.class_store import CODE_ALPHABET

pytestmark = pytest.mark.browser


def new_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    local_only(context)
    return context, context.new_page()


def exact_delta(measurement: float) -> str:
    return f"vs exact {exact_posterior(ScaleSettings(measurement=measurement)).mean:.3f}"


def test_two_students_follow_the_teacher_predict_and_see_the_reveal(browser, server_url):
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    opened = [new_page(browser) for _ in range(3)]
    (_, teacher), (_, first), (_, second) = opened
    try:
        # A quick sampler, so each new setting is computed at once.
        teacher.goto(f"{server_url}/scale?teach={code}&measurement=9.5&algo=nuts&samples=300&warmup=100")
        wait_idle(teacher)
        teacher.get_by_text(f"/?follow={code}").first.wait_for()  # the students' link, to copy
        for student in (first, second):
            student.goto(f"{server_url}/?follow={code}")
        for student in (first, second):
            wait_for_metric_delta(student, exact_delta(9.5))
            assert "/scale" in student.url
        screenshot(first, "class-following")

        # The teacher moves the slider; both students' pages follow.
        slider = teacher.get_by_role("slider", name="Observed measurement")
        slider.focus()
        for _ in range(5):
            teacher.keyboard.press("ArrowRight")  # 9.5 -> 10.0
        wait_for_metric_delta(teacher, exact_delta(10.0))
        for student in (first, second):
            wait_for_metric_delta(student, exact_delta(10.0), timeout_ms=30_000)
        teacher.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                  .some(m => m.innerText.includes('Following') && m.innerText.trim().endsWith('2'))""",
            timeout=30_000,
        )

        # Predict first: the students guess, the answer waits for the reveal.
        teacher.get_by_text("Predict first: ask the class").click()
        for student, guess in ((first, "11.5"), (second, "12")):
            box = student.get_by_label("Your guess")
            box.wait_for(timeout=30_000)
            assert student.get_by_test_id("stMetric").filter(has_text="Posterior mean").count() == 0
            box.fill(guess)
            student.get_by_role("button", name="Send my guess").click()
            student.get_by_text("Your guess is in").wait_for(timeout=30_000)
        teacher.get_by_text("2 guesses so far").wait_for(timeout=30_000)
        screenshot(teacher, "class-guesses")
        teacher.get_by_role("button", name="Reveal").click()
        answer = f"The answer: {exact_posterior(ScaleSettings(measurement=10.0)).mean:.3f}"
        for student in (first, second):
            student.get_by_text(answer).wait_for(timeout=30_000)
            wait_for_metric_delta(student, exact_delta(10.0))
        assert "off by" in first.get_by_test_id("stAlert").filter(has_text=answer).first.inner_text()
        screenshot(first, "class-reveal")

        # One student explores: the teacher's next change reaches only the other.
        second.get_by_role("button", name="Explore on my own").click()
        second.get_by_role("button", name="Follow again").wait_for()
        slider.focus()
        for _ in range(5):
            teacher.keyboard.press("ArrowLeft")  # back to 9.5
        wait_for_metric_delta(first, exact_delta(9.5), timeout_ms=30_000)
        wait_idle(second)
        assert metric_delta(second, "Posterior mean").endswith(exact_delta(10.0))
        assert "measurement=10" in second.url, "the explorer's link keeps the setting"
    finally:
        for context, _ in opened:
            context.close()
