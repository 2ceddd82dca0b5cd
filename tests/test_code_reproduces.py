"""Each page's "Pyro code" tab, run as a plain script in a fresh interpreter, prints the page's numbers.

The script is the code generator's text exactly as the page shows it; nothing of the app is
importable from where it runs, so it cannot lean on the app's modules.
"""

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from ppl_models import causal, gmm, hmc, open_world, scale, shapes, shapes_settings, vi, weather
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.svi import SviSettings

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def run_script(code: str, tmp_path) -> str:
    script = tmp_path / "page_code.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env={"PATH": ""}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def numbers_after(label: str, printed: str) -> list[float]:
    line = next(line for line in printed.splitlines() if line.startswith(label))
    return [float(v) for v in re.findall(NUMBER, line[len(label) :])]


def test_the_weather_code_prints_the_page_s_first_draws_and_estimates(tmp_path):
    params, draws, seed = weather.WeatherSettings(), 10_000, 3
    printed = run_script(weather.simulate_code(params, draws, seed), tmp_path)
    page = weather.simulate(params, draws, seed)
    rows = printed.splitlines()[:8]
    for row, c, t, s in zip(rows, *(page.samples[name][:8] for name in ("cloudy", "temp", "ice_cream")), strict=True):
        assert row == str(("cloudy" if c == 1 else "sunny", round(float(t), 2))) + f" {round(float(s), 2)}"
    shown = weather.estimates(params, page.samples["cloudy"], page.samples["temp"], page.samples["ice_cream"])
    for estimate in shown:
        assert numbers_after(f"{estimate.label} =", printed) == [round(estimate.estimate, 3)]


@pytest.mark.parametrize(
    "settings",
    [
        McmcSettings(kernel="hmc", num_samples=400, seed=2, sampler="pyro"),
        McmcSettings(kernel="nuts", num_samples=400, seed=2),
        SviSettings(num_steps=300, seed=2),
    ],
    ids=["hmc-pyro", "nuts", "svi"],
)
def test_the_scale_code_prints_the_page_s_posterior(tmp_path, settings):
    query = scale.ScaleSettings(measurement=12.5)
    printed = run_script(scale.infer_weight_code(query, settings), tmp_path)
    mean, sd = numbers_after("posterior mean", printed.replace(" sd ", " "))
    page = scale.infer_weight(query, settings)
    # The page compiles HMC's leapfrog steps: the same draws up to float rounding.
    assert mean == pytest.approx(page.mean, abs=1e-4) and sd == pytest.approx(page.sd, abs=1e-4)


@pytest.mark.parametrize("seed", [2, 5])
def test_the_scale_code_agrees_with_the_batched_page_within_monte_carlo_error(tmp_path, seed):
    """The page's default sampler draws from its own streams, so the script (Pyro's HMC class)
    reproduces its numbers in distribution: the two means within 4 standard errors of their
    difference (each run's Monte Carlo error, from the page's ESS), the sds within 25%."""
    query, settings = scale.ScaleSettings(measurement=12.5), McmcSettings(kernel="hmc", num_samples=1000, seed=seed)
    code = scale.infer_weight_code(query, settings)
    assert "batched HMC" in code
    mean, sd = numbers_after("posterior mean", run_script(code, tmp_path).replace(" sd ", " "))
    page = scale.infer_weight(query, settings)
    mcse = page.mcmc.summaries["weight"].mcse
    assert abs(mean - page.mean) < 4 * math.sqrt(2) * mcse
    assert sd == pytest.approx(page.sd, rel=0.25)


@pytest.mark.parametrize("start", ["lecture", "spread"])
def test_the_mixture_code_prints_the_page_s_fit(tmp_path, start):
    data, prior, settings = (0.0, 1.0, 10.0, 11.0, 12.0, 30.0, 31.0), gmm.GmmPrior(), gmm.GmmSettings(k=3, init=start)
    printed = run_script(gmm.fit_map_code(data, prior, settings), tmp_path)
    page = gmm.fit_map(data, prior, settings)
    locs = re.search(r"'locs': tensor\(\[([^\]]*)\]", printed).group(1)
    weights = re.search(r"'weights': tensor\(\[([^\]]*)\]", printed).group(1)
    order = np.argsort([float(v) for v in locs.split(",")])
    np.testing.assert_allclose(np.array([float(v) for v in locs.split(",")])[order], page.locs, atol=0.05)
    np.testing.assert_allclose(np.array([float(v) for v in weights.split(",")])[order], page.weights, atol=0.01)


@pytest.mark.parametrize("preset", sorted(shapes_settings.PRESETS))
def test_the_shapes_code_prints_the_page_s_shapes(tmp_path, preset):
    spec = shapes_settings.PRESETS[preset]
    printed = run_script(shapes.explore_code(spec), tmp_path)
    report = shapes.explore(spec)
    size = "torch.Size({})".format
    assert f"batch_shape: {size(list(report.batch_shape))} event_shape: {size(list(report.event_shape))}" in printed
    assert f"x shape: {size(list(report.value_shape))} log_prob shape: {size(list(report.log_prob_shape))}" in printed
    if report.plate_dims:
        shown = "Trace Shapes:" + printed.split("Trace Shapes:", 1)[1]
        assert [line.rstrip() for line in shown.strip().splitlines()] == [
            line.rstrip() for line in report.trace_table.strip().splitlines()
        ]


@pytest.mark.parametrize(
    "question",
    [
        causal.CausalSettings(),
        causal.CausalSettings(temp=60.0, do_weather="cloudy", obs_weather="unknown", cf_temp=70.0),
    ],
)
def test_the_causal_code_prints_the_page_s_four_answers(tmp_path, question):
    params, draws, seed = weather.WeatherSettings(), 5_000, 4
    printed = run_script(causal.answer_code(params, question, draws, seed), tmp_path)
    page = causal.answer(params, question, draws, seed)
    shown = [float(line.rsplit("=", 1)[1]) for line in printed.splitlines() if line.startswith("E[sales")]
    expected = [page.conditioned, page.intervened, page.weather_intervened, page.counterfactual]
    assert shown == [round(answer.mean, 2) for answer in expected]


@pytest.mark.parametrize(
    "settings",
    [
        open_world.OpenWorldSettings(rate=6.5, end=-2.4),
        open_world.OpenWorldSettings(model="branch", p=0.35, end=0.8),
    ],
    ids=["walk", "branch"],
)
def test_the_open_world_code_prints_the_page_s_answers(tmp_path, settings):
    draws, seed = 8_000, 5
    printed = run_script(open_world.explore_code(settings, draws, seed), tmp_path)
    page = open_world.explore(settings, draws, seed)
    if settings.model == "walk":
        posterior = page.walk_posterior
        assert f"E[X | end = {settings.end:g}] = {round(posterior.mean.value, 3)}" in printed
        assert f"effective sample size = {round(posterior.ess)}" in printed
        for k, share in enumerate(posterior.estimate):
            if share >= 0.001:
                assert f"P(X = {k} | end) = {share:.3f}" in printed
    else:
        answers = page.branch.answers
        assert f"P(X = 1 | a Y was made, Y = y) = {round(answers['Y was made, = y'].value, 3)}" in printed
        assert f"P(X = 1 | no Y was made) = {round(answers['no Y was made'].value, 3)}" in printed
        assert f"P(X = 1 | Y = y, its existence ignored) = {round(answers['Y only'].value, 3)}" in printed


@pytest.mark.parametrize(
    "settings",
    [
        vi.ViSettings(steps=300),
        vi.ViSettings(guide="fixed_scale", optim="sgd", schedule="constant", lr=0.05, steps=200, particles=1),
        vi.ViSettings(guide="delta", steps=200),
        vi.ViSettings(n=500, batch=50, steps=200, seed=7),
    ],
    ids=["normal", "fixed_scale_sgd", "delta", "mini_batches"],
)
def test_the_vi_code_prints_the_page_s_guide_and_exact_terms(tmp_path, settings):
    query = scale.ScaleSettings(guess=8.0, prior_sd=1.5, noise_sd=0.9, measurement=11.3)
    printed = run_script(vi.fit_code(query, settings), tmp_path)
    page = vi.fit(query, settings)
    scale_value = float(page.path.scale[-1]) if page.path.scale is not None else 0.0
    assert f"loc = {round(float(page.path.loc[-1]), 4)}  scale = {round(scale_value, 4)}" in printed
    assert f"log evidence = {round(page.log_evidence, 3)}" in printed
    if settings.guide == "delta":
        assert f"log p(x, weight) at the MAP = {round(float(page.path.elbo[-1]), 3)}" in printed
    else:
        assert f"ELBO = {round(float(page.path.elbo[-1]), 3)}" in printed
        assert f"KL(q || posterior) = {round(float(page.path.kl[-1]), 4)}" in printed


@pytest.mark.parametrize(
    "settings",
    [
        hmc.HmcSettings(),
        hmc.HmcSettings(step_size=0.45, num_steps=9, start=7.5, momentum=-1.25, trajectories=60, seed=6),
        hmc.HmcSettings(step_size=1.5, num_steps=30, trajectories=10, seed=2),
    ],
    ids=["lecture", "given-momentum", "unstable"],
)
def test_the_hmc_code_prints_the_page_s_trajectory_chain_and_tree(tmp_path, settings):
    query = scale.ScaleSettings(guess=8.0, prior_sd=1.5, noise_sd=0.9, measurement=12.0)
    printed = run_script(hmc.explore_code(query, settings), tmp_path)
    page = hmc.explore(query, settings)
    assert numbers_after("energy error", printed) == [pytest.approx(page.trajectory.energy_error, rel=1e-12)]
    assert numbers_after("acceptance probability", printed) == [pytest.approx(page.trajectory.acceptance, abs=1e-12)]
    mean, sd, rate = numbers_after("chain mean", printed.replace(" sd ", " ").replace(" acceptance rate ", " "))
    assert (mean, sd, rate) == (
        pytest.approx(page.chain.summary.mean, rel=1e-12),
        pytest.approx(page.chain.summary.sd, rel=1e-9, abs=1e-12),
        pytest.approx(page.chain.acceptance_rate),
    )
    assert numbers_after("NUTS draw", printed) == [pytest.approx(page.tree.proposal, rel=1e-12)]
