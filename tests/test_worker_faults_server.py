"""Worker faults on the real server (``streamlit run app.py`` with two workers).

A worker killed mid-run (what the system's out-of-memory killer does) tells its page
how it ended, and the class's next fresh runs all succeed; SIGTERM during a run shuts
the server down without a traceback and leaves no worker behind.
"""

import asyncio
import signal
import time
from pathlib import Path

import pytest

from harness.page_checks import MEASUREMENT, check_scale
from harness.protocol_client import AppSession
from harness.server import RunningServer, start_server
from ppl_models.engine.runtime.workers import died_message
from tests.conftest import run_async
from ui.text import escape

pytestmark = pytest.mark.browser

LONG_RUN = "samples=5000&warmup=2000&chains=4&algo=nuts"


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: state first, CPU ticks at 11 and 12."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _workers(server: RunningServer) -> list[int]:
    """The inference workers: children of the forkserver, under the server's process tree."""
    found = []
    for pid in server.tree_pids():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.forkserver" in command:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _busy_worker(server: RunningServer, timeout_s: float = 90) -> int:
    """The worker whose CPU time grows: the one computing the long run."""
    deadline = time.monotonic() + timeout_s
    before: dict[int, int] = {}
    while time.monotonic() < deadline:
        now = {pid: int(fields[11]) + int(fields[12]) for pid in _workers(server) if (fields := _stat(pid))}
        grown = [pid for pid, ticks in now.items() if pid in before and ticks - before[pid] >= 20]
        if grown:
            return grown[0]
        before = now
        time.sleep(0.5)
    raise AssertionError("no worker started computing")


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


async def _open(url: str, page: str, query: str = ""):
    async with AppSession(url, timeout_s=120) as session:
        return await session.open(page, query)


async def _set(url: str, page: str, label: str, value):
    async with AppSession(url, timeout_s=120) as session:
        await session.open(page)
        return await session.set_widget(label, value)


@pytest.fixture(scope="module")
def server():
    server = start_server(warmup=False, workers=2)
    yield server
    server.stop()


@pytest.mark.parametrize("attempt", range(3))
def test_a_killed_worker_says_how_it_ended_and_the_next_three_runs_succeed(server, attempt):
    async def kill_mid_run():
        long_run = asyncio.create_task(_open(server.url, "scale", LONG_RUN))
        victim = await asyncio.to_thread(_busy_worker, server)
        os_kill(victim)
        return await long_run

    killed = run_async(kill_mid_run)
    assert not killed.exception
    assert escape(died_message(-9)) in killed.alerts()
    assert not any("None" in alert or "Error" in alert for alert in killed.alerts())

    measurements = [9.1 + attempt, 12.3 + attempt, 15.7 + attempt]

    async def three_fresh_runs():
        return await asyncio.gather(*(_set(server.url, "scale", MEASUREMENT, m) for m in measurements))

    views = run_async(three_fresh_runs)
    assert [check_scale(view, m) for view, m in zip(views, measurements, strict=True)] == [[]] * 3


def os_kill(pid: int) -> None:
    import os

    os.kill(pid, signal.SIGKILL)


def test_sigterm_during_a_run_shuts_down_quietly_and_leaves_no_worker():
    # Warm-up on, as deployed: its jobs (which no session waits for) run on the workers too.
    server = start_server(warmup=True, workers=2)
    try:

        async def start_long_run():
            session = AppSession(server.url, timeout_s=120)
            await session.__aenter__()
            run = asyncio.create_task(session.open("scale", LONG_RUN))
            await asyncio.to_thread(_busy_worker, server)
            return session, run

        async def stop_mid_run():
            session, run = await start_long_run()
            tree = server.tree_pids()
            server.process.send_signal(signal.SIGTERM)
            await asyncio.wait([run], timeout=30)
            return tree

        tree = run_async(stop_mid_run)
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
            time.sleep(0.2)
        assert [pid for pid in tree if _alive(pid)] == []
        log = server.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
        assert "BrokenPipeError" not in log, log[-3000:]
    finally:
        if server.process.poll() is None:
            server.process.kill()
