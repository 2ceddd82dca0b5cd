"""What this process may use of the machine: cores and memory, container limits included.

A container (Streamlit Community Cloud, Docker, Kubernetes) sees the host's cores and
memory in ``os.cpu_count()`` and ``/proc/meminfo``, but is held to its cgroup's quota:
sizing anything by the host's figures would start workers the instance cannot feed.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_cpu_quota() -> float | None:
    """The cgroup's CPU quota in cores (v2, then v1); None when there is none."""
    v2 = _read(CGROUP / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100_000)
    quota, period = _read(CGROUP / "cpu" / "cpu.cfs_quota_us"), _read(CGROUP / "cpu" / "cpu.cfs_period_us")
    if quota is None or period is None or int(quota) <= 0:
        return None
    return int(quota) / int(period)


def usable_cores() -> int:
    """Cores this process may run on at once: its CPU affinity, capped by a cgroup quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return cores


def memory_limit_mb() -> float | None:
    """The memory this process may use in MB: the cgroup's limit, else the machine's.

    None when neither can be read (not Linux, and no ``sysconf``).
    """
    limits = []
    v2 = _read(CGROUP / "memory.max")
    if v2 is not None and v2 != "max":
        limits.append(int(v2) / 2**20)
    v1 = _read(CGROUP / "memory" / "memory.limit_in_bytes")
    if v1 is not None and int(v1) < 2**60:  # "no limit" reads as a number near 2**63
        limits.append(int(v1) / 2**20)
    with contextlib.suppress(ValueError, OSError, AttributeError):  # no sysconf, or not these names
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20)
    return min(limits) if limits else None
