"""A classroom against the real server: N sessions at once, each checking its own result.

Starts ``streamlit run app.py`` on 127.0.0.1 (with the start-up warm-up on, as deployed)
and drives N sessions through the app's own websocket protocol (``harness.protocol_client``).
Phases, each with every session moving a control at the same moment:

1. start-up: time from launching the server to the first rendered page, and to the
   scale page's default result;
2. scale, distinct: session i moves "Observed measurement" to its own value;
3. mixture, distinct: session i types its own data set;
4. scale and mixture, shared: every session moves to one fresh setting; exactly one
   session may say "Computed just now" (the shared cache's single flight); then the
   teacher moves to a new setting first and the class follows onto the cached result;
5. cached pages under load: one more session re-renders a cached page while phase-2
   style runs occupy the server, against the same re-render on an idle server;
6. real browsers: K contexts of one Debian Chromium (Playwright) open the scale page's
   link for K distinct fresh measurements at once, and each must show its own answer;
   the same K contexts on the cached default first say what the browsers alone cost.

Every session asserts that the page shows its own setting's answer (``harness.page_checks``):
the scale page's "vs exact" value is the exact posterior mean of that session's measurement,
and the mixture's fitted locations sit on that session's own clusters. Any error, traceback or
foreign answer is counted and makes the script exit non-zero.

    python -m bench.load [--sessions 10] [--browsers 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass, field

from harness.browser import scale_links_at_once
from harness.page_checks import (
    MEASUREMENT,
    NUMBERS,
    check_mixture,
    check_scale,
    measurement_for,
    mixture_for,
    problems_on,
    said_computed,
)
from harness.protocol_client import AppSession
from harness.server import start_server


@dataclass
class PhaseReport:
    name: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    computed: int = 0

    def line(self) -> str:
        if not self.seconds:
            return f"{self.name:44s} no runs; errors: {len(self.errors)}"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return (
            f"{self.name:44s} n={len(ordered):3d}  p50 {statistics.median(ordered):6.2f} s  p95 {p95:6.2f} s  "
            f"max {ordered[-1]:6.2f} s  computed {self.computed:3d}  errors {len(self.errors)}"
        )


async def timed_change(session: AppSession, label: str, value, report: PhaseReport, check) -> None:
    try:
        view = await session.set_widget(label, value)
    except Exception as error:  # noqa: BLE001 - a failed session is a finding, not a crash
        report.errors.append(f"{label}={value}: {type(error).__name__}: {error}")
        return
    report.seconds.append(view.seconds)
    report.computed += said_computed(view)
    report.errors += check(view)


async def run_phase(sessions: list[AppSession], page: str, label: str, values: list, checks: list) -> PhaseReport:
    report = PhaseReport(f"{page}: {len(set(map(str, values)))} distinct setting(s)")
    await asyncio.gather(*(s.open(page) for s in sessions))
    moves = zip(sessions, values, checks, strict=True)
    await asyncio.gather(*(timed_change(s, label, value, report, check) for s, value, check in moves))
    return report


async def scale_phase(sessions: list[AppSession], measurements: list[float]) -> PhaseReport:
    checks = [lambda view, m=m: check_scale(view, m) for m in measurements]
    return await run_phase(sessions, "scale", MEASUREMENT, measurements, checks)


async def mixture_phase(sessions: list[AppSession], mixtures: list[tuple[str, tuple[float, float]]]) -> PhaseReport:
    checks = [lambda view, c=centres: check_mixture(view, c) for _, centres in mixtures]
    return await run_phase(sessions, "gmm", NUMBERS, [data for data, _ in mixtures], checks)


async def teacher_then_class(sessions: list[AppSession], measurement: float) -> PhaseReport:
    """The teacher moves first; then the class follows onto the computed setting."""
    await timed_change(sessions[0], MEASUREMENT, measurement, PhaseReport("teacher"), lambda view: [])
    report = PhaseReport(f"scale: {len(sessions) - 1} follow the teacher (cached)")
    check = lambda view: check_scale(view, measurement)  # noqa: E731
    await asyncio.gather(*(timed_change(s, MEASUREMENT, measurement, report, check) for s in sessions[1:]))
    return report


async def cached_rerenders(url: str, seconds: float) -> list[float]:
    """Re-render the (cached) default scale page again and again for ``seconds``."""
    times = []
    async with AppSession(url) as session:
        await session.open("scale")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            times.append((await session.open("scale")).seconds)
    return times


async def browser_phase(url: str, contexts: int) -> list[PhaseReport]:
    """A cold Chromium opens the cached default; then ``contexts`` contexts at once open it
    too (what the browsers alone cost), then ``contexts`` distinct fresh links at once."""
    reports = [
        PhaseReport("browser: cold start, cached default page"),
        PhaseReport(f"browsers: {contexts} on the cached default"),
        PhaseReport(f"browsers: {contexts} distinct fresh scale links"),
    ]
    fresh = [round(7.0 + 1.3 * i, 1) for i in range(contexts)]
    times, problems = await scale_links_at_once(url, [[14.0], [14.0] * contexts, fresh])
    for report, seconds in zip(reports, times, strict=False):
        report.seconds = seconds
    reports[-1].computed = len(fresh)  # fresh settings: a run each
    reports[-1].errors = problems
    return reports


async def startup(server) -> list[str]:
    lines = [f"server answering its health check {server.ready_after_s:.2f} s after launch"]
    async with AppSession(server.url) as session:
        home = await session.open("")
        lines.append(f"first page (home) rendered {time.perf_counter() - server.started_at:.2f} s after launch")
        view = await session.open("scale")
        source = "computing it (or following the warm-up)" if said_computed(view) else "from the warm-up's cache"
        lines.append(
            f"scale page's default result shown {time.perf_counter() - server.started_at:.2f} s after launch, {source}"
        )
        lines += [f"  problem: {p}" for p in problems_on(home) + check_scale(view, 14.0)]
    return lines


async def main_async(options) -> int:
    server = start_server(warmup=True, workers=options.workers)
    try:
        print("\n".join(await startup(server)))
        # Let the warm-up finish so the phases below measure only their own work.
        async with AppSession(server.url) as session:
            for page in ("gmm", "weather", "causal"):
                await session.open(page)
        await asyncio.sleep(options.settle_s)
        n = options.sessions
        async with contextlib.AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(AppSession(server.url)) for _ in range(n)]
            idle = await cached_rerenders(server.url, 3)
            reports = [
                await scale_phase(sessions, [measurement_for(i) for i in range(n)]),
                await mixture_phase(sessions, [mixture_for(i) for i in range(n)]),
                await scale_phase(sessions, [20.5] * n),
                await teacher_then_class(sessions, 19.0),
                await mixture_phase(sessions, [mixture_for(n + 5)] * n),
            ]
            # Fresh runs occupy the server while another session re-renders a cached page.
            busy_measurements = [round(measurement_for(i) + 0.15, 2) for i in range(n)]
            busy = asyncio.ensure_future(scale_phase(sessions, busy_measurements))
            under_load = await cached_rerenders(server.url, 8)
            reports.append(await busy)
            reports[-1].name = "scale, distinct, beside nonstop re-renders"
        if options.browsers:
            reports += await browser_phase(server.url, options.browsers)
        print(f"\n{n} sessions at once, time from the change (a browser: opening its link) to the finished result:")
        for report in reports:
            print("  " + report.line())
        print(
            f"\ncached scale page re-rendered by another session: idle median {statistics.median(idle):.3f} s; "
            f"while {n} fresh runs occupy the server median {statistics.median(under_load):.3f} s "
            f"({statistics.median(under_load) / statistics.median(idle):.1f}x)"
        )
        if [reports[2].computed, reports[3].computed, reports[4].computed] != [1, 0, 1]:
            reports[2].errors.append("a shared setting was computed more than once, or a cached one again")
        print(
            f"memory at the end: server {server.rss_mb():.0f} MB; with its workers {server.tree_pss_mb():.0f} MB (PSS)"
        )
        errors = [e for r in reports for e in r.errors]
        for error in errors:
            print("ERROR:", error)
        print(f"\n{'no errors, no cross-talk' if not errors else f'{len(errors)} problems'}")
        return 1 if errors else 0
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--browsers", type=int, default=3, help="Chromium contexts for the end-to-end check (0: skip)")
    parser.add_argument("--settle-s", type=float, default=10, help="seconds for the workers' warm-up to finish")
    parser.add_argument(
        "--workers", type=int, default=None, help="inference worker processes (PME_WORKERS); default: as deployed"
    )
    options = parser.parse_args()
    sys.exit(asyncio.run(main_async(options)))


if __name__ == "__main__":
    main()
