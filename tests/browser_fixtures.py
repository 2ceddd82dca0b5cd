"""A real ``streamlit run`` server on 127.0.0.1 and Debian's Chromium driven by Playwright.

The server is ``harness.server``'s, started as the benches start it but with the warm-up
off; the browser's settings are ``harness.browser``'s.
"""

from pathlib import Path

import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS, DELTA_CONTAINS, DRAWN, IDLE, VIEWPORT, local_only
from harness.server import RunningServer, ServerDidNotStart, start_server
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def start_server_or_fail() -> RunningServer:
    """Start ``streamlit run app.py`` on a free port of 127.0.0.1; wait until it answers, or fail the test."""
    try:
        return start_server(warmup=False)
    except ServerDidNotStart as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def server_url():
    server = start_server_or_fail()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    local_only(context)
    page = context.new_page()
    yield page
    context.close()


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the script has run to the end after the last action."""
    page.wait_for_timeout(300)  # let a rerun triggered by the last action start
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(DRAWN, timeout=timeout_ms)


def metric_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def metric_delta(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricDelta"]').inner_text().strip()


def wait_for_metric_delta(page, text: str, timeout_ms: int = 60_000) -> None:
    """Wait until some metric's delta line (where pages put exact values) contains ``text``."""
    page.wait_for_function(DELTA_CONTAINS, arg=text, timeout=timeout_ms)


def plotly_traces(page) -> list[list[dict]]:
    """Each drawn plotly chart's traces (name and point count), read from the DOM.

    ``_fullData`` holds the arrays plotly.js decoded and drew; ``data`` may still hold
    the base64 typed-array form that plotly.py sends.
    """
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(div =>
              (div._fullData || []).map(t => ({name: t.name, n: (t.x || t.y || []).length})))"""
    )


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
