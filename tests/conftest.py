"""Shared fixtures: a clean Pyro state and an empty shared cache for every test."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyro
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The start-up warm-up would fill the cache behind the tests' backs.
os.environ["PME_WARMUP"] = "0"
# Inference runs in the test process, where tests can watch and patch it; the worker
# pool has its own tests (test_workers, and one real server in test_classroom).
os.environ["PME_WORKERS"] = "0"

from ui.run_cache import SHARED  # noqa: E402
from ui.shell import route_apptest_pages_through_the_app  # noqa: E402

route_apptest_pages_through_the_app()

# The server and browser fixtures live beside their helpers.
pytest_plugins = ["tests.browser_fixtures"]


def run_async(make_coroutine):
    """Run ``make_coroutine()`` to the end on a thread of its own.

    Once a browser test has started Playwright's sync API, an event loop runs on the test
    thread, and ``asyncio.run`` refuses to start another there.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


@pytest.fixture(autouse=True)
def clean_state():
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    SHARED.clear()
    yield
    SHARED.clear()
