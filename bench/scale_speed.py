"""Speed of the scale page, as ratios against the lecture's own script, in one process.

Baseline: the lecture-faithful script (Pyro's HMC(step_size=0.9, num_steps=4), MCMC with
1000 samples and 50 warmup steps, its progress bar on, torch's default threads). Then
the app's runner on the same setting (the batched sampler, and Pyro's HMC class), and on
the alternatives the page offers; the time until the first partial histogram can be
drawn; the whole page computed afresh through AppTest; NumPyro's warm run where numpyro
is installed; a class's 10 and 30 distinct settings as one batch against one after
another; the compiled-function cache's memory; and the cached rerun of the page. Every
ratio compares runs made here, in this process, one after another; no absolute time is a
pass/fail threshold.

    python -m bench.scale_speed [--seed 0] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch
from pyro.infer import HMC, MCMC

from ppl_models.engine.diagnostics import effective_sample_size
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.scale import ScaleSettings, exact_posterior, infer_weight
from ui.shell import route_apptest_pages_through_the_app

ROOT = Path(__file__).resolve().parent.parent
# Read when app.py runs (AppTest below), not at import: the warm-up would time itself.
os.environ.setdefault("PME_WARMUP", "0")
# The page timed in this process, as a one-process server runs it (workers would add their
# pipe, and run elsewhere than the clock).
os.environ.setdefault("PME_WORKERS", "0")
route_apptest_pages_through_the_app()


def lecture_script(seed: int) -> tuple[float, torch.Tensor]:
    """The lecture's code, modernised only where Pyro 1.9 requires it."""

    def scale(guess):
        weight = pyro.sample("weight", dist.Normal(guess, 1.0))
        return pyro.sample("measurement", dist.Normal(weight, 0.75))

    conditioned_scale = pyro.condition(scale, data={"measurement": torch.tensor(14.0)})
    pyro.set_rng_seed(seed)
    started = time.perf_counter()
    hmc_kernel = HMC(conditioned_scale, step_size=0.9, num_steps=4)
    posterior = MCMC(hmc_kernel, num_samples=1000, warmup_steps=50)
    posterior.run(torch.tensor(10.0))
    return time.perf_counter() - started, posterior.get_samples()["weight"]


def quality(draws) -> str:
    exact = exact_posterior(ScaleSettings())
    draws = torch.as_tensor(draws).reshape(1, -1).numpy()
    return (
        f"mean {draws.mean():.3f} (exact {exact.mean:.3f}), sd {draws.std(ddof=1):.3f} (exact {exact.sd:.3f}), "
        f"ESS {effective_sample_size(draws):.0f}"
    )


def app_run(settings: McmcSettings) -> tuple[float, float, object]:
    """(total seconds, seconds to the first report with draws, result)."""
    started = time.perf_counter()
    first_draws = []

    def progress(report):
        if len(report.partial.get("weight", [])) > 1 and not first_draws:
            first_draws.append(time.perf_counter() - started)

    result = infer_weight(ScaleSettings(), settings, progress=progress)
    return time.perf_counter() - started, (first_draws or [float("nan")])[0], result


def cached_rerun_ms(repeats: int = 10) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.switch_page("pages/scale.py")
    started = time.perf_counter()
    app.run()
    cold = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - started) * 1000)
    assert not app.exception
    return cold, statistics.median(times)


def fresh_page_s(repeats: int) -> float:
    """Seconds for the whole scale page on its default setting, computed afresh (the shared
    cache emptied first): inference, charts and every element, as a student's first view."""
    from streamlit.testing.v1 import AppTest

    from ui.run_cache import SHARED

    times = []
    for _ in range(repeats):
        SHARED.clear()
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        app.switch_page("pages/scale.py")
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        assert not app.exception and "Computed just now" in " ".join(c.value for c in app.caption)
    return min(times)


def numpyro_warm_s(seed: int) -> float | None:
    """NumPyro's HMC on the same setting, its second (compiled, warm) run; None without numpyro."""
    try:
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as ndist
        from jax import random
        from numpyro.infer import HMC as NumpyroHMC
        from numpyro.infer import MCMC as NumpyroMCMC
    except ImportError:
        return None

    def model(guess):
        weight = numpyro.sample("weight", ndist.Normal(guess, 1.0))
        numpyro.sample("measurement", ndist.Normal(weight, 0.75), obs=jnp.array(14.0))

    mcmc = NumpyroMCMC(
        NumpyroHMC(model, step_size=0.9, num_steps=4), num_warmup=50, num_samples=1000, progress_bar=False
    )
    mcmc.run(random.PRNGKey(seed), 10.0)
    started = time.perf_counter()
    mcmc.run(random.PRNGKey(seed + 1), 10.0)
    mcmc.get_samples()["weight"].block_until_ready()
    return time.perf_counter() - started


def class_at_once(count: int) -> tuple[float, float]:
    """(seconds for ``count`` distinct fresh scale settings one after another, seconds as one batch)."""
    from ppl_models.scale import infer_weight_together

    calls = [(ScaleSettings(measurement=8.0 + 0.37 * i), McmcSettings(seed=i)) for i in range(count)]
    started = time.perf_counter()
    for query, settings in calls:
        infer_weight(query, settings)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    infer_weight_together(calls)
    return alone, time.perf_counter() - started


def compiled_cache_mb() -> list[float]:
    """Resident memory (MB) after each of ``MAX_STRUCTURES + 2`` new model structures (128 chains
    wide) is built and traced: it grows while the cache fills and stops at its bound."""
    import gc

    import pyro

    from ppl_models.engine import batched_hmc

    def resident_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    from ppl_models.engine.potential_graph import MAX_STRUCTURES

    specs = [
        batched_hmc.ChainSpec(batched_hmc.input_tensors((10.0, 1.0, 0.75), (("measurement", 14.0),)), i)
        for i in range(100)
    ]
    gc.collect()
    start, grown = resident_mb(), []
    for index in range(MAX_STRUCTURES + 2):

        def fresh_model(guess, prior_sd, noise_sd):
            weight = pyro.sample("weight", dist.Normal(guess, prior_sd))
            return pyro.sample("measurement", dist.Normal(weight, noise_sd))

        fresh_model.__qualname__ = f"fresh_model_{index}"
        batched_hmc.prepare(fresh_model, ("measurement",), specs)
        gc.collect()
        grown.append(resident_mb() - start)
    return grown


def first_render_after_warmup_ms() -> tuple[float, float]:
    """(warm-up seconds, ms to render the default scale page in a new session afterwards).

    This is the default setting as a student gets it: the server computed it in the
    background at start-up (``ui/warmup.py``), before anyone opened the page.
    """
    from streamlit.testing.v1 import AppTest

    from ui import warmup
    from ui.run_cache import SHARED

    SHARED.clear()
    os.environ["PME_WARMUP"] = "1"
    started = time.perf_counter()
    thread = warmup.warm_default_settings()
    thread.join()
    warm_s = time.perf_counter() - started
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.switch_page("pages/scale.py")
    started = time.perf_counter()
    app.run()
    assert not app.exception and "shared cache" in " ".join(c.value for c in app.caption)
    return warm_s, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each; the best is kept")
    options = parser.parse_args()
    warnings.filterwarnings("ignore")

    # One untimed short run of each path first: the one-off set-up of a process (imports,
    # first traces) is paid by the server's start-up warm-up, not by a student's change.
    lecture_script(options.seed)
    infer_weight(ScaleSettings(), McmcSettings(seed=options.seed, num_samples=20, warmup_steps=20))
    baseline_runs = [lecture_script(options.seed) for _ in range(options.repeats)]
    baseline, baseline_draws = min(baseline_runs, key=lambda run: run[0])
    print(f"lecture-faithful script: {baseline:.2f} s; {quality(baseline_draws)}")

    variants = {
        "app runner, same setting (HMC 0.9 x 4, adapted)": McmcSettings(seed=options.seed),
        "app runner, Pyro's HMC class (draw for draw)": McmcSettings(seed=options.seed, sampler="pyro"),
        "app runner, HMC holding 4 leapfrog steps": McmcSettings(seed=options.seed, hold_num_steps=True),
        "app runner, NUTS": McmcSettings(seed=options.seed, kernel="nuts"),
        "app runner, same setting without JIT": McmcSettings(seed=options.seed, jit_compile=False),
    }
    print(f"\n{'setting':52s} {'time':>8s} {'ratio':>7s} {'first draws':>12s}  posterior")
    for name, settings in variants.items():
        runs = [app_run(settings) for _ in range(options.repeats)]
        seconds, first, result = min(runs, key=lambda run: run[0])
        print(f"{name:52s} {seconds:7.2f}s {baseline / seconds:6.2f}x {first:11.2f}s  {quality(result.weight_draws)}")

    page = fresh_page_s(options.repeats)
    print(f"\nwhole page, default setting computed afresh (AppTest): {page:.2f} s, {baseline / page:.2f}x the script")
    numpyro_s = numpyro_warm_s(options.seed)
    if numpyro_s is None:
        print("NumPyro: not installed (optional comparison)")
    else:
        print(f"NumPyro's HMC, same setting, warm (compiled) run: {numpyro_s:.2f} s, {baseline / numpyro_s:.2f}x")
    for count in (10, 30):
        alone, together = class_at_once(count)
        print(
            f"{count} distinct fresh settings: one after another {alone:.2f} s, as one batch {together:.2f} s "
            f"({alone / together:.1f}x the throughput)"
        )
    grown = compiled_cache_mb()
    print(
        "compiled-function cache, resident memory after each new 128-wide structure (at most "
        f"{len(grown) - 2} kept): " + ", ".join(f"+{mb:.1f}" for mb in grown) + " MB"
    )

    cold, warm_ms = cached_rerun_ms()
    print(f"\npage through AppTest: first render {cold:.2f} s (computes); cached rerun median {warm_ms:.0f} ms")
    print(f"cached rerun vs lecture script: {baseline * 1000 / warm_ms:.0f}x")
    warmup_s, first_ms = first_render_after_warmup_ms()
    print(
        f"default setting as a student gets it (computed by the start-up warm-up, {warmup_s:.1f} s for all pages): "
        f"first render of the page {first_ms:.0f} ms, {baseline * 1000 / first_ms:.0f}x faster than the lecture script"
    )


if __name__ == "__main__":
    main()
