"""How every page's frame looks: its title, and the app's few style rules, sent once per run
from ``app.py``. Each rule is here because a setting of Streamlit or plotly could not say it.
"""

import streamlit as st

from ui.chart_view import SR_ONLY
from ui.classroom import JOIN_LINK_KEY
from ui.link_notes import NOTES_KEY
from ui.presenter import PRESENTER_STYLE, presenting

# Plotly, under Streamlit's chart theme, draws tick labels and axis titles in a faded grey
# (3.7:1 on white): too pale to read from the back of a classroom. ``currentColor`` is the
# theme's own text colour, so the charts stay readable when the student picks the dark theme.
_CHART_TEXT = """
.js-plotly-plot .main-svg :is(.xtick, .ytick) text,
.js-plotly-plot .main-svg text:is(.xtitle, .ytitle, .gtitle, .legendtext, .annotation-text) {
  fill: currentColor !important;
}
"""

# Streamlit's header shows its own Stop while any script runs. It halts the script without
# a rerun: the run ends with no message and no Run again, the page left half drawn. A
# page's Stop is ui.runs.LiveRun's alone; the running figure beside it still says a run is on.
_ONE_STOP_BUTTON = """
[data-testid="stStatusWidget"] button { display: none; }
"""

# A radio option's caption sits beside its <label>, not in it, so clicking the caption
# did nothing. The label's box is stretched over the whole option, caption included.
_CLICKABLE_CAPTIONS = """
[data-testid="stRadioGroup"] > div { position: relative; }
[data-testid="stRadioOption"]::after { content: ""; position: absolute; inset: 0; z-index: 1; }
"""

# The link-note area tops every page (ui/link_notes.py) and is empty on almost every visit:
# empty, it still took a flex gap above the title. (:has() may not nest inside :has().)
_EMPTY_NOTES = f"""
[data-testid="stLayoutWrapper"]:has(> .st-key-{NOTES_KEY}):not(:has([data-testid="stAlert"])) {{ display: none; }}
"""

# The usual visually-hidden rule for the charts' spoken summaries (ui/chart_view.py), and
# their element container taken out of the column's flow, so a hidden summary adds no gap
# above its chart. display:none would hide it from screen readers too.
_SPOKEN_ONLY = f"""
.{SR_ONLY} {{ position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }}
[data-testid="stElementContainer"]:has(.{SR_ONLY}) {{ position: absolute; }}
"""

# The class's join link in its dialog is read off a projector: a dialog draws a heading at body size.
_JOIN_LINK = f"""
.st-key-{JOIN_LINK_KEY} :is(h2, h2 code) {{ font-size: 2.2rem !important; overflow-wrap: anywhere; }}
"""

# The element that carries these rules takes no room above the title.
_STYLE_BOX = """
[data-testid="stElementContainer"]:has(> [data-testid="stMarkdown"] style) { display: none; }
"""


def apply_page_style() -> None:
    # In the page's own flow, first: a style-only st.html goes to Streamlit's event container,
    # which during a session's first run did not always reach the page before the run's Stop
    # button did (two Stop buttons in CI). The rule's own box is taken out of the layout.
    presenter = PRESENTER_STYLE if presenting() else ""
    st.markdown(
        f"<style>{_CHART_TEXT}{_ONE_STOP_BUTTON}{_CLICKABLE_CAPTIONS}{_EMPTY_NOTES}{_SPOKEN_ONLY}{_STYLE_BOX}"
        f"{_JOIN_LINK}{presenter}</style>",
        unsafe_allow_html=True,
    )


def title(text: str) -> None:
    """The page's title, without the link-to-heading icon.

    The icon is hidden until hovered but still laid out after the text: where a title
    nearly fills the column it wrapped onto a line of its own, an empty band under the
    title (the mixture and shapes pages at 1400 px). A page's title needs no link to
    itself: the page's address is that link.
    """
    st.title(text, anchor=False)
