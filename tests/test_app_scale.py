"""AppTest: the scale page, read back from what it shows."""

import html
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ppl_models.scale import ScaleSettings, exact_posterior
from tests.apptest_helpers import (
    array,
    assert_tables_use_the_decimal_rule,
    expander_text,
    figures,
    metric,
    open_page,
    screen_reader_texts,
    texts,
    trace,
)
from tests.conftest import ROOT
from ui.charts import summary_of
from ui.panels import GLOSSARY, SAMPLER_TERMS
from ui.text import escape

FAST = dict(algo="nuts", samples="500", warmup="200")


def test_defaults_show_the_lecture_posterior_against_the_exact_one():
    app = open_page("scale")
    mean = metric(app, "Posterior mean")
    assert abs(float(mean.value) - 12.56) < 0.1
    assert "exact 12.560" in mean.delta
    assert "exact 0.600" in metric(app, "Posterior sd").delta
    histogram = figures(app)[0]
    assert histogram["layout"]["title"]["text"] == "P(weight | measurement = 14)"
    samples = array(trace(histogram, "samples")["x"])
    assert samples.shape == (1000,) and abs(samples.mean() - 12.56) < 0.1
    exact = trace(histogram, "exact posterior")
    assert array(exact["x"])[int(np.argmax(array(exact["y"])))] == pytest.approx(12.56, abs=0.1)
    assert "Computed just now" in texts(app.caption)
    assert app.get("graphviz_chart") and "measurement" in app.get("graphviz_chart")[0].proto.spec
    assert "mcmc.run(*args)" in app.code[0].value


def test_moving_the_measurement_moves_the_posterior_mean_to_the_new_exact_value():
    app = open_page("scale", **FAST)
    app.slider(key="measurement").set_value(9.5).run()
    expected = exact_posterior(ScaleSettings(measurement=9.5)).mean
    mean = metric(app, "Posterior mean")
    assert f"exact {expected:.3f}" in mean.delta
    assert abs(float(mean.value) - expected) < 0.1


def test_a_link_sets_the_controls():
    app = open_page("scale", measurement="9.5", guess="8.5", algo="nuts", samples="500")
    assert app.slider(key="measurement").value == 9.5
    assert app.slider(key="guess").value == 8.5
    assert app.radio(key="algo").value == "nuts"
    expected = exact_posterior(ScaleSettings(guess=8.5, measurement=9.5))
    assert f"exact {expected.mean:.3f}" in metric(app, "Posterior mean").delta
    assert not app.warning


def test_malformed_link_values_fall_back_to_defaults_with_a_note():
    app = open_page("scale", measurement="abc", algo="bogus", samples="1e9", adapt="maybe", **{"warmup": "200"})
    note = texts(app.warning)
    assert "`measurement=abc` is not a number; using 14.0 instead." in note
    assert "`algo=bogus` is not one of hmc, nuts, svi; using 'hmc' instead." in note
    assert "`samples=1e9` is outside 10 to 5000; using 1000 instead." in note
    assert "`adapt=maybe` is not true or false; using True instead." in note
    assert app.slider(key="measurement").value == 14.0
    assert "exact 12.560" in metric(app, "Posterior mean").delta
    app.run()  # the note survives the rerun after Streamlit drops the bad values
    assert "measurement=abc" in texts(app.warning)


def test_two_chains_fill_one_histogram_and_get_an_r_hat():
    """A second chain's warmup redraws the first chain's draws unchanged: frames must not collide."""
    app = open_page("scale", chains="2", **FAST)
    assert not app.error, texts(app.error)
    histogram = figures(app)[0]
    assert array(trace(histogram, "samples")["x"]).shape == (1000,)
    traces = next(f for f in figures(app) if f["layout"]["title"]["text"] == "Trace of weight, per chain")
    assert [t["name"] for t in traces["data"]] == ["chain 1", "chain 2"]
    summary = app.dataframe[0].value
    assert float(summary.loc[0, "R-hat"]) < 1.05
    assert list(app.dataframe[1].value["chain"]) == [1, 2]


def test_a_cached_setting_rerenders_from_the_cache_and_says_so():
    app = open_page("scale", **FAST)
    first = metric(app, "Posterior mean").value
    app.run()
    assert "From the shared cache" in texts(app.caption)
    assert metric(app, "Posterior mean").value == first


def test_svi_shows_the_loss_curve_and_guide_parameters_converging():
    app = open_page("scale", algo="svi")
    mean = float(metric(app, "Posterior mean").value)
    assert abs(mean - 12.56) < 0.1 and abs(float(metric(app, "Posterior sd").value) - 0.6) < 0.09
    by_title = {f["layout"]["title"]["text"]: f for f in figures(app)}
    loss = array(trace(by_title["SVI loss (negative ELBO)"], "loss")["y"])
    assert loss.shape == (1000,) and loss[-100:].mean() < loss[:100].mean()
    paths = by_title["Guide parameters vs exact posterior"]
    assert array(trace(paths, "weight_loc")["y"])[-1] == pytest.approx(mean, abs=1e-3)
    assert array(trace(paths, "weight_scale")["y"])[-1] == pytest.approx(0.6, abs=0.09)


def test_the_fragile_lecture_setting_warns_in_plain_words():
    app = open_page("scale", guess="8.5", seed="1", hmc_impl="pyro")
    warning = texts(app.error)
    assert "Don't trust this posterior yet" in warning
    assert "Effective sample size is only" in warning
    assert "switch to NUTS" in warning


def test_a_fractional_sample_count_is_reported_as_the_value_actually_used():
    app = open_page("scale", samples="300.5", warmup="100", algo="nuts")
    assert "`samples=300.5` is not a whole number; using 300 instead." in texts(app.warning)
    assert app.number_input(key="samples").value == 300


def test_the_device_choice_comes_from_the_link_with_a_note_for_a_bad_value():
    # The shared sidebar lives in app.py; AppTest drops it after switch_page (a real
    # browser keeps it: see test_browser.py), so it is checked on the entry page.
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["device"] = "cuda"
    app.run()
    assert app.selectbox(key="device").value == "cuda"
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["device"] = "quantum"
    app.run()
    assert "`device=quantum` is not one of auto, cpu, cuda; using 'auto' instead." in texts(app.warning)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback when no GPU is present")
def test_asking_for_cuda_without_a_gpu_runs_on_the_cpu_and_says_so():
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in FAST.items():
        app.query_params[key] = value
    app.session_state["device"] = "cuda"
    app.switch_page("pages/scale.py")
    app.run()
    assert "CUDA was requested but no GPU is available here; ran on the CPU." in texts(app.info)
    assert "exact 12.560" in metric(app, "Posterior mean").delta


def test_bad_model_numbers_cannot_be_entered():
    app = open_page("scale", prior_sd="0", **FAST)
    assert "`prior_sd=0` is outside 0.1 to 10" in texts(app.warning)
    assert app.slider(key="prior_sd").value == 1.0


def test_home_page_has_a_card_per_page():
    app = open_page("home")
    assert "Pyro Model Explorer" in app.title[0].value
    assert "Conditioning & HMC" in texts(app.header)


def test_every_diagnostic_word_is_explained_in_its_column_header():
    app = open_page("scale")
    explained = {}
    for frame in app.dataframe:
        for name, config in json.loads(frame.proto.columns or "{}").items():
            if config and config.get("help"):
                explained[name] = config["help"]
    for word in ("ESS", "R-hat", "MCSE", "90% HPDI", "acceptance rate", "leapfrog steps", "divergences"):
        assert explained.get(word) == GLOSSARY[word]
    assert "sd / sqrt(ESS)" in explained["MCSE"]
    assert assert_tables_use_the_decimal_rule(app) == 2


def stopped_page(monkeypatch, **query: str) -> AppTest:
    """The scale page in the rerun a press of Stop causes: there the Stop button reads True."""
    from ui import runs

    opened = runs.LiveRun.__init__

    def pressed(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        self.stopped = self.name.startswith("infer_weight-")

    monkeypatch.setattr(runs.LiveRun, "__init__", pressed)
    app = open_page("scale", **query)
    monkeypatch.setattr(runs.LiveRun, "__init__", opened)
    return app


def assert_exact_answer_kept(app: AppTest, settings: ScaleSettings) -> None:
    """No estimate, but the exact posterior and prior curves, the exact numbers and the controls."""
    exact = exact_posterior(settings)
    assert [t["name"] for t in figures(app)[0]["data"]] == ["exact posterior", "prior"]
    assert metric(app, "Exact posterior mean").value == f"{exact.mean:.3f}"
    assert metric(app, "Exact posterior sd").value == f"{exact.sd:.3f}"
    assert not [m for m in app.metric if m.label == "Posterior mean"]
    assert app.slider(key="measurement").value == settings.measurement
    assert [b.label for b in app.button] == ["Run again"]
    assert "mcmc.run(*args)" in app.code[0].value  # the model and its code need no run either


def test_after_stop_the_exact_posterior_stays_and_run_again_gives_a_result(monkeypatch):
    from ui.runs import STOPPED

    app = stopped_page(monkeypatch, measurement="9.5", **FAST)
    assert [e.value for e in app.error] == [STOPPED]
    assert_exact_answer_kept(app, ScaleSettings(measurement=9.5))
    app.button[0].click().run()
    assert not app.error and [b.label for b in app.button] == ["Pin as A"]  # no Stop or Run again left
    expected = exact_posterior(ScaleSettings(measurement=9.5))
    assert abs(float(metric(app, "Posterior mean").value) - expected.mean) < 0.1
    assert "samples" in [t["name"] for t in figures(app)[0]["data"]]


def test_after_the_run_budget_the_exact_posterior_stays_and_run_again_gives_a_result(monkeypatch):
    from ui.runs import over_budget_message

    monkeypatch.setenv("PME_RUN_BUDGET_S", "0.05")
    app = open_page("scale", guess="8.5", **FAST)
    assert [e.value for e in app.error] == [escape(over_budget_message(0.05))]
    assert_exact_answer_kept(app, ScaleSettings(guess=8.5))
    monkeypatch.setenv("PME_RUN_BUDGET_S", "120")
    app.button[0].click().run()
    assert not app.error and [b.label for b in app.button] == ["Pin as A"]  # no Stop or Run again left
    expected = exact_posterior(ScaleSettings(guess=8.5))
    assert f"exact {expected.mean:.3f}" in metric(app, "Posterior mean").delta


def test_every_chart_s_summary_is_on_the_page_for_screen_readers():
    app = open_page("scale")
    shown = screen_reader_texts(app)
    drawn = figures(app)
    assert len(drawn) >= 3  # the posterior, the trace and the autocorrelation
    for figure in drawn:
        summary = summary_of(figure)
        assert summary and html.escape(summary) in shown
    assert "Chart: P(weight | measurement = 14). Histogram of 1,000 draws of weight" in shown
    assert "the exact posterior peaks at weight = 12.6" in shown


def test_the_jargon_is_explained_where_it_first_appears():
    app = open_page("scale", samples="20", warmup="0")
    meanings = expander_text(app, "What these numbers mean")
    for term in SAMPLER_TERMS:
        assert f"**{term}**: {GLOSSARY[term]}" in meanings
    # Twenty draws and no warmup draw the advice, which uses the words before the diagnostics do.
    assert "Don't trust this posterior yet." in texts(app.error)
    assert "**ESS**: " + GLOSSARY["ESS"] in expander_text(app, "What these words mean")
    # The sidebar's controls say the same in their tooltips.
    assert GLOSSARY["warmup"] in app.number_input(key="warmup").help
    assert GLOSSARY["step size"] in app.number_input(key="step_size").help
    assert GLOSSARY["leapfrog steps"] in app.number_input(key="num_steps").help
    assert GLOSSARY["R-hat"] in app.slider(key="chains").help


def test_two_sessions_fresh_at_once_are_computed_together_and_each_shows_its_own_answer():
    """Two sessions move to distinct fresh measurements at the same moment: one batched run,
    each page saying so, each showing the numbers its setting gives alone."""
    import threading

    from ppl_models.engine.mcmc import McmcSettings
    from ppl_models.scale import infer_weight
    from ui import runs
    from ui.run_batches import DEFAULT_WINDOW_S

    runs.BATCHER.window_s = 1.0  # AppTest starts each page slowly; the window must cover both
    try:
        measurements, pages = ("11.3", "15.9"), {}

        def session(value):
            pages[value] = open_page("scale", measurement=value, samples="300", seed="4")

        threads = [threading.Thread(target=session, args=(m,)) for m in measurements]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        runs.BATCHER.window_s = DEFAULT_WINDOW_S
    for value in measurements:
        captions = " ".join(c.value for c in pages[value].caption)
        assert "Computed together with 1 other session's setting in one batched run" in captions
        alone = infer_weight(ScaleSettings(measurement=float(value)), McmcSettings(num_samples=300, seed=4))
        assert metric(pages[value], "Posterior mean").value == f"{alone.mean:.3f}"
