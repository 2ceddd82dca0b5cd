"""No page makes the browser talk to anyone but the app: offline and private deployments work,
and no third party learns of a visit.

Every request a page attempts is recorded from before navigation (``page.on("request")``,
websockets too); a route lets 127.0.0.1 through and aborts everything else, so a page
that would reach out is both caught and kept from it. Streamlit's frontend turns a
``:material/`` page icon into a fonts.gstatic.com URL; the app's icon is a file it serves.
"""

from urllib.parse import urlsplit

import pytest

from tests.browser_fixtures import ARTIFACTS, screenshot, wait_idle
from ui.catalog import CATALOG

pytestmark = pytest.mark.browser

PAGES = {
    **{lecture.url_path or "home": f"/{lecture.url_path}" for lecture in CATALOG},
    # The link that raised OverflowError (issue 13): its page must load, say why, and stay local.
    "causal-extreme": "/causal?temp=220&cloudy_sd=0.5&sunny_sd=0.5",
}
FAVICON_HREF = "() => document.querySelector(\"link[rel='shortcut icon']\")?.href ?? ''"


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


@pytest.mark.parametrize("name", list(PAGES))
def test_every_request_of_a_page_goes_to_the_app(page, server_url, name):
    attempted: list[str] = []
    page.on("request", lambda request: attempted.append(request.url))
    page.on("websocket", lambda socket: attempted.append(socket.url))

    def local_only(route):
        if _host(route.request.url) == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    page.route("**/*", local_only)
    page.goto(server_url + PAGES[name])
    wait_idle(page)
    # The favicon is set by set_page_config once the script runs; wait for it to leave the default.
    page.wait_for_function(f"({FAVICON_HREF})().includes('/media/')", timeout=30_000)
    favicon = page.evaluate(FAVICON_HREF)
    page.wait_for_timeout(1_000)  # requests a late element (a chart's font, an icon) would make
    screenshot(page, f"offline-{name}")

    assert favicon.startswith(server_url + "/media/") and favicon.endswith(".png"), favicon
    icon = page.request.get(favicon)
    assert icon.ok and icon.headers["content-type"] == "image/png"
    assert icon.body()[:8] == b"\x89PNG\r\n\x1a\n"
    (ARTIFACTS / "offline-favicon-as-served.png").write_bytes(icon.body())  # a screenshot has no tab
    assert attempted, "no request was recorded at all"
    outside = sorted({url for url in attempted if _host(url) != "127.0.0.1" and not url.startswith("data:")})
    assert outside == []
    assert not page.get_by_test_id("stException").count()
    if name == "causal-extreme":
        text = page.locator("body").inner_text()
        assert "OverflowError" not in text and "Inference failed" not in text
        assert "temp = 220 is 290.0 standard deviations" in text
        assert "exact 200.0" in text
