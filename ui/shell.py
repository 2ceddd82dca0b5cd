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


def route_apptest_pages_through_the_app() -> None:
    """Do for Streamlit's AppTest what the server's start does for ``streamlit run``.

    AppTest runs no ``st.App`` lifespan, and before every run it resets the flag to None,
    which makes a new ``PagesManager`` look for ``pages/`` again and run a page file
    without ``app.py``. Its ``PagesManager`` is replaced by one that routes every page
    through the app first, so tests see the page as a browser does: sidebar, device
    choice and all. Called by the test suite and the benches that use AppTest.
    """
    from streamlit.testing.v1 import app_test

    class ThroughTheApp(PagesManager):
        def __init__(self, *args, **kwargs):
            route_every_page_through_the_app()
            super().__init__(*args, **kwargs)

    app_test.PagesManager = ThroughTheApp


# Streamlit's frontend cannot tell a page's address (/scale) from an app served under a
# base path (/scale/...), so it first asks /scale/_stcore/health and /scale/_stcore/host-config,
# gets the 404s Streamlit answers there on purpose, and only then tries the root: two
# failed requests and a retry delay on every deep link. When the page says where the
# server's root is (window.__streamlit.BACKEND_BASE_URL, the setting Streamlit reads for
# hosts that embed it), the frontend asks there alone. The root is the address without its
# last segment, which also holds behind a proxy that serves the app under a prefix.
_BASE_URL_SCRIPT = (
    "<script>window.__streamlit = Object.assign("
    '{BACKEND_BASE_URL: new URL(".", window.location.href).href}, window.__streamlit);</script>'
)


def page_routes(url_paths) -> list:
    """Routes answering each page's address with Streamlit's own page plus that script.

    Given to ``st.App(routes=...)``, which puts its own routes after the app's; any other
    path still gets Streamlit's page, unchanged.
    """
    from pathlib import Path

    from starlette.responses import HTMLResponse
    from starlette.routing import Route
    from streamlit import file_util

    index = Path(file_util.get_static_dir(), "index.html").read_text(encoding="utf-8")
    # Before the frontend's module script, which reads the setting once, as it loads.
    html = index.replace("<head>", "<head>" + _BASE_URL_SCRIPT, 1)

    async def page(_request):
        # no-cache as Streamlit serves its page: a new Streamlit version changes its bundles.
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    return [Route(f"/{path}", page, methods=["GET", "HEAD"]) for path in url_paths]
