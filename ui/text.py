"""User text inside markdown, shown as data: the one escaping helper.

Every Streamlit text element (``st.markdown``, ``st.error``, ``st.warning``, ``st.caption``,
metric labels, help texts) renders markdown with Streamlit's extensions: links, headings,
``:red[...]`` colour and ``:material/...:`` icon directives, emoji shortcodes, ``$...$``
LaTeX. Anything a link, a data set, a CSV cell or a file name contains must reach the page
through :func:`literal` (a value quoted inside the app's own sentence) or :func:`escape`
(a whole message that may quote user text, such as a data error), never raw.
"""

from __future__ import annotations

import unicodedata

# A value is quoted so that the student can recognise it, not to reproduce a pasted
# novel: longer ones are cut, with the cut marked.
MAX_QUOTED_CHARS = 80


def visible(text: str) -> str:
    """Control, format and line-separator characters written as escapes (``\\n``, ``\\u202e``).

    A newline would let the text start a heading or a list of its own; a bidirectional
    override would reorder the app's words around it.
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
    (CommonMark's rule), and padded with spaces, which CommonMark strips again.
    """
    text = shorten(visible(str(value)), max_chars)
    if not text:
        return "(empty)"
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


_ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape(text: object) -> str:
    """Plain ``text`` as markdown that renders as exactly those characters.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows that for
    each one), so no link, emphasis, heading, list, table, HTML tag or ``$`` can form.
    Streamlit's icon and emoji shortcodes are matched on the text after escapes are
    resolved, so a colon is also followed by a zero-width word joiner, which breaks the
    ``:name:`` pattern and shows nothing. Line breaks are kept as line breaks.
    """
    lines = []
    for line in str(text).split("\n"):
        escaped = []
        for char in visible(line).lstrip():
            if char in _ASCII_PUNCTUATION:
                escaped.append("\\" + char)
                if char == ":":
                    escaped.append("\u2060")
            else:
                escaped.append(char)
        lines.append("".join(escaped))
    return "  \n".join(lines)
