"""Every page at the three sizes a class uses: a desk, a projector and a phone.

Each page opens with its defaults at 1400x900, 1280x720 and 390x844. The screenshots go to
``test-artifacts/layout-<page>-<size>.png`` for a person to look at; the test asserts what a
person would check first: nothing sticks out past the right edge where nobody can scroll
to it; axe-core (``harness.axe``) finds no serious or critical accessibility violation; and,
at the projector's 1280x720, the page's key number is on the first screen.
"""

import pytest

from harness.axe import serious_violations
from tests.browser_fixtures import screenshot, wait_idle
from ui.catalog import CATALOG

SIZES = {"desk": (1400, 900), "projector": (1280, 720), "phone": (390, 844)}

# Elements whose right edge passes the viewport, unless a horizontally scrolling box
# inside the viewport holds them (a wide table scrolls: that is fine, clipping is not).
CLIPPED = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const clipped = [];
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
    let holder = el.parentElement, held = false;
    while (holder && holder !== document.body) {
      if (scrolls(holder) && holder.getBoundingClientRect().right <= width + 1) { held = true; break; }
      holder = holder.parentElement;
    }
    const name = `${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') || ''}]`;
    if (!held) clipped.push(`${name} right=${Math.round(box.right)}`);
  }
  return clipped;
}"""
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def open_at(browser, url: str, size: tuple[int, int]):
    from harness.browser import local_only

    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    local_only(context)
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    page.wait_for_timeout(800)  # plotly lays a chart out after the script has finished
    return context, page


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lecture", CATALOG, ids=lambda lecture: lecture.url_path or "home")
def test_nothing_is_clipped_and_axe_finds_nothing_serious(browser, server_url, lecture, size):
    context, page = open_at(browser, f"{server_url}/{lecture.url_path}", SIZES[size])
    try:
        screenshot(page, f"layout-{lecture.url_path or 'home'}-{size}")
        scroll_width, width = page.evaluate(PAGE_WIDTH)
        assert scroll_width <= width, f"the page scrolls sideways: {scroll_width} px in {width}"
        assert page.evaluate(CLIPPED) == []
        assert serious_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize(
    "lecture", [lecture for lecture in CATALOG if lecture.url_path], ids=lambda lecture: lecture.url_path
)
def test_the_key_number_is_on_the_projector_s_first_screen(browser, server_url, lecture):
    context, page = open_at(browser, f"{server_url}/{lecture.url_path}", SIZES["projector"])
    try:
        metric = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').first
        box = metric.bounding_box()
        assert box is not None, "the page shows no metric"
        assert box["y"] >= 0 and box["y"] + box["height"] <= SIZES["projector"][1], f"the key number is at {box}"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("scale?measurement=abc&samples=99999", ("measurement=abc", "samples=99999")),
        ("causal?temp=abc&n=5", ("temp=abc", "n=5")),
    ],
)
def test_on_a_phone_each_link_note_is_on_the_first_screen_once(browser, server_url, path, keys):
    # The sidebar, where the controls are, starts closed on a phone: the note must not be there.
    context, page = open_at(browser, f"{server_url}/{path}", SIZES["phone"])
    try:
        screenshot(page, f"phone-link-note-{path.split('?')[0]}")
        notes = page.locator('[data-testid="stMain"] [data-testid="stAlert"]').filter(
            has_text="Some values in the link were ignored"
        )
        assert notes.count() == 1
        box = notes.first.bounding_box()
        assert box["y"] >= 0 and box["y"] < SIZES["phone"][1] / 2, f"the note is at {box}"
        text = notes.first.inner_text()
        for key in keys:
            assert text.count(key) == 1, text
    finally:
        context.close()


def test_on_a_phone_the_sidebar_opens_over_the_chart_and_closes_again(browser, server_url):
    context, page = open_at(browser, f"{server_url}/scale", SIZES["phone"])
    try:
        chart = page.locator('[data-testid="stMain"] .js-plotly-plot').first
        page.get_by_test_id("stExpandSidebarButton").click()
        slider = page.get_by_role("slider", name="Observed measurement")
        slider.wait_for(state="visible")
        slider.focus()
        page.keyboard.press("ArrowRight")
        wait_idle(page)
        screenshot(page, "phone-sidebar-open")
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.wait_for_timeout(800)
        # Closed, the sidebar slides off the left edge (it stays in the page, out of sight).
        sidebar = page.get_by_test_id("stSidebar").bounding_box()
        assert sidebar["x"] + sidebar["width"] <= 1, f"the sidebar still covers the page: {sidebar}"
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"][0] + 1
        screenshot(page, "phone-sidebar-closed")
    finally:
        context.close()
