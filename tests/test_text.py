"""The escaping helper: user text inside markdown stays text.

These check the markdown source the helper writes; tests/test_browser_markup.py checks
what Chromium makes of it.
"""

import re

import pytest

from ui.text import JOINER, MAX_MESSAGE_CHARS, MAX_QUOTED_CHARS, escape, literal, shorten, visible

HOSTILE = [
    "`",
    "``x``",
    "a ``` b ```` c",
    "````",
    "x`\n# Session expired\n[Log in again](http://evil.example)`",
    "[click](http://evil.example)",
    "![img](http://evil.example/x.png)",
    "<http://evil.example>",
    "http://evil.example www.evil.example someone@evil.example",
    "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>",
    "&lt;b&gt; &#x3C;",
    "# heading\n## two\n======\n-----",
    "- item\n* star\n+ plus\n1. one\n2) two\n> quote",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "**bold** _it_ ~~gone~~",
    ":red[alarm] :blue-background[bg] :rainbow[r] :green-badge[ok]",
    ":material/warning: :material/home:",
    ":smile: :+1: :streamlit:",
    "$x^2$ and $$y$$",
    "a\\b\\`c",
    "line\r\nnext\x00nul",
    "a\u202eevil\u2066b\u200bc\u2060d",
    "    indented code",
]


def _unescaped(markdown: str) -> str:
    """What CommonMark shows for ``escape``'s output: escapes resolved, joiners invisible."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("  \n", "\n")
    return text.replace(JOINER, "")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_is_one_code_span_whatever_the_value(value):
    quoted = literal(value)
    fence = re.match(r"`+", quoted).group()
    body = quoted[len(fence) : -len(fence)]
    assert quoted.endswith(fence)
    # The fence is longer than any run of backticks inside, so nothing closes it early.
    assert max((len(run) for run in re.findall(r"`+", body)), default=0) < len(fence)
    assert "\n" not in quoted and "\r" not in quoted
    assert not any(char in body for char in "\x00\u202e\u2066\u200b")
    if body.startswith(" ") and body.endswith(" ") and body.strip():
        body = body[1:-1]  # CommonMark strips one space each side
    assert body.replace(":" + JOINER + "material/", ":material/") == shorten(visible(value), MAX_QUOTED_CHARS)


def test_literal_examples():
    assert literal("measurement=abc") == "`measurement=abc`"
    assert literal("a`b") == "``a`b``"
    assert literal("`x") == "`` `x ``"
    assert literal("x``") == "``` x`` ```"
    assert literal(" a ") == "`  a  `"
    assert literal("") == "(empty)"
    assert literal("a\nb") == "`a\\nb`"
    assert literal("a\u202eb") == "`a\\u202eb`"
    # Streamlit rewrites ":material/" to ":material_" even inside code spans.
    assert literal(":material/warning:") == "`:\u2060material/warning:`"


def test_a_long_literal_is_cut_and_says_so():
    quoted = literal("9" * 100_000)
    assert quoted == "`" + "9" * (MAX_QUOTED_CHARS - 1) + "…`"


@pytest.mark.parametrize("value", HOSTILE)
def test_escape_leaves_no_markup_only_the_characters(value):
    markdown = escape(value)
    lines = markdown.split("  \n")
    for line in lines:
        # No unescaped character that opens an inline construct.
        assert not re.search(r"(?<!\\)(?:\\\\)*[`*_\[\]<>!~$&|{}]", line.replace("\\\\", "")), line
        assert not re.search(r"(?<!\\):(?!\u2060)", line), line
        # No line can start a block: heading, list, quote, table, code, setext underline.
        assert not re.match(r"\s", line)
        assert not re.match(r"[#>*+\-=|`~]", line)
        assert not re.match(r"\d{1,9}[.)]", line)
        assert not re.search(r"www\.", line, re.IGNORECASE)
        assert "@" not in line.replace("@" + JOINER, "")
    expected = "\n".join(visible(part).lstrip() for part in value.split("\n"))
    assert _unescaped(markdown) == expected


def test_escape_keeps_an_ordinary_sentence_as_it_is():
    for message in (
        "Entry 3, 'abc', is not a number.",
        "K = 4 components for 3 points: use at most one component per point.",
        "temp = 200 is 8.3 standard deviations from the nearest weather's mean",
    ):
        assert _unescaped(escape(message)) == message
    assert escape("Entry 3, 'abc', is not a number.") == "Entry 3, 'abc', is not a number."
    assert escape("Point 2 is nan") == "Point 2 is nan"


def test_escape_examples():
    assert escape("Entry 3, '[x](http://evil)', is not a number.") == (
        "Entry 3, '\\[x\\](http\\:\u2060//evil)', is not a number."
    )
    assert escape("# Session expired\n[Log in](x)") == "\\# Session expired  \n\\[Log in\\](x)"
    assert escape("1. one\n10) ten") == "1\\. one  \n10\\) ten"
    assert escape(":red[x] $y$") == "\\:\u2060red\\[x\\] \\$y\\$"
    assert escape("www.evil.example a@b.example") == "www\u2060.evil.example a@\u2060b.example"


def test_a_long_message_is_cut():
    markdown = escape("x" * 100_000)
    assert markdown == "x" * (MAX_MESSAGE_CHARS - 1) + "…"


def test_newlines_become_line_breaks_and_other_controls_become_visible():
    assert escape("a\nb") == "a  \nb"
    assert escape("a\rb\x00c\tz") == "a\\\\rb\\\\u0000c\\\\tz"
    assert _unescaped(escape("a\rb")) == "a\\rb"
