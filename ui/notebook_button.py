"""Take it home: a page's current setting as a Jupyter notebook, one button per page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

LABEL = "Download as notebook"
MIME = "application/x-ipynb+json"


def notebook_button(page: str, build: Callable, *args) -> None:
    """A button that downloads ``build(*args)``, the page's setting as a notebook, as ``<page>.ipynb``.

    The notebook is built when the button is clicked, not on every rerun (a mixture's notebook
    holds every data point); the click does not rerun the page.

    :param page: the page's address (``scale``, ``open-world``): the file's name.
    :param build: the lecture's ``<entry>_notebook``.
    :param args: its arguments: the page's current setting, as the page's ``<entry>_code`` takes it.
    """

    def notebook() -> bytes:
        # nbformat (with jsonschema) loads with the first notebook asked for, not with every page.
        from ppl_models.notebooks import as_bytes

        return as_bytes(build(*args))

    st.download_button(
        LABEL,
        notebook,
        f"{page}.ipynb",
        MIME,
        on_click="ignore",
        icon=":material/download:",
        help="A Jupyter notebook of this setting that needs nothing of the app: the versions pinned, the code above "
        "in steps explained in plain words, the page's numbers from the same seed, and its charts.",
    )
