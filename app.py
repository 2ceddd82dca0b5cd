"""Pyro Model Explorer: the entry point. Page config, navigation, the shared sidebar.

``streamlit run app.py`` imports this file once as a module, finds ``app`` (an ``st.App``)
and serves it; Streamlit then runs this same file as ``__main__`` for every session and
rerun, which draws the pages. The ``st.App`` exists for its lifespan: the only hook
Streamlit gives that runs when the server starts, before any browser connects.
"""

import contextlib
from pathlib import Path

import streamlit as st

from ui import classroom
from ui.catalog import CATALOG, lecture_pages
from ui.controls import Choice, render
from ui.panels import DEVICE_KEY
from ui.presenter import presenting
from ui.shell import page_routes, route_every_page_through_the_app
from ui.style import apply_page_style
from ui.warmup import warm_default_settings

FAVICON = Path(__file__).with_name("static") / "favicon.png"


def main() -> None:
    # A file shipped with the app, served from its own /media: a :material/ icon makes every
    # browser fetch the favicon from fonts.gstatic.com (Streamlit's frontend builds that URL).
    st.set_page_config(
        page_title="Pyro Model Explorer",
        page_icon=FAVICON,
        layout="wide",
        initial_sidebar_state="collapsed" if presenting() else "auto",
    )
    pages = [
        st.Page(lecture.page, title=lecture.title, icon=lecture.icon, url_path=lecture.url_path or None, default=not i)
        for i, lecture in enumerate(CATALOG)
    ]
    device = Choice(
        DEVICE_KEY,
        "Compute device",
        ("auto", "cpu", "cuda"),
        (),
        "auto",
        "auto: the CPU for small models (faster: no GPU kernel-launch overhead), a GPU only for "
        "big data-parallel work, when one is present. cuda without a GPU falls back to the CPU.",
        compact=True,
    )
    apply_page_style()
    navigation = st.navigation(pages)
    with st.sidebar:
        render([device], "app")
    # Started by the server's lifespan already; this covers hosts that run the script
    # without it (AppTest). Only the first call in a process starts anything.
    warm_default_settings()
    here = navigation.url_path
    classroom.begin({lecture.url_path: lecture.page for lecture in CATALOG}, here)
    try:
        navigation.run()
    finally:
        # Also after a page's st.stop(): the teacher's setting is published either way.
        classroom.end()


@contextlib.asynccontextmanager
async def warm_up_at_server_start(_app):
    """Compute every page's default in the background from the moment the server starts.

    Without this the warm-up would start with the first session, and the first student
    would wait for it (README, Start-up). It also routes every page through this file
    before the first request can reach a page file directly (``ui/shell.py``).
    """
    route_every_page_through_the_app()
    warm_default_settings()
    yield


if __name__ == "__main__":
    main()
else:
    app = st.App(
        __file__,
        lifespan=warm_up_at_server_start,
        routes=page_routes(lecture.url_path for lecture in lecture_pages()),
    )
