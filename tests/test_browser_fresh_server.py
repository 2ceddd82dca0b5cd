"""A shared link is the first request a freshly started server sees.

Regression test for Streamlit's pages/-directory routing (see ``ui/shell.py``): without
the guard, this page would run without ``app.py``: no wide layout, no device choice.
"""

import pytest

from tests.browser_fixtures import metric_delta, start_server_or_fail, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_server_url():
    server = start_server_or_fail()
    yield server.url
    server.stop()


def test_a_link_to_a_page_on_a_fresh_server_runs_inside_the_app_shell(page, fresh_server_url):
    page.goto(f"{fresh_server_url}/scale?algo=nuts&samples=300&warmup=100")
    wait_idle(page)
    assert page.get_by_text("Compute device").count() == 1
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "Conditioning & HMC" in nav and "app" not in nav.split()
    assert "exact 12.560" in metric_delta(page, "Posterior mean")
    assert "algo=nuts" in page.url
