"""Hostile links and uploads against the real server: memory, time and what the page said.

Starts ``streamlit run app.py`` on 127.0.0.1 as deployed (warm-up on, the worker pool sized
to the machine), opens every page's default once, then sends a list of malformed and
hostile links, each from a new session over Streamlit's websocket protocol, and a list of
hostile CSV uploads through a real Chromium. For each it reports:

- the peak memory of the server's whole process tree (PSS, sampled every 50 ms) above the
  steady state measured before the list;
- how long the page took;
- what the page said (its first alert), and whether any of it leaked internals: an
  exception box, a traceback, an exception's class name or a tensor dump.

It fails (exit 1) when a request raises the tree more than ``--max-rise-mb`` (200) above
the steady state, takes longer than the run budget plus ``--slack-s``, shows internals, or
when the tree's memory after the whole list is more than 10% above where it was before.

    python -m bench.hostile [--workers N] [--only SUBSTRING] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from harness.protocol_client import AppSession
from harness.server import RunningServer, start_server
from ui.catalog import CATALOG

RUN_BUDGET_S = 30.0
INTERNALS = re.compile(
    r"Traceback|\b[A-Z]\w*(Error|Exception|Warning)\b|tensor\(|File \"|line \d+, in |\bat 0x[0-9a-f]+"
)

BIG = "9" * 400
MARKDOWN_ATTACK = "14`\n\n# Session expired\n\n[Log in again](http://example.com/login) `"
DIRECTIVES = ":red[**urgent**] :material/warning: :smile: $x^2$ <b>bold</b> <script>alert(1)</script>"


def q(**values: object) -> str:
    return urllib.parse.urlencode({k: str(v) for k, v in values.items()})


def many(key_count: int) -> str:
    return "&".join(f"k{i}={i}" for i in range(key_count))


# (name, page, query): each wider than the examples, one class per group.
LINKS: list[tuple[str, str, str]] = [
    # cost: shapes whose covariances, Cholesky factors, draws or plates are too big
    ("shapes: MVN batch 1000 of 1000x1000", "shapes", q(family="MultivariateNormal", param_shape="1000,1000")),
    ("shapes: MVN batch 300 of 300x300", "shapes", q(family="MultivariateNormal", param_shape="300,300")),
    (
        "shapes: MVN 1000-dim expanded to 1000x1000",
        "shapes",
        q(family="MultivariateNormal", param_shape="1000", expand="1000,1000"),
    ),
    (
        "shapes: MVN 1000-dim, sample 1000",
        "shapes",
        q(family="MultivariateNormal", param_shape="1000", sample_shape="1000"),
    ),
    (
        "shapes: Dirichlet 1000x1000, sample 1000",
        "shapes",
        q(family="Dirichlet", param_shape="1000,1000", sample_shape="1000"),
    ),
    ("shapes: Normal, sample 1000x1000x1000", "shapes", q(sample_shape="1000,1000,1000")),
    ("shapes: Normal expanded to 1000x1000x1000", "shapes", q(expand="1000,1000,1000")),
    ("shapes: three plates of 1000", "shapes", q(plates=3, plate1_size=1000, plate2_size=1000, plate3_size=1000)),
    (
        "shapes: Categorical 1000x1000 in plates",
        "shapes",
        q(family="Categorical", param_shape="1000,1000", plates=2, plate1_size=1000, plate2_size=1000),
    ),
    ("shapes: twelve dims", "shapes", q(param_shape=",".join(["2"] * 12))),
    ("shapes: shape text attack", "shapes", q(param_shape="3`, [x](http://example.com)")),
    # cost: inference at the caps
    (
        "gmm: 100k synthetic, 1000 inits, 2000 steps, K=6",
        "gmm",
        q(source="synthetic", true_n=100000, inits=1000, steps=2000, k=6),
    ),
    (
        "gmm: 100k synthetic, 6 spread locs, lr 1",
        "gmm",
        q(source="synthetic", true_n=100000, true_locs="-50,-20,0,20,50,80", true_scale=10, k=6, lr=1, inits=1000),
    ),
    ("scale: NUTS 5000 samples, 2000 warmup, 4 chains", "scale", q(algo="nuts", samples=5000, warmup=2000, chains=4)),
    (
        "scale: HMC 100 steps, 5000 samples, 4 chains",
        "scale",
        q(algo="hmc", num_steps=100, samples=5000, warmup=2000, chains=4, adapt="false"),
    ),
    ("scale: SVI at the caps", "scale", q(algo="svi", svi_steps=100000, particles=1000)),
    ("weather: 100k draws at the caps", "weather", q(n=100000)),
    # ranges: overflow, float extremes, absurd data
    ("causal: temp 220, sd 0.5", "causal", q(temp=220, cloudy_sd=0.5, sunny_sd=0.5)),
    (
        "causal: observed day at the extremes",
        "causal",
        q(obs_temp=-100, obs_sales=100000, sales_sd=0.1, obs_weather="unknown"),
    ),
    ("causal: counterfactual at the extremes", "causal", q(cf_temp=1000, obs_temp=-1000, cloudy_sd=0.1, sunny_sd=0.1)),
    ("weather: every sd at its minimum", "weather", q(cloudy_sd=0.01, sunny_sd=0.01, sales_sd=0.01, threshold=1000)),
    ("scale: measurement 1e308", "scale", q(measurement="1e308")),
    ("scale: noise sd tiny, measurement far", "scale", q(measurement=1000, noise_sd=0.001, prior_sd=0.001)),
    ("gmm: values near 1e308", "gmm", q(data="1e308,-1e308,1.7e308,0")),
    ("gmm: all near 1e-300", "gmm", q(data="1e-300,2e-300,3e-300,4e-300")),
    ("gmm: 0 to 1e300", "gmm", q(data="0,1,1e300,2e300")),
    ("gmm: 0 and 1e20", "gmm", q(data="0,1e20")),
    ("gmm: empty data", "gmm", q(data="")),
    ("gmm: one point", "gmm", q(data="5")),
    ("gmm: identical points", "gmm", q(data="3,3,3,3,3")),
    ("gmm: nan and inf", "gmm", q(data="1,nan,inf,-inf")),
    ("gmm: K above n", "gmm", q(data="1,2,3", k=6)),
    ("gmm: 5000 characters of data", "gmm", q(data=",".join(["1234.5678"] * 500))),
    ("gmm: synthetic with absurd locs", "gmm", q(source="synthetic", true_locs="1e300,-1e300", true_n=1000)),
    # markup in text from the link
    ("scale: markdown break-out in a value", "scale", q(measurement=MARKDOWN_ATTACK)),
    ("gmm: markdown break-out in data", "gmm", q(data=MARKDOWN_ATTACK)),
    ("gmm: directives, HTML and LaTeX in data", "gmm", q(data=DIRECTIVES)),
    ("causal: directives in a choice", "causal", q(obs_weather=DIRECTIVES)),
    ("shapes: directives in a family", "shapes", q(family=DIRECTIVES)),
    ("scale: a 400-digit number", "scale", q(measurement=BIG)),
    ("scale: NUL, bidi override and newlines", "scale", q(measurement="1\x00\u202e2\r\n3")),
    # repeated and excessive keys
    ("scale: repeated measurement", "scale", "measurement=1&measurement=2&measurement=3"),
    ("gmm: repeated data", "gmm", "data=1,2,3&data=" + urllib.parse.quote(MARKDOWN_ATTACK)),
    ("scale: one 30 kB value", "scale", q(measurement="1" * 30000)),
]


def csv_uploads() -> list[tuple[str, bytes]]:
    return [
        ("csv: a 200 kB field", b"x\n" + b"1" * 200_000 + b"\n"),
        ("csv: NUL bytes", b"x\n1\n2\x00\n3\n"),
        ("csv: unterminated quote", b'x\n"1\n2\n3\n'),
        ("csv: UTF-16 with BOM", "x\n1\n2\n10\n11\n".encode("utf-16")),
        ("csv: latin-1", "température\n1\n2\n10\n".encode("latin-1")),
        ("csv: semicolons and decimal commas", b"x;y\n1,5;2\n2,5;3\n"),
        ("csv: binary junk", bytes(range(256)) * 64),
        ("csv: markup in cells", f"x\n1\n{MARKDOWN_ATTACK}\n".encode()),
        ("csv: 200,000 rows", b"x\n" + b"\n".join(str(i % 97).encode() for i in range(200_000)) + b"\n"),
        (
            "csv: 100,000 rows, 3 groups",
            b"x\n" + b"\n".join(str((i % 3) * 10 + (i % 7) / 7).encode() for i in range(100_000)),
        ),
    ]


@dataclass
class Outcome:
    name: str
    seconds: float
    rise_mb: float
    said: str
    leaks: str

    def row(self) -> str:
        said = self.said.replace("\n", " ")[:110]
        flag = f"  LEAK: {self.leaks}" if self.leaks else ""
        return f"{self.name:52s} {self.seconds:6.1f} s {self.rise_mb:+7.0f} MB  {said}{flag}"


class PeakSampler:
    """The tree's PSS, sampled on a thread while one request runs."""

    def __init__(self, server: RunningServer, interval_s: float = 0.05):
        self.server, self.interval_s = server, interval_s
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.tree_pss_mb())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.server.tree_pss_mb())


def leaks_in(texts: list[str], exception: str) -> str:
    if exception:
        return f"exception box: {exception[:80]}"
    for text in texts:
        found = INTERNALS.search(text)
        if found:
            return f"{found.group(0)!r} in {text[:80]!r}"
    return ""


async def visit(url: str, page: str, query: str) -> tuple[list[str], str]:
    async with AppSession(url, timeout_s=RUN_BUDGET_S + 60) as session:
        view = await session.open(page, query)
        return view.alerts() or view.texts()[:1], view.exception


def run_link(server: RunningServer, steady_mb: float, name: str, page: str, query: str) -> Outcome:
    started = time.perf_counter()
    with PeakSampler(server) as sampler:
        try:
            texts, exception = asyncio.run(visit(server.url, page, query))
        except Exception as error:  # noqa: BLE001 - a bench reports every failure and goes on
            texts, exception = [], f"client: {type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    said = " | ".join(texts) if texts else "(no alert)"
    return Outcome(name, seconds, sampler.peak - steady_mb, said, leaks_in(texts, exception))


# Links Streamlit drops whole before the script runs (too many values, too long): only the
# browser knows what its address held, so these go through Chromium.
BROWSER_LINKS = [
    ("browser: scale with 2,000 keys", "scale", many(2000)),
    ("browser: scale with 20,000 keys", "scale", many(20000)),
    ("browser: scale with a 600 kB value", "scale", q(measurement="1" * 600_000)),
]


def run_in_browser(server: RunningServer, steady_mb: float, only: str) -> list[Outcome]:
    """The oversized links and the CSV uploads, each in a fresh context of one Chromium."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, IDLE, VIEWPORT, local_only

    timeout_ms = int((RUN_BUDGET_S + 60) * 1000)

    def said_on(page, fallback: str) -> tuple[str, str]:
        alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
        exceptions = page.locator('[data-testid="stException"]').all_inner_texts()
        return (" | ".join(alerts) if alerts else fallback), leaks_in(alerts, exceptions[0] if exceptions else "")

    outcomes = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def fresh_page():
            context = browser.new_context(viewport=VIEWPORT)
            local_only(context)
            return context, context.new_page()

        for name, page_name, query in BROWSER_LINKS:
            if only not in name:
                continue
            context, page = fresh_page()
            started = time.perf_counter()
            with PeakSampler(server) as sampler:
                # Past the web server's own request limit (64 kB of headers) it answers with
                # an HTTP error before the app sees anything: no page, nothing said for it.
                response = page.request.get(f"{server.url}/{page_name}?{query}")
                if response.ok:
                    page.goto(f"{server.url}/{page_name}?{query}")
                    page.wait_for_timeout(1500)  # the address check reports after the first run
                    page.wait_for_selector(IDLE, timeout=timeout_ms)
            if response.ok:
                said, leaks = said_on(page, "(no alert)")
            else:
                said, leaks = f"HTTP {response.status} from the web server, before the app", ""
            outcomes.append(Outcome(name, time.perf_counter() - started, sampler.peak - steady_mb, said, leaks))
            context.close()
        for name, content in csv_uploads():
            if only not in name:
                continue
            context, page = fresh_page()
            page.goto(f"{server.url}/gmm?source=csv")
            page.wait_for_selector(IDLE, timeout=60_000)
            path = Path(folder) / "data.csv"
            path.write_bytes(content)
            started = time.perf_counter()
            with PeakSampler(server) as sampler:
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
                page.wait_for_timeout(500)
                page.wait_for_selector(IDLE, timeout=timeout_ms)
            said, leaks = said_on(page, "(no alert: fitted)")
            outcomes.append(Outcome(name, time.perf_counter() - started, sampler.peak - steady_mb, said, leaks))
            context.close()
        browser.close()
    return outcomes


def settle(server: RunningServer) -> float:
    """Open every page's default (the warm-up's results), then wait for memory to level off."""
    for page in (lecture.url_path for lecture in CATALOG):
        asyncio.run(visit(server.url, page, ""))
    readings = [server.tree_pss_mb()]
    for _ in range(20):
        time.sleep(1.0)
        readings.append(server.tree_pss_mb())
        if abs(readings[-1] - readings[-3 if len(readings) > 2 else 0]) < 5:
            break
    return readings[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=None, help="PME_WORKERS; unset: sized to the machine")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the oversized links and CSV uploads (they need Chromium)"
    )
    parser.add_argument("--max-rise-mb", type=float, default=200.0)
    parser.add_argument("--slack-s", type=float, default=15.0, help="rendering time allowed beyond the run budget")
    args = parser.parse_args()

    server = start_server(warmup=True, workers=args.workers)
    failures = []
    try:
        steady = settle(server)
        print(f"steady state after every page's default: {steady:.0f} MB (server tree, PSS)")
        print(f"{'case':52s} {'time':>8s} {'rise':>10s}  what the page said")
        outcomes = [run_link(server, steady, name, page, query) for name, page, query in LINKS if args.only in name]
        for outcome in outcomes:
            print(outcome.row(), flush=True)
        if not args.no_browser:
            in_browser = run_in_browser(server, steady, args.only)
            for outcome in in_browser:
                print(outcome.row(), flush=True)
            outcomes += in_browser
        time.sleep(3)
        after = server.tree_pss_mb()
        for outcome in outcomes:
            if outcome.rise_mb > args.max_rise_mb:
                failures.append(f"{outcome.name}: memory rose {outcome.rise_mb:.0f} MB")
            if outcome.seconds > RUN_BUDGET_S + args.slack_s:
                failures.append(f"{outcome.name}: took {outcome.seconds:.1f} s")
            if outcome.leaks:
                failures.append(f"{outcome.name}: {outcome.leaks}")
        worst = max(outcomes, key=lambda o: o.rise_mb)
        slowest = max(outcomes, key=lambda o: o.seconds)
        print(
            f"\n{len(outcomes)} cases. Worst rise {worst.rise_mb:+.0f} MB ({worst.name}); slowest "
            f"{slowest.seconds:.1f} s ({slowest.name}); memory before {steady:.0f} MB, after {after:.0f} MB "
            f"({(after - steady) / steady:+.1%})."
        )
        if after > steady * 1.10:
            failures.append(f"memory after the list {after:.0f} MB is more than 10% above {steady:.0f} MB")
        log = server.log_tail(200_000)
        if "Traceback" in log:
            failures.append("the server log holds a traceback:\n" + log[log.index("Traceback") :][:1500])
    finally:
        server.stop()
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
