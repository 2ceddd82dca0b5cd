"""The largest allowed MCMC runs stay inside one worker's memory budget.

The pool gives each worker 200 MB, of which an idle worker already holds 120 to 155 MB,
so one job may add about 50 MB. Each run happens in a fresh process (the peak resident
size is per process and never goes down), after a tiny run that pays torch's and Pyro's
one-off costs, as a worker has paid them before its first job.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUND_MB = 40

CHILD = """
import json, resource, sys
import torch
torch.set_num_threads(1)
from ppl_models.mcmc import McmcSettings
from ppl_models.scale import ScaleQuery, infer_weight

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

kernel, samples, warmup, steps, adapt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
infer_weight(ScaleQuery(), McmcSettings(kernel=kernel, num_samples=20, warmup_steps=10))
baseline = peak_mb()
settings = McmcSettings(
    kernel=kernel, num_samples=samples, warmup_steps=warmup, num_steps=steps, adapt_step_size=adapt == "1"
)
run = infer_weight(ScaleQuery(), settings)
assert run.weight_draws.shape == (1, samples)
print(json.dumps(peak_mb() - baseline))
"""


def _peak_growth_mb(*arguments: object) -> float:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_nuts_at_the_sample_cap_adds_less_than_the_bound():
    # Pyro's MCMC.diagnostics() recomputed every site's ESS at the end of each chain and
    # took 78 MB for a moment at 5,000 draws.
    assert _peak_growth_mb("nuts", 5000, 300, 4, 1) < BOUND_MB


def test_hmc_at_the_leapfrog_cap_adds_less_than_the_bound():
    # A whole traced trajectory of 100 unrolled steps held 65 MB.
    assert _peak_growth_mb("hmc", 1000, 100, 100, 0) < BOUND_MB
