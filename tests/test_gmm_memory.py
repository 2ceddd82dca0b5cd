"""A mixture fit at the largest allowed setting stays inside one worker's memory budget.

The pool gives each worker 200 MB, of which an idle worker already holds 120 to 155 MB,
so one job may add about 50 MB. The fit runs in a fresh process (the peak resident size
is per process and never goes down), after a tiny warm-up fit that pays torch's and
Pyro's one-off costs, as a worker has paid them before its first job.
"""

import torch

from ppl_models import gmm, gmm_data, gmm_starts
from tests.memory_helpers import run_measured

BOUND_MB = 60

JOB = """
from ppl_models import gmm, gmm_data, gmm_starts
from ppl_models.gmm import GmmPrior, GmmSettings

gmm.fit_map(gmm.LECTURE_DATA, GmmPrior(), GmmSettings(inits=5, steps=3))
baseline = peak_mb()
data = gmm_data.SyntheticData(locs=(-20.0, -5.0, 0.0, 5.0, 20.0), n=gmm_data.MAX_POINTS, seed=0)
peaks = []
for steps in (20, int(sys.argv[1])):
    fit = gmm.fit_map(data, GmmPrior(), GmmSettings(k=gmm.MAX_K, inits=gmm.MAX_INITS, steps=steps))
    assert fit.subsampled and fit.membership.shape == (gmm_data.MAX_POINTS, gmm.MAX_K)
    del fit  # a worker sends its result away before the next job
    peaks.append(peak_mb() - baseline)
print(json.dumps(peaks))
"""


def test_the_largest_fit_adds_less_than_the_bound_and_more_steps_add_almost_nothing():
    few_steps, all_steps = run_measured(JOB, gmm.MAX_STEPS)
    assert few_steps < BOUND_MB
    assert all_steps < BOUND_MB
    # Only the recorded loss and parameter paths grow with the steps: under 1 kB a step.
    assert all_steps - few_steps < 5


def test_scoring_in_slices_gives_the_single_pass_answer():
    torch_data = torch.as_tensor(gmm_data.SyntheticData(n=3000, seed=4).draw(), dtype=torch.float32)
    candidates = gmm_starts.lecture_candidates(torch_data, 3, 400, torch.Generator().manual_seed(1))
    sliced = gmm_starts.score_candidates(torch_data, candidates, gmm.GmmPrior(), 3000)
    whole = gmm.negative_log_joint(
        torch_data, candidates["weights"], candidates["locs"], candidates["scale"], gmm.GmmPrior()
    )
    torch.testing.assert_close(sliced, whole, rtol=1e-5, atol=0)


def test_large_data_picks_k_distinct_points_for_every_initialisation():
    x = torch.arange(200_000, dtype=torch.float32)
    candidates = gmm_starts.lecture_candidates(x, gmm.MAX_K, gmm.MAX_INITS, torch.Generator().manual_seed(0))
    locs = candidates["locs"]
    assert locs.shape == (gmm.MAX_INITS, gmm.MAX_K)
    assert all(len(set(row.tolist())) == gmm.MAX_K for row in locs)
    # Uniform over the points: the picks' mean sits near the middle of 0..199,999.
    assert abs(float(locs.mean()) - 100_000) < 3_000
