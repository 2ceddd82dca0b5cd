"""Real-browser tests: Debian's Chromium against ``streamlit run`` on 127.0.0.1."""

import re
import time
from pathlib import Path

import nbformat
import pytest
import torch

from ppl_models.scale import ScaleSettings, exact_posterior
from tests.browser_fixtures import (
    metric_delta,
    metric_value,
    plotly_traces,
    screenshot,
    wait_for_metric_delta,
    wait_idle,
)

pytestmark = pytest.mark.browser


def test_home_page_links_to_the_scale_page(page, server_url):
    page.goto(server_url)
    wait_idle(page)
    assert "Pyro Model Explorer" in page.locator("h1").first.inner_text()
    # The link's accessible name starts with its Material icon's ligature text.
    page.get_by_role("link", name=re.compile("Open Conditioning & HMC")).click()
    wait_idle(page)
    assert page.url.split("?")[0].endswith("/scale")
    screenshot(page, "home-to-scale")


def test_the_notebook_button_downloads_the_link_s_setting_as_a_notebook(page, server_url):
    # Built on the click (Streamlit's deferred download), which a real browser must fetch.
    page.goto(f"{server_url}/weather?p_cloudy=0.4&n=2000")
    wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download as notebook")).click()
    assert download.value.suggested_filename == "weather.ipynb"
    made = nbformat.reads(Path(download.value.path()).read_text(), as_version=4)
    nbformat.validate(made)
    assert "p_cloudy=0.4" in made.cells[0].source and "draws = `2000`" in made.cells[0].source
    assert not page.get_by_test_id("stException").count()


def test_scale_page_follows_the_measurement_slider(page, server_url):
    page.goto(f"{server_url}/scale?algo=nuts&samples=500&warmup=200")
    wait_idle(page)
    assert "exact 12.560" in metric_delta(page, "Posterior mean")
    thumb = page.get_by_role("slider", name="Observed measurement")
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowLeft")  # 14.0 -> 13.5 in steps of 0.1
    wait_idle(page)
    expected = exact_posterior(ScaleSettings(measurement=13.5)).mean
    wait_for_metric_delta(page, f"exact {expected:.3f}")
    assert abs(float(metric_value(page, "Posterior mean")) - expected) < 0.1
    histogram = plotly_traces(page)[0]
    assert {"name": "samples", "n": 500} in histogram
    assert any(t["name"] == "exact posterior" for t in histogram)
    assert "measurement=13.5" in page.url
    screenshot(page, "scale-measurement-13.5")


def test_scale_page_pins_a_and_shows_b_beside_it_when_the_measurement_moves(page, server_url):
    page.goto(f"{server_url}/scale?algo=nuts&samples=300&warmup=100")
    wait_idle(page)
    page.get_by_role("button", name="Pin as A").click()
    wait_idle(page)
    page.get_by_text("A is pinned, and it is the current setting").wait_for(timeout=60_000)
    assert "pin=measurement" in page.url
    thumb = page.get_by_role("slider", name="Observed measurement")
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowLeft")  # 14.0 -> 13.5: B moves, A stays
    wait_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(d => (d._fullData || [])"
        ".some(t => t.name === 'B: samples'))",
        timeout=60_000,
    )
    (overlay,) = [traces for traces in plotly_traces(page) if any(t["name"] == "A: samples" for t in traces)]
    assert {"name": "A: samples", "n": 300} in overlay and {"name": "B: samples", "n": 300} in overlay
    assert {t["name"] for t in overlay} >= {"A: exact posterior", "B: exact posterior"}
    assert "exact 12.560" in metric_delta(page, "A: posterior mean")
    expected = exact_posterior(ScaleSettings(measurement=13.5)).mean
    assert f"exact {expected:.3f}" in metric_delta(page, "B: posterior mean")
    assert "measurement=13.5" in page.url and "pin=measurement" in page.url  # the link holds both
    screenshot(page, "scale-compare")


def test_a_malformed_link_shows_a_note_and_the_page_still_works(page, server_url):
    page.goto(f"{server_url}/scale?measurement=abc&algo=nuts&samples=300&warmup=100")
    wait_idle(page)
    assert "measurement=abc" in page.get_by_test_id("stAlert").first.inner_text()
    assert "exact 12.560" in metric_delta(page, "Posterior mean")
    assert not page.get_by_test_id("stException").count()


def test_the_device_from_a_link_reaches_the_run(page, server_url):
    page.goto(f"{server_url}/scale?device=cuda&algo=nuts&samples=300&warmup=100")
    wait_idle(page)
    assert "device=cuda" in page.url
    if not torch.cuda.is_available():
        assert "no GPU is available here; ran on the CPU" in page.get_by_test_id("stAlert").first.inner_text()


def test_weather_page_follows_p_cloudy(page, server_url):
    page.goto(f"{server_url}/weather")
    wait_idle(page)
    assert "exact 0.300" in metric_delta(page, "P(cloudy)")
    thumb = page.get_by_role("slider", name="P(cloudy)")
    thumb.focus()
    for _ in range(10):
        thumb.press("ArrowRight")  # 0.30 -> 0.40 in steps of 0.01
    wait_idle(page)
    wait_for_metric_delta(page, "exact 0.400")
    assert abs(float(metric_value(page, "P(cloudy)")) - 0.4) < 0.02
    drawn = plotly_traces(page)
    assert [t["name"] for t in drawn[0]][:2] == ["cloudy", "sunny"]
    assert {"name": "samples", "n": 10000} in drawn[1]
    screenshot(page, "weather-p-cloudy-0.4")


def test_causal_page_follows_the_temperature(page, server_url):
    page.goto(f"{server_url}/causal")
    wait_idle(page)
    assert "exact 198.7" in metric_delta(page, "E[sales | temp = 85]")
    assert "exact 155.0" in metric_delta(page, "E[sales | do(temp = 85)]")
    thumb = page.get_by_role("slider", name="Temperature t")
    thumb.focus()
    for _ in range(7):
        thumb.press("ArrowLeft")  # 85 -> 78
    wait_idle(page)
    page.get_by_text("E[sales | do(temp = 78)]", exact=True).wait_for(timeout=60_000)
    assert "exact 50.0" in metric_delta(page, "E[sales | do(temp = 78)]")
    comparison = plotly_traces(page)[0]
    assert [t["name"] for t in comparison] == ["sales | temp = 78", "sales | do(temp = 78)"]
    assert page.locator('[data-testid="stGraphVizChart"] svg').count() >= 1
    screenshot(page, "causal-temp-78")


def test_gmm_page_refits_when_k_changes(page, server_url):
    page.goto(f"{server_url}/gmm")
    wait_idle(page)
    assert metric_value(page, "scale") == "0.651"
    thumb = page.get_by_role("slider", name="Components K")
    thumb.focus()
    thumb.press("ArrowRight")  # K = 2 -> 3
    wait_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(d => (d._fullData || [])"
        ".some(t => t.name === 'component 3'))",
        timeout=60_000,
    )
    density = plotly_traces(page)[0]
    assert [t["name"] for t in density] == ["component 1", "component 2", "component 3", "mixture", "data"]
    assert {"name": "data", "n": 5} in density
    screenshot(page, "gmm-k-3")


def test_gmm_page_warns_of_a_collapse_and_the_fix_button_finds_every_group(page, server_url):
    page.goto(f"{server_url}/gmm?data=0,1,10,11,12,30,31&k=3")
    wait_idle(page)
    page.get_by_text("Don't trust this fit yet.").wait_for(timeout=60_000)
    assert "uses 1 of its 3 components" in page.get_by_test_id("stAlert").first.inner_text()
    screenshot(page, "gmm-collapsed")
    fix = page.get_by_role("button", name="Apply the fix: init = spread, concentration = 1")
    fix.scroll_into_view_if_needed()
    screenshot(page, "gmm-collapsed-fix")
    fix.click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('init=spread')", timeout=60_000)
    assert "concentration=1" in page.url
    assert not page.get_by_text("Don't trust this fit yet.").count()
    # Each component's curve peaks at its location, read from the chart as drawn.
    peaks = page.evaluate(
        """() => document.querySelectorAll('.js-plotly-plot')[0]._fullData
              .filter(t => t.name.startsWith('component'))
              .map(t => t.x[t.y.indexOf(Math.max(...t.y))])"""
    )
    assert sorted(peaks) == pytest.approx([0.5, 11.0, 30.4], abs=0.5)
    screenshot(page, "gmm-fixed")


def test_gmm_page_explains_bad_data(page, server_url):
    page.goto(f"{server_url}/gmm?data=1,2,oops")
    wait_idle(page)
    assert "Entry 3, 'oops', is not a number." in page.get_by_test_id("stAlert").first.inner_text()
    assert not page.get_by_test_id("stException").count()


def test_gmm_page_fits_an_uploaded_csv_and_explains_a_bad_one(page, server_url):
    page.goto(f"{server_url}/gmm?source=csv")
    wait_idle(page)
    assert "Upload a CSV file" in page.get_by_test_id("stAlert").first.inner_text()
    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    upload.set_input_files(
        files=[{"name": "points.csv", "mimeType": "text/csv", "buffer": b"x\n-4\n-3.5\n-3\n6\n6.5\n7\n"}]
    )
    wait_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(d => (d._fullData || [])"
        ".some(t => t.name === 'data' && t.x.length === 6))",
        timeout=60_000,
    )
    upload.set_input_files(files=[{"name": "two.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n3,4\n"}])
    wait_idle(page)
    page.get_by_text("The CSV has 2 columns; upload one column of numbers.").wait_for(timeout=60_000)
    assert not page.get_by_test_id("stException").count()


def test_shapes_page_preset_then_plate_size(page, server_url):
    page.goto(f"{server_url}/shapes?preset=nested_plates")
    wait_idle(page)
    page.get_by_text("its value has shape (200, 320)").wait_for(timeout=60_000)
    size = page.get_by_role("spinbutton", name="plate 'x_axis': size")
    size.fill("100")
    size.press("Enter")
    wait_idle(page)
    page.get_by_text("its value has shape (200, 100)").wait_for(timeout=60_000)
    assert "plate1_size=100" in page.url
    # Edited, the setting is the student's own: the preset no longer claims it.
    assert checked_radio(page, "Start from the lecture") == "none"
    screenshot(page, "shapes-nested-100")


def checked_radio(page, label: str) -> str:
    group = page.get_by_test_id("stRadio").filter(has_text=label)
    return group.locator("input:checked").evaluate("e => e.closest('label').innerText").split("\n")[0].strip()


def test_shapes_page_opens_on_the_lecture_s_first_example(page, server_url):
    page.goto(f"{server_url}/shapes")
    wait_idle(page)
    page.get_by_text("the one batch dim of the site").wait_for(timeout=60_000)
    assert checked_radio(page, "Start from the lecture") == "mvn_expand"
    assert metric_value(page, "batch_shape") == "(5,)" and metric_value(page, "event_shape") == "(3,)"


def visible_buttons(page, label: str):
    return page.locator("button:visible", has_text=re.compile(f"^{re.escape(label)}$"))


def live_buttons(page, label: str):
    """Visible buttons of the current script run: a rerun greys out the last run's elements
    (``data-stale``) for the moment until it replaces them, and a loaded machine stretches it."""
    return page.locator(
        ':is([data-testid="stElementContainer"], .stElementContainer):not([data-stale="true"]) button:visible',
        has_text=re.compile(f"^{re.escape(label)}$"),
    ).or_(page.locator("header button:visible", has_text=re.compile(f"^{re.escape(label)}$")))


def one_stop_button_throughout_a_run(page, seconds: float) -> None:
    """Exactly one Stop in view while the run computes: ours, not also Streamlit's header one."""
    stop = page.locator('[class*="st-key-stop-infer_weight-"] button:visible').first
    stop.wait_for(timeout=60_000)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        assert live_buttons(page, "Stop").count() == 1
        # A Run again left from the stopped run would sit beside it: it is replaced instead.
        assert live_buttons(page, "Run again").count() == 0
        page.wait_for_timeout(200)


def test_stop_ends_a_long_run_at_once_and_run_again_restarts_it(page, server_url):
    # 2 chains of 2000 warmup + 5000 draws on Pyro's HMC class: a minute or more, unless stopped
    # (the batched sampler takes these in a few seconds; tests/test_run_batches.py stops those).
    page.goto(f"{server_url}/scale?samples=5000&warmup=2000&chains=2&guess=11.3&hmc_impl=pyro")
    one_stop_button_throughout_a_run(page, 2)
    clicked = time.perf_counter()
    visible_buttons(page, "Stop").click()
    page.get_by_text("Stopped before it finished").wait_for(timeout=15_000)
    assert time.perf_counter() - clicked < 10
    wait_idle(page)
    assert not page.get_by_test_id("stException").count()
    # What needs no inference stays: the exact posterior and prior, their numbers, the controls.
    exact = exact_posterior(ScaleSettings(guess=11.3))
    assert [t["name"] for t in plotly_traces(page)[0]] == ["exact posterior", "prior"]
    assert metric_value(page, "Exact posterior mean") == f"{exact.mean:.3f}"
    assert metric_value(page, "Exact posterior sd") == f"{exact.sd:.3f}"
    assert page.get_by_role("slider", name="Observed measurement").is_visible()
    assert visible_buttons(page, "Stop").count() == 0
    screenshot(page, "scale-after-stop")
    # Run again starts this same setting over, with one Stop again.
    visible_buttons(page, "Run again").click()
    one_stop_button_throughout_a_run(page, 2)
    visible_buttons(page, "Stop").click()
    page.get_by_text("Stopped before it finished").wait_for(timeout=15_000)
    wait_idle(page)
    # The server is free again: another setting computes at once.
    page.goto(f"{server_url}/scale?algo=nuts&samples=300&warmup=100&guess=11.3")
    wait_idle(page)
    assert "exact 13.028" in metric_delta(page, "Posterior mean")


PAGE_PATHS = ["weather", "scale", "shapes", "gmm", "causal"]


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_a_deep_link_gets_no_error_responses_and_no_band_under_the_title(page, server_url, path):
    # The frontend used to probe /<page>/_stcore/health and host-config first (ui/shell.py).
    failed = []
    page.on(
        "response",
        lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    page.goto(f"{server_url}/{path}")
    wait_idle(page)
    assert failed == []
    # One line of title: no hidden link icon wrapped onto a line of its own (ui/style.py).
    title = page.locator('[data-testid="stMain"] h1').first
    line = page.locator('[data-testid="stMain"] h1 span[data-heading-text]').first
    assert title.bounding_box()["height"] < 2 * line.bounding_box()["height"]  # was 142 px to 58 on gmm
    screenshot(page, f"deep-link-{path}")
    # Nothing above the title: the link-note area, empty here, takes no room (ui/style.py).
    main_top = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["y"]
    padding = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('[data-testid=stMainBlockContainer]')).paddingTop)"
    )
    assert title.bounding_box()["y"] - (main_top + padding) < 2


def test_clicking_a_radio_option_s_caption_selects_it(page, server_url):
    page.goto(f"{server_url}/gmm")
    wait_idle(page)
    page.wait_for_timeout(1_000)  # the sidebar settles once the page's charts are drawn
    caption = page.get_by_test_id("stRadioCaption").filter(has_text="upload a CSV file").bounding_box()
    # Where a student's pointer lands, whatever element is on top there.
    page.mouse.click(caption["x"] + caption["width"] / 2, caption["y"] + caption["height"] / 2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stRadioOption]')]"
        ".some(o => o.innerText.trim() === 'csv' && o.querySelector('input').checked)",
        timeout=10_000,
    )
    wait_idle(page)


def test_open_world_page_follows_the_observed_end_and_the_branch(page, server_url):
    from ppl_models.open_world import walk_posterior

    page.goto(f"{server_url}/open-world?end=3.5")
    wait_idle(page)
    exact = walk_posterior(3.0, 3.6)
    slider = page.get_by_role("slider", name="Observed end of the walk")
    slider.focus()
    page.keyboard.press("ArrowRight")  # one step of 0.1: end = 3.6
    wait_for_metric_delta(page, f"vs exact {sum(k * p for k, p in enumerate(exact)):.3f}")
    wait_idle(page)
    estimate = float(metric_value(page, "E[X | end = 3.6]"))
    assert abs(estimate - sum(k * p for k, p in enumerate(exact))) < 0.3
    assert [t["name"] for t in plotly_traces(page)[0]] == ["Pyro's estimate", "exact"]
    screenshot(page, "open-world-end-3.6")
    page.get_by_test_id("stRadioOption").filter(has_text="branch").click()
    wait_idle(page)
    assert metric_value(page, "P(X = 1 | no Y was made)") == "0.000"
    screenshot(page, "open-world-branch")


def test_vi_page_draws_the_elbo_live_then_stops_on_request(page, server_url):
    # 5,000 steps of 32 particles: long enough to watch, ended by Stop.
    page.goto(f"{server_url}/vi?steps=5000&particles=32&guess=8.7")
    # Read in one go: each live frame replaces the chart, so between two reads it may be gone.
    live_names = page.wait_for_function(
        """() => {
          for (const div of document.querySelectorAll('.js-plotly-plot')) {
            const title = div.querySelector('.gtitle');
            if (title && title.textContent.includes('so far') && div._fullData) return div._fullData.map(t => t.name);
          }
          return null;
        }""",
        timeout=60_000,
    ).json_value()
    assert live_names == ["ELBO, estimated", "ELBO, exact", "log evidence"]
    page.wait_for_timeout(500)  # plotly draws the frame just after it arrives
    screenshot(page, "vi-live")
    visible_buttons(page, "Stop").click()
    page.get_by_text("Stopped before it finished").wait_for(timeout=15_000)
    wait_idle(page)
    assert visible_buttons(page, "Run again").count() == 1


# The phase chart's current step: its marker's name and where it is, read from what plotly drew.
PHASE_MARKER = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const title = div.querySelector('.gtitle');
    if (!title || !title.textContent.includes('phase space') || !div._fullData) continue;
    const marker = div._fullData.find(t => /^step \\d+$/.test(t.name));
    if (marker) return {name: marker.name, q: marker.x[0], p: marker.y[0]};
  }
  return null;
}"""


def test_hmc_page_steps_through_a_trajectory_and_plays_it(page, server_url):
    from tests.test_hmc import numpy_leapfrog

    page.goto(f"{server_url}/hmc?step_size=0.5&num_steps=6&start=5&momentum=1.5")
    wait_idle(page)
    qs, ps, error = numpy_leapfrog(ScaleSettings(), 5.0, 1.5, 0.5, 6)
    assert float(metric_value(page, "Energy error")) == pytest.approx(error, rel=1e-4)
    assert page.evaluate(PHASE_MARKER)["name"] == "step 6"
    slider = page.get_by_role("slider", name="Leapfrog step shown")
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => ({PHASE_MARKER})()?.name === 'step 2'", timeout=30_000)
    marker = page.evaluate(PHASE_MARKER)
    assert (marker["q"], marker["p"]) == (pytest.approx(qs[2], rel=1e-9), pytest.approx(ps[2], rel=1e-9))
    wait_idle(page)
    screenshot(page, "hmc-step-2")
    # Every step the chart shows while playing, collected frame by frame in the page itself: a busy
    # machine may draw a frame too briefly for a poll from outside to see it.
    page.evaluate(
        f"""() => {{
          window.__steps_seen = new Set();
          const look = () => {{ const m = ({PHASE_MARKER})(); if (m) window.__steps_seen.add(m.name);
                                 requestAnimationFrame(look); }};
          look();
        }}"""
    )
    page.get_by_role("button", name="Play the trajectory").click()
    # Playing draws other steps of the path (a busy machine may show only some of them), then the
    # chart returns to the step the slider shows.
    page.wait_for_function("() => window.__steps_seen.size >= 2", timeout=30_000)
    page.wait_for_function(f"() => ({PHASE_MARKER})()?.name === 'step 2'", timeout=30_000)
    wait_idle(page)
    assert "Stable." in page.get_by_test_id("stAlert").first.inner_text()
