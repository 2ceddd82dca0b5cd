"""Probabilities at a readable precision."""

import pytest

from ui.numbers import age_text, probability_text


@pytest.mark.parametrize(
    "p, text",
    [
        (0.0, "< 0.001"),
        (2e-9, "< 0.001"),
        (0.0007, "< 0.001"),
        (0.001, "0.001"),
        (0.0015, "0.002"),
        (0.5, "0.500"),
        (0.37512, "0.375"),
        (0.999, "0.999"),
        (0.9993, "> 0.999"),
        (0.99996, "> 0.999"),
        (1.0, "> 0.999"),
        (float("nan"), "–"),
    ],
)
def test_three_decimals_and_the_ends_in_words(p, text):
    assert probability_text(p) == text


def test_other_precisions_keep_the_same_rule():
    assert probability_text(0.004, decimals=2) == "< 0.01"
    assert probability_text(0.995, decimals=2) == "> 0.99"
    assert probability_text(0.25, decimals=2) == "0.25"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.4, "0 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (959, "16 min"),
        (3569, "59 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
    ],
)
def test_ages_read_as_a_person_says_them(seconds, text):
    assert age_text(seconds) == text
