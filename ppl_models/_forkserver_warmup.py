"""Imported once by the inference workers' forkserver: a few small runs of every kind.

Every worker is forked from the forkserver, so what these runs initialise lazily (first
traces, dispatch tables, imports inside functions: a second or so and much memory)
is done once and shared by all workers through copy-on-write, instead of being paid, and
held privately, by each worker in a student's first run. One torch thread, as in every
run: a forked child must not inherit a started OpenMP pool.
"""

import gc
import multiprocessing.spawn

import torch

from ppl_models import gmm, scale
from ppl_models.engine import mcmc, svi

torch.set_num_threads(1)


def _keep_this_main(main_path: str) -> None:
    """Every new worker is told the parent's main script, to run it as ``__mp_main__``.

    Under ``streamlit run`` that "script" is whichever page was running when the worker
    started (Streamlit swaps ``sys.modules["__main__"]`` per page run), so each worker
    re-ran a page: it imported Streamlit, pandas and pyarrow, memory of its own before its
    first job (README, Inference workers). Workers run only ``ppl_models`` functions, which pickle by
    their module name, so nothing in the parent's main script is needed.
    """


# Patched here, in the forkserver, so only the workers it forks are affected; the
# workers look the function up when they start, in ``multiprocessing.spawn.prepare``.
multiprocessing.spawn._fixup_main_from_path = _keep_this_main

WARM_JOBS = [
    # The batched sampler: its traced graphs for the scale model's structure, built here once.
    (scale.infer_weight, scale.ScaleSettings(), mcmc.McmcSettings(num_samples=20, warmup_steps=10)),
    (scale.infer_weight, scale.ScaleSettings(), mcmc.McmcSettings(num_samples=20, warmup_steps=10, sampler="pyro")),
    (scale.infer_weight, scale.ScaleSettings(), mcmc.McmcSettings(kernel="nuts", num_samples=20, warmup_steps=10)),
    (scale.infer_weight, scale.ScaleSettings(), svi.SviSettings(num_steps=20)),
    (gmm.fit_map, gmm.LECTURE_DATA, gmm.GmmPrior(), gmm.GmmSettings(inits=5, steps=5)),
]

for function, *args in WARM_JOBS:
    function(*args)

# Every worker's garbage collector would otherwise walk, and so write to, every object
# the forkserver holds, turning the shared pages private: a fresh worker would hold most
# of the forkserver's memory as its own before doing anything. Frozen objects are left alone by the collector.
gc.collect()
gc.freeze()
