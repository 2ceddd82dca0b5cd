"""The shapes explorer against what Pyro and torch produce directly."""

from contextlib import ExitStack

import pyro
import pyro.distributions as dist
import pytest
import torch

from ppl_models import shapes, shapes_settings
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.shapes import ShapeError
from ppl_models.shapes_settings import PlateSpec, ShapesSettings


def pyro_directly(d, sample_shape, plates):
    """The same shapes, computed without the explorer: the reference."""
    value = d.sample(torch.Size(sample_shape))
    with ExitStack() as stack:
        for plate in plates:
            stack.enter_context(pyro.plate(plate.name, plate.size, dim=plate.dim))
        trace = pyro.poutine.trace(lambda: pyro.sample("x", d)).get_trace()
    trace.compute_log_prob()
    site = trace.nodes["x"]
    return (
        tuple(d.batch_shape),
        tuple(d.event_shape),
        tuple(value.shape),
        tuple(d.log_prob(value).shape),
        tuple(site["value"].shape),
        tuple(site["log_prob"].shape),
    )


CASES = [
    (ShapesSettings("Normal", (3,)), dist.Normal(torch.zeros(3), torch.ones(3))),
    (
        ShapesSettings("Normal", (3,), to_event=1, sample_shape=(10,)),
        dist.Normal(torch.zeros(3), torch.ones(3)).to_event(1),
    ),
    (ShapesSettings("Bernoulli", (2, 3), expand=(4, 2, 3)), dist.Bernoulli(torch.full((2, 3), 0.5)).expand([4, 2, 3])),
    (ShapesSettings("Categorical", (4, 6)), dist.Categorical(torch.full((4, 6), 1 / 6))),
    (ShapesSettings("Beta", (5,), sample_shape=(2, 2)), dist.Beta(torch.full((5,), 2.0), torch.full((5,), 2.0))),
    (
        ShapesSettings("Poisson", (), expand=(7,), plates=(PlateSpec("x_axis", 7),)),
        dist.Poisson(torch.tensor(3.0)).expand([7]),
    ),
    (ShapesSettings("Dirichlet", (2, 3)), dist.Dirichlet(torch.ones(2, 3))),
    (
        ShapesSettings("MultivariateNormal", (3,), expand=(5,)),
        dist.MultivariateNormal(torch.zeros(3), torch.eye(3)).expand([5]),
    ),
    (
        ShapesSettings("MultivariateNormal", (3,), plates=(PlateSpec("x_axis", 5),)),
        dist.MultivariateNormal(torch.zeros(3), torch.eye(3)),
    ),
    (
        ShapesSettings("Normal", (), plates=(PlateSpec("x_axis", 320, -1), PlateSpec("y_axis", 200, -2))),
        dist.Normal(torch.tensor(0.0), torch.tensor(1.0)),
    ),
    (
        ShapesSettings("Normal", (4, 1), plates=(PlateSpec("x_axis", 6), PlateSpec("y_axis", 4))),
        dist.Normal(torch.zeros(4, 1), torch.ones(4, 1)),
    ),
    (ShapesSettings("Normal", (), plates=(PlateSpec("a", 2, -3),)), dist.Normal(torch.tensor(0.0), torch.tensor(1.0))),
]


@pytest.mark.parametrize("spec, reference", CASES, ids=[c[0].family + str(i) for i, c in enumerate(CASES)])
def test_shapes_equal_pyros_own(spec, reference):
    report = shapes.explore(spec)
    expected = pyro_directly(reference, spec.sample_shape, spec.plates)
    assert (
        report.batch_shape,
        report.event_shape,
        report.value_shape,
        report.log_prob_shape,
        report.site_value_shape,
        report.site_log_prob_shape,
    ) == expected


def test_the_lecture_presets():
    expand = shapes.explore(shapes_settings.PRESETS["mvn_expand"])
    assert (expand.batch_shape, expand.event_shape, expand.value_shape, expand.log_prob_shape) == (
        (5,),
        (3,),
        (5, 3),
        (5,),
    )
    plate = shapes.explore(shapes_settings.PRESETS["mvn_plate"])
    assert plate.site_value_shape == (5, 3) and plate.plate_dims == (("x_axis", 5, -1),)
    nested = shapes.explore(shapes_settings.PRESETS["nested_plates"])
    assert nested.site_value_shape == (200, 320)
    assert nested.plate_dims == (("x_axis", 320, -1), ("y_axis", 200, -2))
    assert "x_axis dist" in nested.trace_table


@pytest.mark.parametrize(
    "spec, pyro_says, fix",
    [
        (
            ShapesSettings("Normal", (5,), plates=(PlateSpec("x_axis", 3),)),
            "Shape mismatch inside plate('x_axis')",
            "Make the plate's size equal the batch dim",
        ),
        (
            ShapesSettings("Normal", (), plates=(PlateSpec("a", 3, -1), PlateSpec("b", 4, -1))),
            "collide at dim=-1",
            "Give each plate its own dim",
        ),
        (ShapesSettings("Normal", (3,), to_event=2), "reinterpreted_batch_ndims", "Use .to_event(1) at most"),
        (
            ShapesSettings("Normal", (3,), expand=(4, 2)),
            "expanded size of the tensor",
            "End the expand shape with (3,)",
        ),
        (ShapesSettings("MultivariateNormal", ()), "needs a parameter with at least one dim", "at least one size"),
    ],
)
def test_errors_show_pyros_message_an_explanation_and_a_fix(spec, pyro_says, fix):
    with pytest.raises(ShapeError) as caught:
        shapes.explore(spec)
    assert pyro_says in caught.value.pyro_message
    assert fix in caught.value.fix and caught.value.explanation


def test_generated_code_reproduces_the_shapes():
    spec = ShapesSettings("MultivariateNormal", (3,), expand=(5,), plates=(PlateSpec("x_axis", 5),))
    namespace: dict = {}
    exec(shapes.explore_code(spec).replace("print(", "_ = ("), namespace)  # noqa: S102
    assert tuple(namespace["x"].shape) == (5, 3)
    assert tuple(namespace["trace"].nodes["x"]["value"].shape) == (5, 3)


@pytest.mark.parametrize("text, message", [("5, x", "'x' is not a whole number"), ("0", "between 1 and 1000")])
def test_bad_shapes_are_refused(text, message):
    with pytest.raises(InferenceError, match=message):
        shapes_settings.parse_shape(text)


def test_huge_samples_are_refused():
    with pytest.raises(InferenceError, match="keep it under"):
        shapes.explore(ShapesSettings("Normal", (1000,), sample_shape=(1000, 10)))


def test_a_shape_error_survives_the_trip_back_from_a_worker():
    import pickle

    error = ShapeError("Pyro's words", "What it means.", "What to change.")
    back = pickle.loads(pickle.dumps(error))
    assert (back.pyro_message, back.explanation, back.fix, str(back)) == (
        "Pyro's words",
        "What it means.",
        "What to change.",
        str(error),
    )
