"""Peak memory of one job in a fresh process, as a worker would run it.

The peak resident size is per process and never goes down, so each measurement runs its
job in a fresh interpreter, after a small warm-up job that pays torch's and Pyro's
one-off costs, as a worker has paid them before its first job.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The child's preamble: what its job script can call to report what it measured.
PREAMBLE = """
import json, resource, sys
import torch
torch.set_num_threads(1)

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""


def run_measured(job: str, *arguments: object):
    """Run ``PREAMBLE + job`` in a fresh interpreter; return the JSON its last line prints."""
    # The C allocator's tuning variables would hide what a default worker does.
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PREAMBLE + job, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
