"""A classroom on one real server: sessions at once, each with its own answer.

The sessions speak the app's websocket protocol (``harness/protocol_client.py``), as a
browser does, against ``streamlit run`` on 127.0.0.1. The checks are those that
``bench/load.py`` runs (``harness/page_checks.py``): the scale page's "vs exact" value
must be that session's own exact posterior mean, and the mixture's locations must sit on
that session's own clusters.
"""

import asyncio

import pytest

from harness.page_checks import MEASUREMENT, NUMBERS, check_mixture, check_scale, mixture_for, said_computed
from harness.protocol_client import AppSession
from harness.server import start_server
from tests.conftest import run_async

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def classroom_url():
    server = start_server(warmup=False)
    yield server.url
    server.stop()


async def _move(url: str, page: str, label: str, value):
    async with AppSession(url) as session:
        await session.open(page)
        return await session.set_widget(label, value)


def _at_once(moves: list[tuple[str, str, object]], url: str) -> list:
    async def all_moves():
        return await asyncio.gather(*(_move(url, page, label, value) for page, label, value in moves))

    return run_async(all_moves)


def test_six_sessions_at_once_each_see_their_own_setting(classroom_url):
    measurements = [11.0, 12.5, 15.0]
    mixtures = [mixture_for(i) for i in (1, 4, 7)]
    moves = [("scale", MEASUREMENT, m) for m in measurements] + [("gmm", NUMBERS, data) for data, _ in mixtures]
    views = _at_once(moves, classroom_url)
    problems = []
    for view, measurement in zip(views[:3], measurements, strict=True):
        problems += check_scale(view, measurement)
    for view, (_, centres) in zip(views[3:], mixtures, strict=True):
        problems += check_mixture(view, centres)
    assert problems == []
    assert all(said_computed(view) for view in views)


def test_a_shared_fresh_setting_is_computed_once_for_everyone(classroom_url):
    data, centres = mixture_for(9)
    views = _at_once([("gmm", NUMBERS, data)] * 5, classroom_url)
    assert [check_mixture(view, centres) for view in views] == [[]] * 5
    assert sum(said_computed(view) for view in views) == 1
    others = [view for view in views if not said_computed(view)]
    assert all(any("From the shared cache" in text for text in view.texts()) for view in others)


def test_three_browsers_at_once_each_see_their_own_posterior(classroom_url):
    """The same check end to end, as ``bench/load.py --browsers`` runs it: three contexts of one Chromium."""
    from harness.browser import scale_links_at_once

    times, problems = run_async(lambda: scale_links_at_once(classroom_url, [[9.5, 13.0, 17.5]]))
    assert problems == []
    assert len(times[0]) == 3


def test_sessions_through_worker_processes_each_see_their_own_setting():
    """The worker pool (PME_WORKERS=2, as a 2-core server sizes it) behind the real server gives the same answers."""
    server = start_server(warmup=False, workers=2)
    try:
        measurements = [10.0, 16.0]
        data, centres = mixture_for(2)
        moves = [("scale", MEASUREMENT, m) for m in measurements] + [("gmm", NUMBERS, data)]
        views = _at_once(moves, server.url)
        problems = [p for view, m in zip(views, measurements, strict=False) for p in check_scale(view, m)]
        assert problems + check_mixture(views[2], centres) == []
        assert len(server.tree_pids()) >= 3  # the server, the forkserver and its workers
    finally:
        server.stop()
