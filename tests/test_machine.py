"""Sizing the inference workers to the machine: cores, memory and container limits."""

import pytest

from ppl_models.engine.runtime import machine, workers


@pytest.mark.parametrize(
    ("cores", "memory_mb", "expected"),
    [
        (2, 24_000, 2),  # the development machine
        (2, 1024, 2),  # a 1 GB instance with two cores: 887 MB measured at peak
        (2, 690, 0),  # Community Cloud's smallest: the server alone
        (1, 24_000, 0),  # one core: a worker would only add memory
        (16, 1024, 2),  # many cores, little memory: as many as fit
        (16, 4096, 16),
        (4, None, 0),  # memory unknown: stay in-process
    ],
)
def test_workers_are_one_per_core_as_far_as_memory_holds(cores, memory_mb, expected):
    assert workers.processes_for(cores, memory_mb) == expected


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("0", 0), ("3", 3), ("auto", 2), ("", 2), ("two", 2), ("-1", 0)],
)
def test_pme_workers_overrides_the_sizing(monkeypatch, setting, expected):
    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    monkeypatch.setattr(machine, "memory_limit_mb", lambda: 24_000.0)
    monkeypatch.setenv("PME_WORKERS", setting)
    assert workers.default_processes() == expected


def fake_cgroup(tmp_path, monkeypatch, files):
    """A cgroup tree with ``files`` in it, on a host of 8 cores."""
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: set(range(8)))
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(machine, "CGROUP", tmp_path)


def test_a_cgroup_v2_quota_and_limit_win_over_the_hosts_figures(tmp_path, monkeypatch):
    fake_cgroup(tmp_path, monkeypatch, {"cpu.max": "150000 100000\n", "memory.max": f"{1024 * 2**20}\n"})
    assert machine.usable_cores() == 1
    assert machine.memory_limit_mb() == 1024


def test_a_cgroup_v1_quota_and_limit_are_read_too(tmp_path, monkeypatch):
    fake_cgroup(
        tmp_path,
        monkeypatch,
        {
            "cpu/cpu.cfs_quota_us": "200000\n",
            "cpu/cpu.cfs_period_us": "100000\n",
            "memory/memory.limit_in_bytes": f"{690 * 2**20}\n",
        },
    )
    assert machine.usable_cores() == 2
    assert machine.memory_limit_mb() == 690


def test_no_limits_means_the_machines_own_figures(tmp_path, monkeypatch):
    fake_cgroup(
        tmp_path,
        monkeypatch,
        {"cpu.max": "max 100000\n", "memory.max": "max\n", "memory/memory.limit_in_bytes": "9223372036854771712\n"},
    )
    assert machine.usable_cores() == 8
    assert machine.memory_limit_mb() > 100  # this machine's physical memory
