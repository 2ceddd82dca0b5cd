"""A few real browsers at once: contexts of one Debian Chromium, driven by Playwright.

The protocol-level client (``harness.protocol_client``) measures the server; this checks
the same answers end to end, through Streamlit's frontend, with a handful of contexts (each
one a separate Streamlit session). A Chromium context costs more CPU than the server work
it waits for on a 2-core machine, so keep the count small. Its settings (``CHROMIUM``,
``CHROMIUM_ARGS``, ``VIEWPORT``) and page states (``IDLE``, ``DELTA_CONTAINS``) are the
browser tests' and the hostile bench's too.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from harness.page_checks import DISTRUST
from ppl_models.scale import ScaleSettings, exact_posterior

CHROMIUM = "/usr/bin/chromium"
# Everything the app needs comes from its own server; a request elsewhere (a font, a
# CDN, telemetry) is a page that would break offline or leak a student's visit, so it fails.
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/]).*")


def local_only(context) -> None:
    """Abort every request of a Playwright browser context that is not to 127.0.0.1 (sync or async API)."""
    context.route(NOT_LOCAL, lambda route: route.abort())


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
# Pages put exact values on a metric's delta line ("vs exact 12.560").
DELTA_CONTAINS = "t => [...document.querySelectorAll('[data-testid=stMetricDelta]')].some(e => e.innerText.includes(t))"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Streamlit loads many widgets' code on first use and shows a skeleton until it arrives: a
# page can be idle with its sliders and metrics not drawn yet, on a loaded machine for seconds.
DRAWN = "() => !document.querySelector('[data-testid=\"stSkeleton\"]')"
ERRORS = '[data-testid="stException"]'


async def _open_and_time(context, url: str, measurement: float, timeout_ms: int) -> tuple[float, list[str]]:
    page = await context.new_page()
    exact = exact_posterior(ScaleSettings(measurement=measurement))
    expected = f"vs exact {exact.mean:.3f}"
    started = time.perf_counter()
    await page.goto(f"{url}/scale?measurement={measurement:g}", wait_until="commit")
    try:
        await page.wait_for_function(DELTA_CONTAINS, arg=expected, timeout=timeout_ms)
        await page.wait_for_selector(IDLE, timeout=timeout_ms)
    except Exception as error:  # noqa: BLE001 - a page that never shows its answer is a finding
        return time.perf_counter() - started, [f"browser, measurement {measurement:g}: {type(error).__name__}"]
    seconds = time.perf_counter() - started
    problems = []
    if await page.locator(ERRORS).count():
        problems.append(f"browser, measurement {measurement:g}: an exception is shown")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Posterior mean").first
    shown_mean = float((await metric.locator('[data-testid="stMetricValue"]').inner_text()).strip())
    # Far from exact is a finding only when the page does not warn (harness.page_checks.check_scale).
    warned = await page.get_by_text(DISTRUST).count()
    if abs(shown_mean - exact.mean) > 0.5 * exact.sd and not warned:
        problems.append(
            f"browser, measurement {measurement:g}: posterior mean {shown_mean} far from {exact.mean:.3f}, "
            "without a warning"
        )
    return seconds, problems


async def scale_links_at_once(url: str, rounds: list[list[float]], timeout_ms: int = 120_000):
    """Open ``/scale?measurement=m`` in one new context per measurement, a round at a time.

    The contexts of a round open their links at the same moment. Returns, per round, each
    context's seconds from opening the link to its own finished answer ("vs exact" equal to
    the exact posterior mean of its measurement, and the posterior mean within 0.5 exact
    sd of it, as ``harness.page_checks`` checks protocol sessions), and the problems found. A first round on
    an already computed setting measures the browser's own cold start (it loads and compiles
    Streamlit's frontend, megabytes of JavaScript) apart from the server's work.
    """
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        return [], [f"{CHROMIUM} is missing: install Debian's chromium"]
    times, problems = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for measurements in rounds:
                contexts = [await browser.new_context(viewport=VIEWPORT) for _ in measurements]
                for context in contexts:
                    await context.route(NOT_LOCAL, lambda route: route.abort())
                outcomes = await asyncio.gather(
                    *(_open_and_time(c, url, m, timeout_ms) for c, m in zip(contexts, measurements, strict=True))
                )
                times.append([seconds for seconds, _ in outcomes])
                problems += [p for _, found in outcomes for p in found]
                for context in contexts:
                    await context.close()
        finally:
            await browser.close()
    return times, problems
