"""AppTest: the inside-HMC page, read back from what it shows."""

import math
from urllib.parse import parse_qsl

import numpy as np
import pytest

from ppl_models.scale import ScaleSettings, exact_posterior
from tests.apptest_helpers import array, assert_tables_use_the_decimal_rule, figures, metric, open_page, texts, trace
from tests.test_hmc import numpy_leapfrog

# A setting no page or issue names: its posterior sd is 0.891, so the limit is 1.782.
QUERY = dict(guess="6.5", prior_sd="1.3", noise_sd="1.22", measurement="9.1")
SETTING = ScaleSettings(guess=6.5, prior_sd=1.3, noise_sd=1.22, measurement=9.1)


@pytest.mark.parametrize(
    ("step", "steps", "start", "momentum"),
    [("0.37", "11", "4.2", "0.8"), ("1.1", "3", "12", "-1.9"), ("1.7", "25", "8", "2.2"), ("1.9", "40", "7.5", "0.3")],
)
def test_the_metrics_are_an_independent_leapfrog_s(step, steps, start, momentum):
    app = open_page("hmc", **QUERY, step_size=step, num_steps=steps, start=start, momentum=momentum)
    _, _, error = numpy_leapfrog(SETTING, float(start), float(momentum), float(step), int(steps))
    shown = metric(app, "Energy error").value
    if abs(error) < 1e250:
        assert float(shown) == pytest.approx(error, rel=1e-4, abs=1e-9)
    acceptance = min(1.0, math.exp(-error)) if error > -700 else 1.0
    shown_acceptance = metric(app, "Acceptance probability").value
    if acceptance < 0.001:
        assert shown_acceptance == "< 0.001"
    else:
        assert float(shown_acceptance) == pytest.approx(acceptance, abs=0.0005)
    limit = 2 * exact_posterior(SETTING).sd
    assert metric(app, "Stability limit 2s").value == f"{limit:.3f}"
    said = texts(app.success) + texts(app.error)
    if float(step) < limit:
        assert "**Stable.**" in said and "grows without bound" not in said
    else:
        assert "**Unstable.**" in said and "grows without bound" in said
    divergent = not abs(error) <= 1000
    assert ("a divergence" if divergent else "not a divergence") in texts(app.markdown)


def test_the_lecture_s_setting_returns_near_its_start_and_links_to_the_scale_page():
    app = open_page("hmc")
    assert metric(app, "Trajectory length").value == "3.600"
    assert metric(app, "Posterior's period 2πs").value == "3.770"
    warning = texts(app.warning)
    assert "Every trajectory returns near its start" in warning and "0.95 of the posterior's period" in warning
    (link,) = [element.proto for element in app.get("page_link") if element.proto.page == "scale"]
    # Followed, the link shows Pyro's adapted HMC at this length, and the scale page's warning about it.
    scale_page = open_page("scale", **dict(parse_qsl(link.query_string)))
    assert "anti-correlated" in texts(scale_page.error)


def test_a_setting_without_resonance_says_so():
    # 0.2 x 7 = 1.4 is 0.37 of the period 3.77: neither back at the start nor at its mirror.
    app = open_page("hmc", step_size="0.2", num_steps="7")
    assert "**No resonance.**" in texts(app.info)


def test_stepping_moves_the_particle_along_the_path():
    app = open_page("hmc", **QUERY, step_size="0.5", num_steps="6", start="5", momentum="1.5")
    qs, ps, _ = numpy_leapfrog(SETTING, 5.0, 1.5, 0.5, 6)
    phase = figures(app)[0]
    assert array(trace(phase, "leapfrog path")["x"]) == pytest.approx(qs, rel=1e-9)
    assert array(trace(phase, "step 6")["x"]) == pytest.approx([qs[6]], rel=1e-9)
    slider = next(s for s in app.slider if s.label == "Leapfrog step shown")
    slider.set_value(2).run()
    phase, well, energy = figures(app)[:3]
    assert array(trace(phase, "leapfrog path")["x"]) == pytest.approx(qs[:3], rel=1e-9)
    assert array(trace(phase, "step 2")["y"]) == pytest.approx([ps[2]], rel=1e-9)
    assert array(trace(well, "particle at step 2")["x"]) == pytest.approx([qs[2]], rel=1e-9)
    assert array(trace(energy, "step 2")["x"]) == [2]
    next(b for b in app.button if b.label == "Play the trajectory").click().run()
    assert not app.exception
    assert array(trace(figures(app)[0], "step 2")["x"]) == pytest.approx([qs[2]], rel=1e-9)


def test_the_chain_and_the_tree_are_shown_against_the_exact_posterior():
    app = open_page("hmc", step_size="0.3", num_steps="5", trajectories="400")
    exact = exact_posterior(ScaleSettings())
    assert metric(app, "Chain mean").delta == f"exact {exact.mean:.3f}"
    assert metric(app, "Chain sd").delta == f"exact {exact.sd:.3f}"
    histogram = next(f for f in figures(app) if f["layout"]["title"]["text"] == "The chain's draws")
    assert len(array(trace(histogram, "samples")["x"])) == 400
    assert abs(float(metric(app, "Chain mean").value) - exact.mean) < 0.2
    assert any("The tree stopped after" in text for text in (m.value for m in app.markdown))
    assert assert_tables_use_the_decimal_rule(app) >= 1


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"step_size": "0"}, "step_size=0"),
        ({"step_size": "-1"}, "step_size=-1"),
        ({"num_steps": "100000"}, "num_steps=100000"),
        ({"start": "nan"}, "start=nan"),
        ({"momentum": "inf"}, "momentum=inf"),
        ({"trajectories": "0"}, "trajectories=0"),
    ],
)
def test_bad_link_values_get_a_note_and_the_page_still_works(query, said):
    app = open_page("hmc", **query)
    assert said in texts(app.warning)
    assert metric(app, "Energy error").value


def test_an_empty_momentum_box_says_what_empty_means():
    app = open_page("hmc", momentum="abc")
    assert "leaving it empty: drawn with the seed" in texts(app.warning)
    assert "was drawn from Normal(0, 1) with seed 0" in texts(app.caption)


def test_a_chain_too_big_for_the_server_says_so_and_the_trajectory_stays():
    app = open_page("hmc", num_steps="1000", trajectories="2000")
    assert "one page may take 20,000" in texts(app.warning)
    assert metric(app, "Energy error").value
    assert np.isfinite(float(metric(app, "Energy error").value))
