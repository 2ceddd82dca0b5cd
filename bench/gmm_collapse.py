"""How often each start leaves a group unfound, on data with clearly separated groups.

For 2 to 5 groups and 2 to 10 points a group, many data sets (``harness.mixture_data``):
the lecture's recipe and the spread-out start, K equal to the number of groups, the
lecture's prior and optimiser. A fit "misses" when some group has no component with real
weight within three of its sds; a miss is "silent" when the page's check found nothing
to warn about (the bench fails then: that is the bug the check exists to prevent).

    python -m bench.gmm_collapse [--data-sets 10]
"""

from __future__ import annotations

import argparse
import time

from harness.mixture_data import groups_found, separated_groups
from ppl_models import gmm

GROUPS = (2, 3, 4, 5)
POINTS_PER_GROUP = (2, 3, 5, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-sets", type=int, default=10, help="data sets per cell")
    count = parser.parse_args().data_sets
    began = time.perf_counter()
    silent = 0
    print(f"Groups missed, of {count} data sets per cell: lecture's start / spread-out start\n")
    print("| groups | " + " | ".join(f"{p} points each" for p in POINTS_PER_GROUP) + " |")
    print("|---|" + "---|" * len(POINTS_PER_GROUP))
    for groups in GROUPS:
        cells = []
        for per_group in POINTS_PER_GROUP:
            missed = {"lecture": 0, "spread": 0}
            for seed in range(count):
                data, centers, sd = separated_groups(groups, per_group, 1000 * groups + 10 * per_group + seed)
                for start in missed:
                    fit = gmm.fit_map(data, gmm.GmmPrior(), gmm.GmmSettings(k=groups, init=start, seed=seed))
                    if not groups_found(fit, centers, sd):
                        missed[start] += 1
                        silent += not fit.check.problems
            cells.append(f"{missed['lecture']} / {missed['spread']}")
        print(f"| {groups} | " + " | ".join(cells) + " |")
    print(f"\nSilent misses (no warning on the page): {silent}. {time.perf_counter() - began:.0f} s.")
    if silent:
        raise SystemExit("a fit missed a group without a warning")


if __name__ == "__main__":
    main()
