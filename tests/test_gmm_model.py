"""The Gaussian mixture: the lecture's MAP answer, recovery on synthetic data, bad data."""

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import TraceEnum_ELBO
from pyro.infer.autoguide import AutoDelta, init_to_value

from ppl_models import gmm, gmm_data, gmm_model, gmm_starts
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.gmm import LECTURE_DATA, GmmPrior, GmmSettings
from ppl_models.gmm_data import SyntheticData


@pytest.fixture(scope="module")
def lecture_fit():
    return gmm.fit_map(LECTURE_DATA, GmmPrior(), GmmSettings())


def test_the_lecture_answer(lecture_fit):
    """Weights 0.375/0.625, locs 0.50/10.98, scale 0.651 (tolerance 0.05), as in the lecture."""
    np.testing.assert_allclose(lecture_fit.weights, [0.375, 0.625], atol=0.05)
    np.testing.assert_allclose(lecture_fit.locs, [0.50, 10.98], atol=0.05)
    assert lecture_fit.scale == pytest.approx(0.65, abs=0.05)
    assert lecture_fit.start_scores.min() == pytest.approx(25.6656, abs=1e-3)  # the lecture printed 25.6656
    assert lecture_fit.svi.losses[-1] < lecture_fit.svi.losses[0]


def test_membership_sums_to_one_and_puts_the_lecture_points_in_the_right_clusters(lecture_fit):
    np.testing.assert_allclose(lecture_fit.membership.sum(axis=1), 1.0, atol=1e-12)
    assert list(lecture_fit.map_assignment) == [0, 0, 1, 1, 1]
    assert list(lecture_fit.membership.argmax(axis=1)) == [0, 0, 1, 1, 1]


def test_gradient_norms_are_recorded_for_every_parameter_and_step(lecture_fit):
    assert set(lecture_fit.svi.grad_norms) == {"AutoDelta.weights", "AutoDelta.scale", "AutoDelta.locs"}
    assert all(norms.shape == (200,) and np.isfinite(norms).all() for norms in lecture_fit.svi.grad_norms.values())


def test_batched_initial_losses_equal_pyros_own_loss():
    """The closed-form score of an initialisation is exactly what TraceEnum_ELBO reports."""
    x = torch.tensor(LECTURE_DATA)
    candidates = gmm_starts.lecture_candidates(x, 2, 5, torch.Generator().manual_seed(3))
    ours = gmm.negative_log_joint(x, candidates["weights"], candidates["locs"], candidates["scale"], GmmPrior())

    def model(data):
        return gmm.mixture(data, 2, 0.5, 2.0, 10.0)

    for index in range(5):
        pyro.clear_param_store()
        start = {name: value[index] for name, value in candidates.items()}
        guide = AutoDelta(
            poutine.block(model, expose=list(gmm_model.GLOBAL_SITES)), init_loc_fn=init_to_value(values=start)
        )
        pyros = TraceEnum_ELBO(max_plate_nesting=1).loss(model, guide, x)
        assert float(ours[index]) == pytest.approx(pyros, rel=1e-5)


@pytest.mark.parametrize("locs, k", [((-6.0, 4.0), 2), ((0.0, 8.0, 20.0), 3)])
def test_recovers_well_separated_true_locations(locs, k):
    fit = gmm.fit_map(SyntheticData(locs=locs, scale=1.0, n=3000, seed=1), GmmPrior(), GmmSettings(k=k, steps=300))
    np.testing.assert_allclose(fit.locs, locs, atol=0.15)
    np.testing.assert_allclose(fit.weights, 1 / k, atol=0.05)
    assert fit.scale == pytest.approx(1.0, abs=0.1)


def test_a_hundred_thousand_points_are_subsampled_and_still_recovered():
    fit = gmm.fit_map(SyntheticData(locs=(-5.0, 5.0), scale=1.0, n=100_000, seed=2), GmmPrior(), GmmSettings(k=2))
    assert fit.subsampled
    np.testing.assert_allclose(fit.locs, [-5.0, 5.0], atol=0.15)


@pytest.mark.parametrize(
    "data, k, message",
    [
        ((), 2, "The data set is empty"),
        ((1.0, float("nan"), 3.0), 2, "Point 2 is nan"),
        ((1.0, float("inf")), 2, "Point 2 is inf"),
        ((4.0,), 1, "A single point cannot be fit"),
        ((1.0, 2.0), 3, "K = 3 components for 2 points"),
        ((7.0, 7.0, 7.0), 2, "All 3 points equal 7"),
    ],
)
def test_bad_data_sets_get_a_clear_message(data, k, message):
    with pytest.raises(gmm_data.DataError, match=message):
        gmm.fit_map(data, GmmPrior(), GmmSettings(k=k))


@pytest.mark.parametrize(
    "text, result_or_message",
    [
        ("0, 1, 10, 11, 12", (0.0, 1.0, 10.0, 11.0, 12.0)),
        ("1 2\n3;4", (1.0, 2.0, 3.0, 4.0)),
        ("1, two, 3", "Entry 2, 'two', is not a number."),
    ],
)
def test_parse_numbers(text, result_or_message):
    if isinstance(result_or_message, tuple):
        assert gmm_data.parse_numbers(text) == result_or_message
    else:
        with pytest.raises(gmm_data.DataError, match=result_or_message):
            gmm_data.parse_numbers(text)


@pytest.mark.parametrize(
    "content, result_or_message",
    [
        (b"x\n0\n1\n10\n", (0.0, 1.0, 10.0)),
        (b"0\n1.5\n", (0.0, 1.5)),
        (b"a,b\n1,2\n", "The CSV has 2 columns; upload one column of numbers."),
        (b"x\n1\nhello\n", "Row 3 holds 'hello', which is not a number."),
        (b"", "The CSV file is empty."),
        (b"\xff\xfe\x00", "looks like UTF-16 text but cannot be read"),
    ],
)
def test_parse_csv(content, result_or_message):
    if isinstance(result_or_message, tuple):
        assert gmm_data.parse_csv(content) == result_or_message
    else:
        with pytest.raises(gmm_data.DataError, match=result_or_message):
            gmm_data.parse_csv(content)


def test_nuts_on_the_collapsed_model_samples_every_global_site():
    result = gmm.sample_posterior(
        LECTURE_DATA, GmmPrior(), 2, McmcSettings(kernel="nuts", num_samples=30, warmup_steps=30, max_tree_depth=5)
    )
    assert result.samples["locs"].shape == (1, 30, 2)
    np.testing.assert_allclose(result.samples["weights"].sum(-1), 1.0, atol=1e-5)
    assert (result.samples["scale"] > 0).all()


def test_nuts_refuses_data_sets_too_large_for_the_server():
    with pytest.raises(gmm_data.DataError, match="limited to 2,000 points"):
        gmm.sample_posterior(SyntheticData(n=5000), GmmPrior(), 2, McmcSettings(kernel="nuts"))


def test_generated_code_runs_and_reaches_the_lecture_answer():
    code = gmm.fit_map_code(LECTURE_DATA, GmmPrior(), GmmSettings(inits=10)).replace("print(", "_ = (")
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102
    weights = sorted(namespace["guide"](namespace["data"])["weights"].detach().tolist())
    assert weights == pytest.approx([0.375, 0.625], abs=0.05)


def test_generated_code_for_a_long_data_set_is_valid_python():
    compile(gmm.fit_map_code(tuple(float(v) for v in range(30)), GmmPrior(), GmmSettings()), "generated", "exec")
