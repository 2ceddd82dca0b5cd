"""Fits running at once from several threads equal their solo results exactly.

Streamlit runs each session as a thread of one process, and Pyro's handler stack and
param store are process globals: without the inference guard these runs crash with
"Multiple sample sites named ..." or silently share parameters.
"""

import threading

import numpy as np

from ppl_models.graphs import model_graph
from ppl_models.mcmc import McmcSettings
from ppl_models.scale import ScaleQuery, infer_weight, scale
from ppl_models.svi import SviSettings

JOBS = [
    (ScaleQuery(), McmcSettings(kernel="nuts", num_samples=150, warmup_steps=50, seed=1)),
    (ScaleQuery(measurement=9.0), McmcSettings(kernel="hmc", num_samples=150, warmup_steps=50, seed=2)),
    (ScaleQuery(guess=5.0), SviSettings(num_steps=150, seed=3)),
    (ScaleQuery(noise_sd=2.0), SviSettings(num_steps=150, seed=4, elbo="trace", num_particles=1)),
    (ScaleQuery(prior_sd=3.0), McmcSettings(kernel="nuts", num_samples=100, warmup_steps=50, num_chains=2, seed=5)),
]


def _fingerprint(result):
    if result.svi is not None:
        return np.concatenate([result.svi.losses, result.weight_draws.ravel()])
    return result.weight_draws.ravel()


def test_concurrent_fits_equal_their_solo_results():
    solo = [_fingerprint(infer_weight(q, s)) for q, s in JOBS]
    solo_graph = model_graph(scale, (10.0, 1.0, 0.75), (("measurement", 14.0),))
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(JOBS) + 1)

    def fit(index):
        start.wait()
        try:
            results[index] = _fingerprint(infer_weight(*JOBS[index]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def draw_graphs():
        start.wait()
        for _ in range(5):
            assert model_graph(scale, (10.0, 1.0, 0.75), (("measurement", 14.0),)) == solo_graph

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(JOBS))]
    threads.append(threading.Thread(target=draw_graphs))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    for index, expected in enumerate(solo):
        np.testing.assert_array_equal(results[index], expected)
