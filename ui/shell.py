"""Make every page run inside ``app.py`` (navigation, layout, shared sidebar).

Streamlit still supports the old "pages/ directory" multipage mode. Until some session
in the process has called ``st.navigation``, a process whose main script sits beside a
``pages/`` folder routes a request for ``/scale`` straight to ``pages/scale.py``,
skipping ``app.py``: the first student to open a shared link on a freshly started server
would get a page with no wide layout, no device choice and the wrong navigation.

Streamlit 1.67 has no option for this: ``PagesManager`` decides from the folder's
presence alone, and the folder's name comes from the product's design card. So the
server's start (``app.py``'s ``st.App`` lifespan, before any browser connects) declares
the process an ``st.navigation`` app, and every request goes through ``app.py``. Before,
each page switched the mode on its own first run and reran, which cost the first visitor
two runs and a moment in which the page showed without its shell.
(``tests/test_browser_fresh_server.py`` guards this against Streamlit upgrades.)
"""

from streamlit.runtime.pages_manager import PagesManager


def route_every_page_through_the_app() -> None:
    PagesManager.uses_pages_directory = False
