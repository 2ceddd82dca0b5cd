"""Readable when projected: chart text large and dark enough, in the light and the dark theme.

A chart's ticks, axis titles and legend are read from the back of a classroom: each is at
least 14 px and has at least 4.5:1 contrast (WCAG AA for text) against the page's
background, in whichever theme the student picked from the app's menu.
"""

import pytest

from tests.browser_fixtures import screenshot, wait_idle

MIN_PX, MIN_CONTRAST = 14, 4.5

# Every text plotly drew, with its size, its fill and the app's background, and the contrast
# between them by WCAG's relative-luminance formula.
CHART_TEXT = """() => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const linear = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = c => { const [r, g, b] = c.map(linear); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = rgb(getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor);
  const texts = document.querySelectorAll(
    '.js-plotly-plot .main-svg :is(.xtick, .ytick) text, ' +
    '.js-plotly-plot .main-svg text:is(.xtitle, .ytitle, .gtitle, .legendtext)');
  return [...texts].filter(t => t.textContent.trim()).map(t => {
    const style = getComputedStyle(t);
    const [a, b] = [lum(rgb(style.fill)), lum(background)].sort((x, y) => y - x);
    return {text: t.textContent, px: parseFloat(style.fontSize), contrast: (a + 0.05) / (b + 0.05)};
  });
}"""


def chart_text_problems(page) -> list[str]:
    texts = page.evaluate(CHART_TEXT)
    assert texts, "no chart text on the page"
    return [
        f"{t['text']!r}: {t['px']:g} px, contrast {t['contrast']:.2f}"
        for t in texts
        if t["px"] < MIN_PX or t["contrast"] < MIN_CONTRAST
    ]


def choose_theme(page, name: str) -> None:
    page.get_by_test_id("stMainMenu").click()
    page.get_by_test_id(f"stMainMenuItem-theme-{name}").click()
    page.keyboard.press("Escape")
    page.wait_for_timeout(800)  # the charts redraw in the new theme


@pytest.mark.parametrize("path", ["scale", "gmm", "causal", "weather", "hmc"])
def test_chart_text_is_large_and_dark_enough_in_the_light_theme(page, server_url, path):
    page.goto(f"{server_url}/{path}")
    wait_idle(page)
    page.wait_for_timeout(800)
    assert chart_text_problems(page) == []


def test_the_dark_theme_can_be_chosen_and_the_charts_follow_it(page, server_url):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server_url}/scale")
    wait_idle(page)
    choose_theme(page, "Dark")
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"
    )
    red, green, blue = (int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3])
    assert max(red, green, blue) < 60, f"the app's background is {background} in the dark theme"
    screenshot(page, "scale-dark-theme")
    assert chart_text_problems(page) == []
    choose_theme(page, "Light")
    assert chart_text_problems(page) == []
