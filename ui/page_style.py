"""How every page's frame looks."""

from __future__ import annotations

import streamlit as st


def title(text: str) -> None:
    """The page's title, without the link-to-heading icon.

    The icon is hidden until hovered but still laid out after the text: where a title
    nearly fills the column it wrapped onto a line of its own, an empty band under the
    title (the mixture and shapes pages at 1400 px). A page's title needs no link to
    itself: the page's address is that link.
    """
    st.title(text, anchor=False)
