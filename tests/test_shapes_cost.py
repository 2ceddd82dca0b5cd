"""The shapes page's cost bound against what explore really takes, measured per process.

Each setting runs in a child forked from a fresh interpreter (torch already imported),
after a tiny setting of the same family has loaded whatever torch and Pyro load lazily. The
child resets its peak resident set (``/proc/self/clear_refs``), runs ``explore`` and
reports the peak's growth: what the server or a worker would really pay.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ppl_models import shapes, shapes_cost, shapes_settings
from ppl_models.engine.runtime.errors import InferenceError
from ppl_models.shapes_settings import PlateSpec, ShapesSettings

MB = 1_000_000
ROOT = Path(__file__).resolve().parent.parent


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _warm(family: str) -> None:
    dependent = shapes_settings.FAMILIES[family][1]
    shapes.explore(
        ShapesSettings(family, (2, 2) if dependent else (2,), sample_shape=(2,), plates=(PlateSpec("a", 2),))
    )


def _child(spec: ShapesSettings, write) -> None:
    _warm(spec.family)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident set
    before = _status_bytes("VmRSS")
    started = time.perf_counter()
    error = ""
    try:
        shapes.explore(spec)
    except InferenceError as refused:
        error = str(refused)
    seconds = time.perf_counter() - started
    write(json.dumps({"growth": _status_bytes("VmHWM") - before, "seconds": seconds, "error": error}))


def measure(spec: ShapesSettings) -> dict:
    """Peak resident-set growth (bytes) and seconds of ``explore(spec)`` in a fresh child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, write one line, leave without running any cleanup
        code = 1
        try:
            os.close(read)
            with os.fdopen(write, "w") as out:
                _child(spec, out.write)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as result:
        line = result.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and line, f"the child measuring {spec} failed"
    return json.loads(line)


# Every family, big batches and dimensions, big expands, sample shapes, nested plates of
# big sizes and to_event; each of them is allowed, several close to the bounds.
GRID = [
    ShapesSettings("Normal", (500, 500)),
    ShapesSettings("Normal", (), expand=(300, 300), sample_shape=(5,)),
    ShapesSettings("Normal", (100,), to_event=1, plates=(PlateSpec("a", 50), PlateSpec("b", 50))),
    ShapesSettings("Normal", (), plates=(PlateSpec("a", 100, -1), PlateSpec("b", 100, -2), PlateSpec("c", 100, -3))),
    ShapesSettings("Bernoulli", (), plates=(PlateSpec("a", 1000, -1), PlateSpec("b", 1000, -2))),
    ShapesSettings("Categorical", (1000, 1000)),
    ShapesSettings("Categorical", (1, 1000), expand=(1000,), plates=(PlateSpec("a", 1000),)),
    ShapesSettings("Categorical", (10, 1000), sample_shape=(1000,)),
    ShapesSettings("Beta", (), sample_shape=(1000, 700)),
    ShapesSettings("Beta", (300, 300), to_event=2, plates=(PlateSpec("a", 3),)),
    ShapesSettings("Poisson", (), plates=(PlateSpec("a", 1000, -1), PlateSpec("b", 1000, -2))),
    ShapesSettings("Dirichlet", (500, 500)),
    ShapesSettings("Dirichlet", (1000,), expand=(400,), sample_shape=(2,)),
    ShapesSettings("Dirichlet", (1, 1000), plates=(PlateSpec("a", 1000, -2),)),
    ShapesSettings("MultivariateNormal", (1000,)),
    ShapesSettings("MultivariateNormal", (1, 1000)),
    ShapesSettings("MultivariateNormal", (1000,), plates=(PlateSpec("a", 200),)),
    ShapesSettings("MultivariateNormal", (150, 100)),
    ShapesSettings("MultivariateNormal", (1000, 35), to_event=1),
    ShapesSettings("MultivariateNormal", (300,), expand=(20, 50), plates=(PlateSpec("a", 50), PlateSpec("b", 20))),
]


def test_every_grid_setting_is_allowed_and_close_to_the_bounds():
    costs = [shapes_cost.estimate_cost(spec) for spec in GRID]
    assert all(cost.bytes <= shapes_cost.MAX_BYTES and cost.operations <= shapes_cost.MAX_OPERATIONS for cost in costs)
    # The grid tests the estimate where it matters: near the bound, not only far below it.
    assert sum(cost.bytes > shapes_cost.MAX_BYTES / 4 for cost in costs) >= len(GRID) // 2


@pytest.fixture(scope="module")
def measured_grid() -> list[dict]:
    """Every grid setting measured by children of one fresh interpreter.

    Forked from the test process, a child would inherit whatever the allocator kept from
    every test before it, and the figures would change with the order the suite ran in.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(ROOT)
    script = (
        "import json\nfrom tests.test_shapes_cost import GRID, measure\n"
        "print(json.dumps([measure(spec) for spec in GRID]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("index", range(len(GRID)), ids=[f"{s.family}-{i}" for i, s in enumerate(GRID)])
def test_the_estimate_bounds_the_measured_memory(index, measured_grid):
    measured = measured_grid[index]
    assert measured["error"] == ""
    assert shapes_cost.estimate_cost(GRID[index]).bytes >= measured["growth"]


if __name__ == "__main__":  # the figures for the report: python -m tests.test_shapes_cost [spec ...]
    specs = [eval(arg, vars(shapes_settings)) for arg in sys.argv[1:]] or GRID  # noqa: S307 - the developer's own input
    for spec in specs:
        cost = shapes_cost.estimate_cost(spec)
        got = measure(spec)
        print(
            f"{cost.bytes / MB:9.1f} MB est {got['growth'] / MB:9.1f} MB measured "
            f"{cost.operations / 1e9:7.3f} Gop {got['seconds']:6.2f} s  {spec}  {got['error'][:60]}"
        )


ISSUE_LINK = ShapesSettings("MultivariateNormal", (1000, 1000))
ISSUE_MESSAGE = (
    "A batch of 1,000 MultivariateNormal covariances of 1,000 x 1,000 would need about 28 GB of memory; "
    "this server allows 50 MB a shape. Reduce the batch (1,000) or the dimension (1,000): "
    "e.g. a parameter shape of 1, 1000 or 1000, 39."
)


def test_the_issues_link_is_refused_with_what_to_reduce():
    with pytest.raises(InferenceError) as refused:
        shapes.explore(ISSUE_LINK)
    assert str(refused.value) == ISSUE_MESSAGE


def test_the_suggested_settings_fit():
    for example in [(1, 1000), (1000, 39)]:
        shapes_cost.check(ShapesSettings("MultivariateNormal", example))
    for just_over in [(2, 1000), (1000, 40)]:
        with pytest.raises(InferenceError, match="would need about"):
            shapes_cost.check(ShapesSettings("MultivariateNormal", just_over))


# Just over a bound, each in its own way: each must be refused before any tensor exists.
JUST_OVER = [
    (
        ShapesSettings("MultivariateNormal", (2, 1000)),
        "A batch of 2 MultivariateNormal covariances of 1,000 x 1,000 would need about 64 MB of memory",
    ),
    (ShapesSettings("MultivariateNormal", (1000,), plates=(PlateSpec("a", 210),)), "1.0 billion arithmetic operations"),
    (
        ShapesSettings("Categorical", (1000, 1000), plates=(PlateSpec("a", 1000, -2),)),
        "The site inside the plates (1,000,000 draws of Categorical) would need about 16 GB of memory",
    ),
    (ShapesSettings("Normal", (), expand=(750, 750)), "(562,500 draws of Normal) would need about 54 MB of memory"),
    (ShapesSettings("Normal", (1000, 1000, 1000)), "That would draw 1,000,000,000 numbers"),
    (ShapesSettings("Beta", (), sample_shape=(1000, 1000)), "d.sample with sample_shape (1000, 1000)"),
]


@pytest.mark.parametrize("spec, message", JUST_OVER, ids=[s.family for s, _ in JUST_OVER])
def test_a_setting_just_over_the_bound_is_refused_before_allocating(spec, message):
    measured = measure(spec)
    assert message in measured["error"]
    # The child's peak resident set does not move: nothing was built (a tensor of the
    # smallest of these settings would be tens of megabytes).
    assert measured["growth"] < 2 * MB


@pytest.mark.parametrize("preset", sorted(shapes_settings.PRESETS))
def test_the_lecture_presets_are_far_inside_the_bounds(preset):
    cost = shapes_cost.estimate_cost(shapes_settings.PRESETS[preset])
    assert cost.bytes < shapes_cost.MAX_BYTES / 5 and cost.operations < shapes_cost.MAX_OPERATIONS / 20


def test_aligned_plates_count_once():
    # A plate on a batch dim of its own size adds no numbers: 1,000 draws, not 1,000,000.
    spec = ShapesSettings("Poisson", (1000,), plates=(PlateSpec("a", 1000),))
    assert shapes_cost.numbers_drawn(spec) == 1000
    assert shapes.explore(spec).site_value_shape == (1000,)


@pytest.mark.parametrize("name", ["a b", "x", "1st", "", "`x`", "[a](http://e)", "a" * 33])
def test_plate_names_must_be_short_identifiers(name):
    with pytest.raises(InferenceError, match="must be a short identifier"):
        shapes_cost.check(ShapesSettings("Normal", (), plates=(PlateSpec(name, 2),)))


def test_explore_reports_its_progress_at_the_start_and_the_end():
    seen = []
    shapes.explore(shapes_settings.PRESETS["mvn_plate"], progress=seen.append)
    assert [(p.stage, p.done, p.total) for p in seen] == [("building", 0, 2), ("tracing", 1, 2), ("tracing", 2, 2)]
