"""Accessibility in Chromium (issue 16, point 11): heading levels, chart summaries, the keyboard.

axe-core's "heading-order" rule is of moderate impact, so ``harness.axe.serious_violations``
does not report it; it is run on its own here, on every page of the catalog with its defaults.
"""

import pytest

from harness.axe import axe_script
from tests.browser_fixtures import screenshot, wait_idle
from ui.catalog import CATALOG

pytestmark = pytest.mark.browser

HEADING_ORDER = "async () => await window.axe.run(document, {runOnly: ['heading-order']})"
# Each chart's hidden summary and whether it is really hidden (a 1 px box), in page order.
SUMMARIES = """() => [...document.querySelectorAll('.pme-sr-only')].map(e => {
    const box = e.getBoundingClientRect();
    return {text: e.textContent, hidden: box.width <= 1 && box.height <= 1};
})"""
CHARTS = "() => document.querySelectorAll('.js-plotly-plot').length"
# The element that has the keyboard focus, as a test names it.
FOCUSED = """() => {
    const e = document.activeElement;
    return {label: e.getAttribute('aria-label') || '', text: (e.innerText || '').trim().slice(0, 60),
            role: e.getAttribute('role') || e.tagName.toLowerCase()};
}"""


@pytest.mark.parametrize("lecture", CATALOG, ids=lambda lecture: lecture.url_path or "home")
def test_headings_never_skip_a_level_and_every_chart_is_summarised(page, server_url, lecture):
    page.goto(f"{server_url}/{lecture.url_path}")
    wait_idle(page)
    page.add_script_tag(content=axe_script())
    violations = page.evaluate(HEADING_ORDER)["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    summaries = page.evaluate(SUMMARIES)
    assert len(summaries) == page.evaluate(CHARTS)
    assert all(s["text"].startswith("Chart: ") and len(s["text"]) > 40 and s["hidden"] for s in summaries), summaries
    screenshot(page, f"a11y-{lecture.url_path or 'home'}")


def _tab_to(page, control, limit: int = 150) -> None:
    """Press Tab until ``control`` (a locator) has the focus; fail if it never gets it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if control.evaluate("e => e === document.activeElement || e.contains(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached {control} (last focused: {page.evaluate(FOCUSED)})")


def test_the_scale_page_works_from_the_keyboard(page, server_url):
    page.goto(f"{server_url}/scale?algo=nuts&samples=300&warmup=100")
    wait_idle(page)
    thumb = page.get_by_role("slider", name="Observed measurement")
    _tab_to(page, thumb)
    assert thumb.input_value() == "14"
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert thumb.input_value() == "14.1"
    assert "measurement=14.1" in page.url
    # The sampler's settings sit in a collapsed expander: Enter opens it, then Tab reaches them.
    _tab_to(page, page.locator("summary").filter(has_text="Sampler and optimizer settings"))
    page.keyboard.press("Enter")
    chains = page.get_by_role("slider", name="Chains")
    _tab_to(page, chains)
    assert chains.input_value() == "1"
    # A button, from the keyboard: Enter, then Space, each starts the download of the samples.
    page.evaluate("() => document.activeElement.blur()")
    _tab_to(page, page.get_by_role("button", name="Download the samples (CSV)"))
    for key in ("Enter", "Space"):
        with page.expect_download() as download:
            page.keyboard.press(key)
        assert download.value.suggested_filename == "scale_samples.csv"
    screenshot(page, "a11y-scale-keyboard")
