"""Speed of the mixture fit, as a ratio against the lecture's straightforward script.

Baseline: the lecture's workflow as written (100 initialisations, each a fresh
``AutoDelta`` scored with ``svi.loss``; then 200 ``svi.step`` calls with
``TraceEnum_ELBO``), on the lecture's five points. Then the app's ``fit_map`` on the
same setting (initialisations scored in one batched pass, each Adam step one traced
call: ``ppl_models/engine/compiled_map.py``), the whole page computed afresh, and
100,000 synthetic points. All in this process, one after another.

    python -m bench.gmm_speed
"""

from __future__ import annotations

import statistics
import time
import warnings

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import SVI, TraceEnum_ELBO, config_enumerate
from pyro.infer.autoguide import AutoDelta, init_to_value

from ppl_models import gmm, gmm_data

DATA = torch.tensor(gmm.LECTURE_DATA)
K = 2


@config_enumerate
def model(data):
    weights = pyro.sample("weights", dist.Dirichlet(0.5 * torch.ones(K)))
    scale = pyro.sample("scale", dist.LogNormal(0.0, 2.0))
    with pyro.plate("components", K):
        locs = pyro.sample("locs", dist.Normal(0.0, 10.0))
    with pyro.plate("data", len(data)):
        assignment = pyro.sample("assignment", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[assignment], scale), obs=data)


def lecture_script():
    def initialize(seed):
        pyro.set_rng_seed(seed)
        pyro.clear_param_store()
        start = {
            "weights": torch.ones(K) / K,
            "scale": (DATA.var() / 2).sqrt(),
            "locs": DATA[torch.multinomial(torch.ones(len(DATA)) / len(DATA), K)],
        }
        guide = AutoDelta(
            poutine.block(model, expose=["weights", "locs", "scale"]), init_loc_fn=init_to_value(values=start)
        )
        svi = SVI(
            model, guide, pyro.optim.Adam({"lr": 0.1, "betas": [0.8, 0.99]}), loss=TraceEnum_ELBO(max_plate_nesting=1)
        )
        return svi.loss(model, guide, DATA), svi, guide

    started = time.perf_counter()
    _, seed = min((initialize(seed)[0], seed) for seed in range(100))
    inits_done = time.perf_counter()
    _, svi, guide = initialize(seed)
    for _ in range(200):
        svi.step(DATA)
    finished = time.perf_counter()
    estimates = guide(DATA)
    return inits_done - started, finished - inits_done, estimates


def fresh_page_s(repeats: int = 3) -> float:
    """Seconds for the whole mixture page on its default setting computed afresh (AppTest,
    in this process, the shared cache emptied first): the fit and every element drawn."""
    import os
    from pathlib import Path

    os.environ.setdefault("PME_WARMUP", "0")
    os.environ.setdefault("PME_WORKERS", "0")
    from streamlit.testing.v1 import AppTest

    from ui.run_cache import SHARED
    from ui.shell import route_apptest_pages_through_the_app

    route_apptest_pages_through_the_app()
    times = []
    for _ in range(repeats):
        SHARED.clear()
        app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
        app.switch_page("pages/gmm.py")
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        assert not app.exception
    return min(times)


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    inits, steps, estimates = lecture_script()
    baseline = inits + steps
    print(
        f"lecture script: {baseline:.2f} s ({inits:.2f} s for 100 inits, {steps:.2f} s for 200 steps); "
        f"weights {sorted(estimates['weights'].detach().tolist())}"
    )
    gmm.fit_map(gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings(seed=99))  # pays one-off torch set-up
    times = []
    for seed in range(5):
        started = time.perf_counter()
        fit = gmm.fit_map(gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings(seed=seed))
        times.append(time.perf_counter() - started)
    app = statistics.median(times)
    print(
        f"app fit_map (median of 5 seeds): {app:.2f} s ({baseline / app:.1f}x); weights {fit.weights.round(3)}, "
        f"locs {fit.locs.round(3)}, scale {fit.scale:.3f}"
    )
    page = fresh_page_s()
    print(f"whole mixture page, default computed afresh (AppTest): {page:.2f} s ({baseline / page:.1f}x)")
    started = time.perf_counter()
    big = gmm.fit_map(
        gmm_data.SyntheticData(locs=(-5.0, 3.0, 12.0), n=100_000, seed=0), gmm.GmmPrior(), gmm.GmmSettings(k=3)
    )
    print(
        f"100,000 synthetic points, K = 3: {time.perf_counter() - started:.2f} s; locs {big.locs.round(3)} "
        "(true -5, 3, 12)"
    )


if __name__ == "__main__":
    main()
