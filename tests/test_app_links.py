"""Link values through AppTest: quoted only by the escaping helper, one rule for repeated keys, one note."""

import pytest

from tests.apptest_helpers import metric, open_page, texts
from ui.link_notes import NOTE_HEADING, ignored_query_note, repeated_key_note
from ui.text import escape, literal

HOSTILE = "x`\n# Session expired\n[Log in again](http://evil.example)` :red[a] :material/warning: $x$"


def notes(app) -> list[str]:
    return [w.value for w in app.warning if w.value.startswith(NOTE_HEADING)]


def test_a_hostile_link_value_appears_only_inside_the_helpers_output():
    app = open_page("scale", measurement=HOSTILE, algo="svi", svi_steps="200")
    (note,) = notes(app)
    quoted = literal(f"measurement={HOSTILE}")
    assert f"- {quoted} is not a number; using 14.0 instead." in note
    # Outside the code span nothing of the value is left: no heading, link or directive.
    rest = note.replace(quoted, "")
    for fragment in ("Session expired", "evil.example", ":red[", "material", "$x$"):
        assert fragment not in rest
    assert app.slider(key="measurement").value == 14.0


def test_a_hostile_data_value_reaches_the_error_escaped():
    token = "[x](http://evil.example):red[a]$y$"
    app = open_page("gmm", data=f"1 2 {token}")
    message = f"Entry 3, {token!r}, is not a number."
    assert escape(message) in texts(app.error)
    assert token not in texts(app.error)


def test_a_long_value_is_quoted_short_and_every_note_stays_bounded():
    app = open_page("scale", measurement="9" * 5000, guess="x" * 5000, algo="svi", svi_steps="200")
    (note,) = notes(app)
    assert "…" in note and len(note) < 400


@pytest.mark.parametrize(
    "key, values, widget, expected",
    [
        ("measurement", ["1", "9.5"], "slider", 9.5),
        ("samples", ["300", "400"], "number_input", 400),
        ("algo", ["svi", "nuts"], "radio", "nuts"),
        ("adapt", ["false", "true", "false"], "toggle", False),
        ("hold_steps", ["false", "true"], "toggle", True),
    ],
)
def test_a_repeated_key_uses_its_last_value_for_every_kind_of_control(key, values, widget, expected):
    query = {"algo": "nuts", "samples": "300", "warmup": "100", key: values}
    app = open_page("scale", **query)
    assert getattr(app, widget)(key=key).value == expected
    (note,) = notes(app)
    assert f"- {repeated_key_note(key, len(values), values[-1])}" in note
    assert note.count(f"`{key}`") == 1
    assert app.query_params[key] == values[-1]  # the link to share holds one value


def test_a_repeated_text_key_uses_its_last_value():
    app = open_page("gmm", data=["1, 2", "0, 1, 10, 11, 12"])
    assert app.text_input(key="data").value == "0, 1, 10, 11, 12"
    assert "`data` appears 2 times in the link; using the last, `0, 1, 10, 11, 12`." in notes(app)[0]
    assert metric(app, "scale").value == "0.651"  # the lecture's fit, on the last value's data


def test_a_repeated_key_whose_last_value_is_bad_falls_back_with_both_notes():
    app = open_page("scale", measurement=["9.5", "abc"], algo="svi", svi_steps="200")
    (note,) = notes(app)
    assert "`measurement` appears 2 times in the link; using the last, `abc`." in note
    assert "`measurement=abc` is not a number; using 14.0 instead." in note
    assert app.slider(key="measurement").value == 14.0


def test_every_bad_value_gets_one_note_above_the_page_whatever_the_control_group():
    app = open_page("scale", measurement="abc", seed="x", algo="bogus", samples="1e9")
    (note,) = notes(app)
    for fragment in ("`measurement=abc`", "`seed=x`", "`algo=bogus`", "`samples=1e9`"):
        assert note.count(fragment) == 1
    app.run()
    assert notes(app) == [note]


def test_the_ignored_query_note_says_what_was_wrong():
    assert ignored_query_note(1001, 6000) == (
        "This link had 1,001 values, more than the 1,000 the app reads, so it opened with the defaults. "
        "Share a shorter link."
    )
    assert ignored_query_note(3, 600_000).startswith("This link was 600,000 characters long, more than the 524,288")
