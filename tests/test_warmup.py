"""The start-up warm-up fills the cache under exactly the keys the pages look up."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import warmup
from ui.run_cache import SHARED
from ui.runs import cache_key


def test_warm_up_makes_every_default_page_a_cache_hit():
    jobs = warmup.default_jobs()
    warmup._run(jobs)
    assert all(SHARED.peek(cache_key(function, *args)) is not None for function, *args in jobs)
    for page in ("weather", "causal", "gmm", "scale"):
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        app.switch_page(f"pages/{page}.py")
        app.run()
        assert not app.exception
        assert any("From the shared cache" in c.value for c in app.caption), page


def test_with_workers_the_warm_up_runs_their_jobs_there_and_fills_the_same_keys(monkeypatch):
    from ppl_models.workers import WorkerPool

    pool = WorkerPool(processes=2)
    sent = []
    real_run = pool.run
    monkeypatch.setattr(
        pool, "run", lambda function, args, progress=None: sent.append(function) or real_run(function, args)
    )
    monkeypatch.setattr(warmup, "worker_pool", lambda: pool)
    jobs = warmup.default_jobs()
    warmup._run(jobs)
    assert all(SHARED.peek(cache_key(function, *args)) is not None for function, *args in jobs)
    # MCMC and SVI went to the workers; the quick vectorised simulations stayed here.
    assert sorted(f.__qualname__ for f in sent) == ["fit_map", "infer_weight"]
