"""User text inside markdown, shown as data: the one escaping helper.

Every Streamlit text element (``st.markdown``, ``st.error``, ``st.warning``, ``st.caption``,
metric labels, help texts) renders markdown with Streamlit's extensions: links, headings,
``:red[...]`` colour and ``:material/...:`` icon directives, emoji shortcodes, ``$...$``
LaTeX. Anything a link, a data set, a CSV cell or a file name contains must reach the page
through :func:`literal` (a value quoted inside the app's own sentence) or :func:`escape`
(a whole message that may quote user text, such as a data error), never raw.

Two of Streamlit's rules work on the text after markdown's own escapes are resolved, so a
backslash cannot stop them (checked in Chromium, ``tests/test_browser_markup.py``):

- the frontend rewrites every ``:material/`` in the *source*, code spans included, to
  ``:material_`` before parsing, then turns ``:material_name:``, emoji shortcodes
  (``:smile:``) and ``:streamlit:`` in text into icons;
- GFM's autolinks for ``www.example.com`` and ``someone@example.com`` are found in text.

A zero-width word joiner (U+2060) after the colon, between ``www`` and its dot, and after
``@`` breaks those patterns and shows nothing.
"""

from __future__ import annotations

import re
import unicodedata

# A value is quoted so that the student can recognise it, not to reproduce a pasted
# novel: longer ones are cut, with the cut marked.
MAX_QUOTED_CHARS = 80
# A whole message (a data error quoting a cell) is cut too: the page stays readable and
# the cost of rendering it stays bounded whatever the data held.
MAX_MESSAGE_CHARS = 1000

JOINER = "\u2060"

_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Characters that can open or close an inline construct anywhere in a line: code, emphasis,
# strikethrough, links and images, autolinks and HTML, entities, math, directives and
# shortcodes, tables. Other punctuation (, ' " ; ? % / = . and so on) only matters at the
# start of a line, where every punctuation character is escaped.
_INLINE_SPECIAL = frozenset("\\`*_[]<>!~$&:|{}")
# "1." or "1)" at the start of a line opens an ordered list.
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])")
_WWW_DOT = re.compile(r"(www)(\.)", re.IGNORECASE)


def visible(text: str) -> str:
    """Control, format and line-separator characters written as escapes (``\\n``, ``\\u202e``).

    A newline would let the text start a heading or a list of its own; a bidirectional
    override would reorder the app's words around it; a zero-width character would hide
    what the value really holds.
    """
    out = []
    for char in text:
        if char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def shorten(text: str, max_chars: int = MAX_QUOTED_CHARS) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def literal(value: object, max_chars: int = MAX_QUOTED_CHARS) -> str:
    """``value`` as an inline code span that nothing inside it can break out of.

    Inside a code span markdown, directives, emoji, HTML and LaTeX are all inert; the
    fence is one backtick longer than the longest run of backticks in the value
    (CommonMark's rule). It is padded with a space on each side only where CommonMark
    needs that (a value that starts or ends with a backtick, or with a space at both
    ends), and strips the padding again, so an ordinary value reads ``measurement=abc``.
    """
    text = shorten(visible(str(value)), max_chars)
    if not text:
        return "(empty)"
    # Streamlit rewrites ":material/" even inside code spans; keep the value as typed.
    text = text.replace(":material/", ":" + JOINER + "material/")
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    needs_padding = text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ")
    pad = " " if needs_padding else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape_line(line: str) -> str:
    line = visible(line).lstrip()  # four leading spaces would open a code block
    line = _WWW_DOT.sub(r"\1" + JOINER + r"\2", line)
    marker = _ORDERED_MARKER.match(line)
    escaped = []
    for index, char in enumerate(line):
        at_start = index == 0 or (marker is not None and index == marker.end(2) - 1)
        if char in _INLINE_SPECIAL or (at_start and char in _ASCII_PUNCTUATION):
            escaped.append("\\" + char)
        else:
            escaped.append(char)
        if char in ":@":
            escaped.append(JOINER)
    return "".join(escaped)


def escape(text: object, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """Plain ``text`` as markdown that renders as exactly those characters.

    Punctuation that can form markdown is backslash-escaped (CommonMark allows that for
    every ASCII punctuation character): anywhere in a line for the characters of inline
    constructs, and at the start of a line for the rest, so no link, emphasis, heading,
    list, quote, table, HTML tag, ``$`` math, directive or shortcode can form, while an
    ordinary sentence such as ``Entry 3, 'abc', is not a number.`` stays as it is. Line
    breaks are kept as line breaks.
    """
    return "  \n".join(_escape_line(line) for line in shorten(str(text), max_chars).split("\n"))
