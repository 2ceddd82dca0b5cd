"""The largest allowed MCMC runs stay inside one worker's memory budget.

The pool gives each worker 200 MB, of which an idle worker already holds 120 to 155 MB,
so one job may add about 50 MB. Each run happens in a fresh process (the peak resident
size is per process and never goes down), after a tiny run that pays torch's and Pyro's
one-off costs, as a worker has paid them before its first job.
"""

from tests.memory_helpers import run_measured

BOUND_MB = 40

JOB = """
from ppl_models.engine.mcmc import McmcSettings
from ppl_models.scale import ScaleSettings, infer_weight

kernel, samples, warmup, steps, adapt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
infer_weight(ScaleSettings(), McmcSettings(kernel=kernel, num_samples=20, warmup_steps=10))
baseline = peak_mb()
settings = McmcSettings(
    kernel=kernel, num_samples=samples, warmup_steps=warmup, num_steps=steps, adapt_step_size=adapt == "1"
)
run = infer_weight(ScaleSettings(), settings)
assert run.weight_draws.shape == (1, samples)
print(json.dumps(peak_mb() - baseline))
"""


def test_nuts_at_the_sample_cap_adds_less_than_the_bound():
    # Pyro's MCMC.diagnostics() recomputed every site's ESS at the end of each chain and
    # took 78 MB for a moment at 5,000 draws.
    assert run_measured(JOB, "nuts", 5000, 300, 4, 1) < BOUND_MB


def test_hmc_at_the_leapfrog_cap_adds_less_than_the_bound():
    # A whole traced trajectory of 100 unrolled steps held 65 MB.
    assert run_measured(JOB, "hmc", 1000, 100, 100, 0) < BOUND_MB
