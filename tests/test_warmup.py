"""The start-up warm-up fills the cache under exactly the keys the pages look up."""

from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import switch_to
from tests.conftest import ROOT, run_async
from ui import warmup
from ui.capacity import WORKER_PRELOAD
from ui.catalog import CATALOG
from ui.run_cache import SHARED
from ui.runs import cache_key, reports_progress


def test_warm_up_makes_every_default_page_a_cache_hit():
    jobs = warmup.default_jobs()
    warmup._run(jobs)
    assert all(SHARED.peek(cache_key(function, *args)) is not None for function, *args in jobs)
    warmed = [lecture.page for lecture in CATALOG if lecture.default_run is not None]
    assert len(warmed) == len(jobs) >= 4
    for page in warmed:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        switch_to(app, page)
        app.run()
        assert not app.exception
        assert any("From the shared cache" in c.value for c in app.caption), page


def test_with_workers_the_warm_up_runs_their_jobs_there_and_fills_the_same_keys(monkeypatch):
    from ppl_models.engine.runtime.workers import WorkerPool

    pool = WorkerPool(processes=2, preload=WORKER_PRELOAD)
    sent = []
    real_run = pool.run
    monkeypatch.setattr(
        pool, "run", lambda function, args, progress=None: sent.append(function) or real_run(function, args)
    )
    monkeypatch.setattr(warmup, "worker_pool", lambda: pool)
    jobs = warmup.default_jobs()
    warmup._run(jobs)
    assert all(SHARED.peek(cache_key(function, *args)) is not None for function, *args in jobs)
    # Every run that reports progress (MCMC, SVI) went to the workers; the quick vectorised
    # simulations stayed here.
    streaming = sorted(function.__qualname__ for function, *_ in jobs if reports_progress(function))
    assert {"fit_map", "infer_weight"} <= set(streaming)
    assert sorted(f.__qualname__ for f in sent) == streaming
    assert len(streaming) < len(jobs)


def test_the_real_server_warms_up_before_any_session_connects():
    """``streamlit run app.py`` starts the warm-up from the server's lifespan, not from a first visitor.

    The workers' forkserver appears only when something sends inference to the workers;
    here nobody has connected, so only the server's start can have done it. The first
    student then finds the scale page's default computed, or follows the warm-up's run.
    """
    import time

    from harness.page_checks import check_scale, said_computed
    from harness.protocol_client import AppSession
    from harness.server import start_server

    server = start_server(warmup=True, workers=2)
    try:
        deadline = time.monotonic() + 90
        while len(server.tree_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(server.tree_pids()) >= 2, server.log_tail()

        async def first_visit():
            async with AppSession(server.url) as session:
                return await session.open("scale")

        view = run_async(first_visit)
        assert check_scale(view, 14.0) == []
        assert not said_computed(view)
        assert any("From the shared cache" in text for text in view.texts())
    finally:
        server.stop()


def test_a_pme_workers_secret_sizes_the_pool_the_warm_up_starts(tmp_path, monkeypatch):
    """On Community Cloud ``PME_WORKERS`` is a root-level secret, which Streamlit exports to the
    environment; it must be there before the lifespan's warm-up sizes the worker pool."""
    from harness.page_checks import check_scale
    from harness.protocol_client import AppSession
    from harness.server import start_server

    secrets = tmp_path / "secrets.toml"
    secrets.write_text("PME_WORKERS = 0\n")
    monkeypatch.delenv("PME_WORKERS")  # sized to this machine, it would be two workers
    server = start_server(warmup=True, options=("--secrets.files", str(secrets)))
    try:

        async def first_visit():
            async with AppSession(server.url) as session:
                return await session.open("scale")

        assert check_scale(run_async(first_visit), 14.0) == []
        assert server.tree_pids() == [server.pid]  # the warm-up's HMC ran in the server: no workers
    finally:
        server.stop()
