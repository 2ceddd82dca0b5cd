"""AppTest: the variational-inference page, read back from what it shows."""

import pytest

from ppl_models import vi, vi_exact
from ppl_models.scale import ScaleSettings
from tests.apptest_helpers import figures, metric, open_page, texts

QUERY = dict(guess="3", prior_sd="2.5", noise_sd="1.7", measurement="9.4")


def test_the_metrics_show_the_identity_with_exact_terms():
    app = open_page("vi", **QUERY)
    query = ScaleSettings(guess=3.0, prior_sd=2.5, noise_sd=1.7, measurement=9.4)
    result = vi.fit(query, vi.ViSettings())
    data = vi_exact.Measurements(1, 9.4)
    assert metric(app, "log evidence").value == f"{vi_exact.log_evidence(vi.prior_of(query), data):.3f}"
    assert metric(app, "ELBO").value == f"{result.path.elbo[-1]:.3f}"
    kl = float(metric(app, "KL(q || posterior)").value)
    assert kl == pytest.approx(float(result.path.kl[-1]), abs=1e-4) and kl < 0.01
    assert "The identity, in numbers" in texts(app.markdown)
    elbo = figures(app)[0]
    assert {t["name"] for t in elbo["data"]} == {"ELBO, estimated", "ELBO, exact", "log evidence"}


def test_the_fixed_scale_guide_shows_its_floor():
    app = open_page("vi", guide="fixed_scale", **QUERY)
    query = ScaleSettings(guess=3.0, prior_sd=2.5, noise_sd=1.7, measurement=9.4)
    floor = vi_exact.fixed_scale_floor(vi.prior_of(query), vi_exact.Measurements(1, 9.4), 2.5)
    assert f"{floor:.4f}" in texts(app.info)


def test_the_delta_guide_says_its_objective_is_no_bound():
    app = open_page("vi", guide="delta", noise_sd="0.12", measurement="11")
    assert metric(app, "KL(q || posterior)").value == "infinite"
    assert "not a bound on log p(x)" in texts(app.info) and "above it" in texts(app.info)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"lr": "0"}, "lr=0"),
        ({"lr": "1e9"}, "lr=1e9"),
        ({"particles": "0"}, "particles=0"),
        ({"n": "10000000"}, "n=10000000"),
    ],
)
def test_bad_link_values_get_a_note(query, said):
    app = open_page("vi", **query)
    assert said in texts(app.warning)
    assert metric(app, "log evidence")


def test_a_batch_larger_than_n_is_refused_with_a_reason():
    app = open_page("vi", n="10", batch="20")
    assert "mini-batch" in texts(app.error)
