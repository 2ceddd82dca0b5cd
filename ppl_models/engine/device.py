"""Which torch device a run uses.

The rule for ``auto``: use CUDA only when it is present *and* the run's tensors are
big enough to gain from it. A leapfrog step on the scale model touches a handful of
scalars; on a GPU each of its dozens of tiny kernels costs a launch (~10 us) plus a
host sync for Pyro's Python-side accept/reject, so such models run several times
faster on the CPU. Data-parallel work (a mixture over 100,000 points, 100,000 draws)
amortises the launches, so ``auto`` moves a run to the GPU from
:data:`GPU_MIN_ELEMENTS` elements per model evaluation upward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

GPU_MIN_ELEMENTS = 20_000

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DeviceChoice:
    """The device a run will use and, when it differs from the request, why."""

    device: torch.device
    note: str = ""


def resolve_device(requested: str, work_elements: int = 1) -> DeviceChoice:
    """Turn a user's request (``auto``, ``cpu`` or ``cuda``) into a device.

    :param str requested: one of :data:`DEVICE_CHOICES`.
    :param int work_elements: how many tensor elements one model evaluation touches.
    """
    if requested not in DEVICE_CHOICES:
        raise ValueError(f"Unknown device {requested!r}; choose one of {DEVICE_CHOICES}.")
    has_cuda = torch.cuda.is_available()
    if requested == "cpu":
        return DeviceChoice(torch.device("cpu"))
    if requested == "cuda":
        if has_cuda:
            return DeviceChoice(torch.device("cuda"))
        return DeviceChoice(torch.device("cpu"), "CUDA was requested but no GPU is available here; ran on the CPU.")
    if has_cuda and work_elements >= GPU_MIN_ELEMENTS:
        return DeviceChoice(torch.device("cuda"), "auto: large enough to gain from the GPU.")
    if has_cuda:
        return DeviceChoice(
            torch.device("cpu"),
            "auto: a GPU is present, but this model is too small to gain from it; ran on the CPU.",
        )
    return DeviceChoice(torch.device("cpu"))
