"""The server's resident memory under a classroom's worth of distinct settings.

Starts ``streamlit run app.py`` on 127.0.0.1 (warm-up on, as deployed) and reads its
resident memory (VmRSS), and that of the whole process tree with the inference workers
(PSS: shared pages counted once), after each stage:

1. start-up and warm-up;
2. every page once with its defaults;
3. 50 distinct settings on every page, each from a new session, as students arriving
   with their own links (the mixture's include 100,000-point data sets, the largest
   results the app caches);
4. 200 further reruns of pages and settings already seen, by more new sessions,
   sampled every 20: the memory must level off, not keep climbing (bounded caches,
   nothing kept per closed session).

Exits non-zero when the peak passes ``--limit-mb`` (1024: Streamlit Community Cloud's
smallest instances have less) or the last 100 reruns grow it by more than 5%.

    python -m bench.memory [--settings 50] [--reruns 200] [--limit-mb 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from harness.protocol_client import AppSession
from harness.server import start_server
from ui.catalog import CATALOG

PAGES = tuple(lecture.url_path for lecture in CATALOG)
PRESETS = ("none", "mvn_expand", "mvn_plate", "nested_plates")


def distinct_queries(page: str, i: int) -> str:
    """Setting number ``i`` of ``page``, as the query string a shared link carries."""
    if page == "scale":
        # 300 draws keep 50 HMC runs to minutes; the results are as small as the default's.
        return f"measurement={8 + 0.25 * i:g}&samples=300"
    if page == "weather":
        return f"high_sales={100 + 5 * (i % 60):g}&seed={i}"
    if page == "causal":
        return f"temp={40 + i:g}&obs_sales={20 + 3 * i:g}"
    if page == "gmm":
        if i % 10 == 0:
            return f"source=synthetic&true_n=100000&data_seed={i}&true_locs=-5,%203,%2012&k=3&inits=10"
        return f"data=0,%201,%20{10 + 0.5 * i:g},%20{11 + 0.5 * i:g},%20{12 + 0.5 * i:g}"
    if page == "shapes":
        return f"preset={PRESETS[i % len(PRESETS)]}&sample_shape={1 + i}"
    return ""


async def visit(url: str, page: str, query: str) -> list[str]:
    async with AppSession(url, timeout_s=180) as session:
        view = await session.open(page, query)
    return [view.exception] if view.exception else []


def mb(server) -> str:
    return f"{server.rss_mb():7.0f} MB server, {server.tree_pss_mb():7.0f} MB with its workers (PSS)"


def used_mb(server) -> float:
    """What counts against an instance's memory: the server and its workers, shared pages once."""
    return max(server.rss_mb(), server.tree_pss_mb())


async def main_async(options) -> int:
    server = start_server(warmup=True, workers=options.workers)
    problems: list[str] = []
    try:
        print(f"after start-up:                        {mb(server)}")
        for page in PAGES:
            problems += await visit(server.url, page, "")
        peak = used_mb(server)
        print(f"every page with its defaults:          {mb(server)}")
        started = time.perf_counter()
        for page in PAGES[1:]:
            for i in range(options.settings):
                problems += await visit(server.url, page, distinct_queries(page, i))
                peak = max(peak, used_mb(server))
            print(f"+ {options.settings} distinct settings on {page:8s}    {mb(server)}")
        print(f"  ({time.perf_counter() - started:.0f} s)")
        samples = []
        for rerun in range(1, options.reruns + 1):
            page = PAGES[1 + rerun % (len(PAGES) - 1)]
            problems += await visit(server.url, page, distinct_queries(page, rerun % options.settings))
            peak = max(peak, used_mb(server))
            if rerun % 20 == 0:
                samples.append(used_mb(server))
                print(f"  after {rerun:3d} further reruns:          {samples[-1]:7.0f} MB")
        growth = samples[-1] / samples[len(samples) // 2 - 1] - 1 if len(samples) >= 2 else 0.0
        print(f"\npeak resident memory: {peak:.0f} MB (limit {options.limit_mb} MB)")
        print(f"growth over the last {options.reruns // 2} reruns: {100 * growth:+.1f}%")
        if peak > options.limit_mb:
            problems.append(f"peak {peak:.0f} MB is over {options.limit_mb} MB")
        if growth > 0.05:
            problems.append(f"memory still growing: {100 * growth:+.1f}% over the last reruns")
        for problem in problems:
            print("PROBLEM:", problem)
        return 1 if problems else 0
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=int, default=50)
    parser.add_argument("--reruns", type=int, default=200)
    parser.add_argument("--limit-mb", type=int, default=1024)
    parser.add_argument(
        "--workers", type=int, default=None, help="inference worker processes (PME_WORKERS); default: as deployed"
    )
    options = parser.parse_args()
    sys.exit(asyncio.run(main_async(options)))


if __name__ == "__main__":
    main()
