"""Hostile link values in the real browser: what Chromium draws is text, never the app's markup.

Each page is opened on the real server with a value built to look like the app speaking
(a heading, a link, a coloured directive, an icon, an emoji, LaTeX, raw HTML), and the DOM
inside every alert is checked: only the elements the app's own note or message uses, and
the user's characters shown literally.
"""

import urllib.parse

import pytest

from ppl_models.scale import ScaleSettings, exact_posterior
from tests.browser_fixtures import metric_delta, wait_for_metric_delta, wait_idle
from ui.text import JOINER, MAX_QUOTED_CHARS, shorten, visible

pytestmark = pytest.mark.browser

# What the app's note (a list of sentences quoting values in code spans) and its messages
# (paragraphs with line breaks) are made of. A link, heading, directive span, icon, emoji
# image, KaTeX or HTML from the value would add another tag.
ALLOWED_TAGS = {"DIV", "P", "BR", "CODE", "UL", "LI"}

ALERTS = """() => [...document.querySelectorAll('[data-testid="stAlert"]')].map(el => ({
    text: el.innerText,
    tags: [...new Set([...el.querySelectorAll('*')].map(e => e.tagName))],
    links: el.querySelectorAll('a').length,
    headings: el.querySelectorAll('h1,h2,h3,h4,h5,h6').length,
    katex: el.querySelectorAll('.katex').length,
    icons: el.querySelectorAll('[data-testid="stIconMaterial"]').length,
    styled: [...el.querySelectorAll('[style]')].length,
}))"""
PAGE_MARKUP = """() => ({
    headings: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => h.innerText),
    outside_links: [...document.querySelectorAll('a[href]')].map(a => a.href)
        .filter(h => new URL(h).hostname.includes('evil')),
})"""

# Values quoted by the "Some values in the link were ignored" note (literal code spans).
NOTE_VALUES = [
    "x`\n# Session expired\n[Log in again](http://evil.example)`",
    "``` :red[alarm] :blue-background[bg] $x$ $$y$$ ```",
    ":material/warning: :smile: :streamlit: www.evil.example a@evil.example",
    "<b>b</b><img src=x onerror=alert(1)> <http://evil.example>",
    "**bold** _it_ ~~gone~~ | a | b |",
    "a\u202eb\r\x00c",
    "&lt;b&gt;&#x3C;&amp;",
]
# Tokens quoted by the mixture page's data error (an escaped plain-text message). The data
# is split on commas, semicolons and white space, so a token holds none of them (an entity
# such as ``&lt;`` is checked in the note instead).
DATA_TOKENS = [
    "[x](http://evil.example)",
    ":red[alarm]:blue-background[bg]:violet-badge[b]",
    ":material/warning::smile::streamlit:",
    "$x^2$$$y$$",
    "<b>x</b><img/src=x/onerror=alert(1)>",
    "www.evil.example",
    "someone@evil.example",
    "**bold**_it_~~gone~~",
    "`code`<http://evil.example>",
]

NOTE_ABOVE_TITLE = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const note = [...main.querySelectorAll('[data-testid="stAlert"]')].find(a => a.innerText.includes('were ignored'));
    const title = main.querySelector('h1');
    return Boolean(note && title && (note.compareDocumentPosition(title) & Node.DOCUMENT_POSITION_FOLLOWING));
}"""


def open_page(page, server_url: str, path: str, query: str) -> None:
    page.goto(f"{server_url}/{path}?{query}")
    wait_idle(page)


def note_text(page, contains: str = "were ignored") -> str:
    page.get_by_test_id("stAlert").filter(has_text=contains).first.wait_for(timeout=30_000)
    wait_idle(page)
    return next(a["text"] for a in alerts(page) if contains in a["text"])


def slider_value(page, label: str) -> str:
    slider = page.get_by_test_id("stSlider").filter(has_text=label).first
    return slider.get_by_test_id("stSliderThumbValue").inner_text().strip()


def alerts(page) -> list[dict]:
    found = page.evaluate(ALERTS)
    for alert in found:
        alert["text"] = alert["text"].replace(JOINER, "")
    return found


def assert_no_markup_from_the_user(page, contains: str = "were ignored") -> list[dict]:
    """Check the alerts that quote the user (the app's own may use bold and the like)."""
    found = [alert for alert in alerts(page) if contains in alert["text"]]
    assert found, f"no alert saying {contains!r}"
    for alert in found:
        assert set(alert["tags"]) <= ALLOWED_TAGS, alert
        assert alert["links"] == alert["headings"] == alert["katex"] == alert["icons"] == alert["styled"] == 0, alert
    markup = page.evaluate(PAGE_MARKUP)
    assert not markup["outside_links"], markup
    assert not any("Session expired" in heading for heading in markup["headings"]), markup
    return found


@pytest.mark.parametrize("value", NOTE_VALUES)
@pytest.mark.parametrize("path, key", [("scale", "measurement"), ("causal", "temp")])
def test_a_hostile_link_value_is_quoted_as_text(page, server_url, path, key, value):
    open_page(page, server_url, path, urllib.parse.urlencode({key: value}))
    note = note_text(page)
    assert_no_markup_from_the_user(page)
    assert shorten(visible(f"{key}={value}"), MAX_QUOTED_CHARS) in note
    assert "is not a number" in note
    assert not page.get_by_test_id("stException").count()


@pytest.mark.parametrize("token", DATA_TOKENS)
def test_a_hostile_data_value_is_shown_as_text_in_the_error(page, server_url, token):
    open_page(page, server_url, "gmm", urllib.parse.urlencode({"data": f"1 2 {token}"}))
    note_text(page, "is not a number")
    found = assert_no_markup_from_the_user(page, "is not a number")
    assert any(f"Entry 3, {token!r}, is not a number." in a["text"] for a in found), found


def test_a_very_long_link_value_is_quoted_short(page, server_url):
    open_page(page, server_url, "scale", urllib.parse.urlencode({"measurement": "[9](http://evil.example)" * 400}))
    note = note_text(page)
    assert_no_markup_from_the_user(page)
    assert "…" in note and len(note) < MAX_QUOTED_CHARS + 200


def test_a_repeated_key_uses_its_last_value_and_says_so(page, server_url):
    open_page(page, server_url, "scale", "measurement=1&measurement=9.5&algo=svi&algo=nuts&samples=300&warmup=100")
    note = note_text(page, "appears 2 times")
    assert "measurement appears 2 times in the link; using the last, 9.5." in note
    assert "algo appears 2 times in the link; using the last, nuts." in note
    assert slider_value(page, "Observed measurement") == "9.50"
    assert page.get_by_role("radio", name="NUTS").is_checked()
    # One note, in the main column above the page's title (not in the sidebar's expander).
    assert page.get_by_test_id("stAlert").filter(has_text="appears 2 times").count() == 1
    assert page.evaluate(NOTE_ABOVE_TITLE)
    expected = exact_posterior(ScaleSettings(measurement=9.5)).mean
    wait_for_metric_delta(page, f"exact {expected:.3f}")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query["measurement"] == ["9.5"] and query["algo"] == ["nuts"]  # the link to share holds one value


def test_a_link_with_more_values_than_the_server_reads_says_it_opened_with_the_defaults(page, server_url):
    junk = "&".join(f"z{i}=1" for i in range(1000))
    open_page(page, server_url, "scale", f"measurement=9.5&{junk}")
    note = note_text(page, "opened with the defaults")
    assert "This link had 1,001 values, more than the 1,000 the app reads, so it opened with the defaults." in note
    assert slider_value(page, "Observed measurement") == "14.00"
    assert "exact 12.560" in metric_delta(page, "Posterior mean")
