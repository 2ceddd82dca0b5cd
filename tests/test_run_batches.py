"""Sessions' calls that arrive together are computed as one batch, each getting its own result."""

import threading
import time

import numpy as np
import pytest

from ppl_models.engine.mcmc import McmcSettings
from ppl_models.engine.runtime.errors import InferenceError, RunCancelled
from ppl_models.engine.runtime.progress import Progress
from ppl_models.engine.runtime.together import Together
from ppl_models.scale import ScaleSettings, infer_weight
from ui.run_batches import Batcher, companions, reset_companions
from ui.run_cache import RunCache


def _direct(function, args, progress):
    return function(*args, progress=progress)


def squares(value, progress=None):
    return value * value


def squares_together(calls, progress=None):
    SEEN.append(len(calls))
    for step in range(STEPS):
        time.sleep(0.05)
        if progress is not None and progress([Progress("sampling", step + 1, 3) for _ in calls]) is False:
            raise RunCancelled("Stopped on request.")
    return [InferenceError("negative") if value < 0 else value * value for (value,) in calls]


SEEN: list[int] = []
STEPS = 8
squares.together = Together(group=lambda value: "all", run=squares_together)


def call_at_once(batcher, values, progress=None):
    """Each value's call in its own thread; ``progress(value)`` gives a call's callback."""
    results = [None] * len(values)

    def one(index, value):
        try:
            reset_companions()
            own = progress(value) if progress is not None else None
            results[index] = (batcher.call(squares, squares.together, (value,), own), companions())
        except BaseException as error:  # noqa: BLE001
            results[index] = (error, companions())

    threads = [threading.Thread(target=one, args=(i, v)) for i, v in enumerate(values)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_calls_arriving_together_are_one_batch_each_with_its_own_result():
    SEEN.clear()
    batcher = Batcher(_direct, window_s=0.2)
    results = call_at_once(batcher, [1, 2, 3, -1, 5])
    assert SEEN == [5] and batcher.batches_run == 1
    assert [r for r, _ in results[:3]] == [1, 4, 9] and results[4][0] == 25
    assert isinstance(results[3][0], InferenceError)
    assert {size for _, size in results} == {5}


def test_a_batch_waits_while_every_slot_is_busy_and_grows_meanwhile():
    SEEN.clear()
    busy = threading.Event()
    busy.set()
    batcher = Batcher(_direct, slots_free=lambda: not busy.is_set(), window_s=0.05)
    threading.Timer(0.4, busy.clear).start()
    first = threading.Thread(target=call_at_once, args=(batcher, [1]))
    first.start()
    time.sleep(0.2)  # past the window, but the slots are busy: this one joins the batch
    call_at_once(batcher, [2, 3])
    first.join()
    assert SEEN == [3]


def test_a_session_that_leaves_does_not_stop_the_others():
    SEEN.clear()
    batcher = Batcher(_direct, window_s=0.1)
    seen_by_stayer = []

    def callbacks(value):
        def leave(report):
            raise RunCancelled("Stopped on request.")

        return leave if value == 4 else seen_by_stayer.append

    outcomes = [r for r, _ in call_at_once(batcher, [4, 6], progress=callbacks)]
    assert isinstance(outcomes[0], RunCancelled) and outcomes[1] == 36
    assert len(seen_by_stayer) >= 2


def test_when_everyone_leaves_the_batch_stops():
    SEEN.clear()
    batcher = Batcher(_direct, window_s=0.05)

    def leave(report):
        raise RunCancelled("Stopped on request.")

    started = time.perf_counter()
    results = call_at_once(batcher, [1, 2], progress=lambda value: leave)
    assert all(isinstance(r, RunCancelled) for r, _ in results)
    time.sleep(0.3)
    # The job saw nobody left at its next report and stopped, well before its 8 steps.
    assert SEEN == [2] and time.perf_counter() - started < STEPS * 0.05 + 0.5


def test_a_failed_batch_tells_every_member():
    def broken_together(calls, progress=None):
        raise RuntimeError("overflow in a tensor")

    def broken(value, progress=None):
        return value

    broken.together = Together(group=lambda value: "all", run=broken_together)
    batcher = Batcher(_direct, window_s=0.05)
    out = []
    threads = [
        threading.Thread(
            target=lambda v=v: out.append(_catch(lambda: batcher.call(broken, broken.together, (v,), None)))
        )
        for v in (1, 2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(out) == 2 and all(isinstance(o, RuntimeError) for o in out)


def _catch(function):
    try:
        return function()
    except BaseException as error:  # noqa: BLE001
        return error


def test_scale_runs_from_several_sessions_share_a_batch_and_equal_their_solo_runs():
    """Through the shared cache, as the pages call it: each session's key gets its own result,
    equal to the setting computed alone, and the entry records the batch's size."""
    cache = RunCache()
    batcher = Batcher(_direct, window_s=0.3)
    settings = McmcSettings(num_samples=200, warmup_steps=40)
    queries = [ScaleSettings(measurement=m) for m in (11.0, 12.5, 15.0)]
    entries = {}

    def session(query):
        spec = infer_weight.together
        entries[query.measurement] = cache.get_or_compute(
            ("scale", query, settings), lambda: batcher.call(infer_weight, spec, (query, settings), None)
        )

    threads = [threading.Thread(target=session, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert batcher.batches_run == 1
    for query in queries:
        entry, from_cache = entries[query.measurement]
        assert not from_cache and entry.batch_size == 3
        alone = infer_weight(query, settings)
        assert np.array_equal(entry.value.weight_draws, alone.weight_draws)


@pytest.mark.parametrize(
    "settings", [McmcSettings(kernel="nuts"), McmcSettings(sampler="pyro"), McmcSettings(device="cuda")]
)
def test_runs_the_batch_cannot_take_are_not_grouped(settings):
    assert infer_weight.together.group(ScaleSettings(), settings) is None
