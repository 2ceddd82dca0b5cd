"""Make sure a page always runs inside ``app.py`` (navigation, layout, shared sidebar).

Streamlit still supports the old "pages/ directory" multipage mode. Until some session
in the process has called ``st.navigation``, a process whose main script sits beside a
``pages/`` folder routes a request for ``/scale`` straight to ``pages/scale.py``,
skipping ``app.py``. So the first student to open a shared link on a freshly started
server would get a page with no wide layout, no device choice and the wrong navigation,
and so would everyone after them until someone opened the home page. Each page calls
:func:`require_app_shell` first: run that way, it switches the process to
``st.navigation`` mode and reruns, and the rerun goes through ``app.py`` to the same page.
(``tests/test_browser_fresh_server.py`` guards this against Streamlit upgrades.)
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_app_shell() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
