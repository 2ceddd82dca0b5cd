"""A class asking for distinct fresh settings at once, with batching off and then on.

Starts ``streamlit run app.py`` on 127.0.0.1 twice, as deployed (start-up warm-up on,
workers sized to the machine), first with ``PME_BATCHING=0`` and then with batching on,
and in each server measures, from the change to the finished page that shows the
session's own answer (``harness.page_checks``):

1. 10 protocol sessions moving the scale page's measurement to 10 distinct fresh values
   at the same moment, then 30 sessions to 30 more;
2. 6 Chromium contexts opening 6 distinct fresh ``/scale?measurement=...`` links at once,
   then the same 6 links again (now cached): what the fresh computations add at p95.

The ratios compare the two servers' runs in this one process; no figure is a pass/fail
threshold. The issue's targets: 10 at once at most half of the p95 with batching off,
30 at most a third; the 6 browsers' fresh p95 at most 1 s over their cached p95.

    python -m bench.class_batch [--browsers 6] [--settle-s 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from bench.load import PhaseReport, scale_phase
from harness.browser import scale_links_at_once
from harness.protocol_client import AppSession
from harness.server import start_server


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")


async def one_server(batching: bool, options) -> dict[str, float]:
    os.environ["PME_BATCHING"] = "1" if batching else "0"
    server = start_server(warmup=True)
    figures: dict[str, float] = {}
    errors: list[str] = []
    try:
        async with AppSession(server.url) as session:
            for page in ("scale", "gmm", "weather", "causal"):
                await session.open(page)
        await asyncio.sleep(options.settle_s)
        async with contextlib.AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(AppSession(server.url)) for _ in range(30)]
            for count, base in ((10, 10.5), (30, 16.05)):
                report: PhaseReport = await scale_phase(
                    sessions[:count], [round(base + 0.3 * i, 2) for i in range(count)]
                )
                figures[f"{count} at once p50"] = sorted(report.seconds)[len(report.seconds) // 2]
                figures[f"{count} at once p95"] = p95(report.seconds)
                errors += report.errors
                print(f"  batching {'on ' if batching else 'off'} {report.line()}")
        if options.browsers:
            fresh = [round(2.05 + 0.7 * i, 2) for i in range(options.browsers)]
            times, problems = await scale_links_at_once(server.url, [[14.0] * options.browsers, fresh, fresh])
            errors += problems
            if len(times) == 3:
                figures["browsers fresh p95"] = p95(times[1])
                figures["browsers cached p95"] = p95(times[2])
                print(
                    f"  batching {'on ' if batching else 'off'} {options.browsers} browsers: fresh p95 "
                    f"{figures['browsers fresh p95']:.2f} s, the same links cached p95 "
                    f"{figures['browsers cached p95']:.2f} s"
                )
        figures["memory MB"] = server.tree_pss_mb()
    finally:
        server.stop()
    for error in errors:
        print("ERROR:", error)
    figures["errors"] = len(errors)
    return figures


async def main_async(options) -> int:
    off = await one_server(False, options)
    on = await one_server(True, options)
    print("\nbatching off -> on (same process, same machine):")
    for key in ("10 at once p95", "30 at once p95"):
        print(f"  {key}: {off[key]:.2f} s -> {on[key]:.2f} s  ({on[key] / off[key]:.2f} of off)")
    if "browsers fresh p95" in on:
        for label, figures in (("off", off), ("on", on)):
            added = figures["browsers fresh p95"] - figures["browsers cached p95"]
            print(f"  {options.browsers} browsers, batching {label}: fresh adds {added:+.2f} s at p95 over cached")
    print(f"  memory at the end (server and workers, PSS): off {off['memory MB']:.0f} MB, on {on['memory MB']:.0f} MB")
    return 1 if off["errors"] or on["errors"] else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browsers", type=int, default=6)
    parser.add_argument("--settle-s", type=float, default=10)
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
