"""Start and stop the real app (``streamlit run app.py``) on 127.0.0.1, for benches and tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerDidNotStart(RuntimeError):
    pass


@dataclass
class RunningServer:
    process: subprocess.Popen
    url: str
    log_path: Path
    started_at: float
    ready_after_s: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def rss_mb(self) -> float:
        """The server's resident memory now, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS line")

    def tree_pids(self) -> list[int]:
        """The server and every process below it (the inference workers' forkserver and workers)."""
        pids, frontier = [], [self.pid]
        while frontier:
            pid = frontier.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError):
                    frontier += [int(child) for child in (task / "children").read_text().split()]
        return pids

    def tree_pss_mb(self) -> float:
        """Memory of the whole process tree, shared pages split between their sharers (PSS)."""
        total_kb = 0
        for pid in self.tree_pids():
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total_kb += int(line.split()[1])
            except OSError:
                pass  # a worker that ended meanwhile
        return total_kb / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    warmup: bool = False, timeout_s: float = 90, workers: int | None = None, options: tuple[str, ...] = ()
) -> RunningServer:
    """Start the app on a free port of 127.0.0.1 and wait until its health check answers.

    :param warmup: whether the server computes every page's default at start-up, as a
        deployed server does; tests that count computations turn it off.
    :param workers: inference worker processes (``PME_WORKERS``); 0 runs inference in
        the server's own process; None leaves ``PME_WORKERS`` as this process has it
        (unset: sized to the machine, as deployed).
    :param options: more ``streamlit run`` command-line options, e.g. ``("--secrets.files", path)``.
    """
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="pme-server-", suffix=".log")[1])
    env = {**os.environ, "PME_WARMUP": "1" if warmup else "0"}
    if workers is not None:
        env["PME_WORKERS"] = str(workers)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        # The log goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                *options,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return RunningServer(process, url, log_path, started, time.perf_counter() - started)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise ServerDidNotStart("streamlit did not start:\n" + log_path.read_text(errors="replace")[-2000:])
