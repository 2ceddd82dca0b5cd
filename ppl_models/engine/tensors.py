"""Moving plain values onto a device and flattening samples into scalar draws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def to_device(value: Any, device: torch.device) -> Any:
    """Floats, arrays and tensors become float tensors on ``device``; tuples recurse.

    Whole numbers stay Python ints: models use them as sizes (a mixture's K).
    """
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, (bool, str, int)) or value is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (float, list, np.ndarray)):
        return torch.as_tensor(value, dtype=torch.get_default_dtype(), device=device)
    return value


def observations_on(data: Mapping[str, Any] | None, device: torch.device) -> dict:
    """Observed or intervened values as tensors; unlike model arguments, never sizes."""
    return {
        name: to_device(float(value) if isinstance(value, int) and not isinstance(value, bool) else value, device)
        for name, value in (data or {}).items()
    }


def in_float64(value: Any) -> Any:
    """Floating tensors (in tuples and dicts too) as float64.

    Log weights at the settings the controls allow reach -10^6 nats (sales 1000 against a
    noise sd of 0.5), where float32 resolves only a quarter of a nat: two explanations
    nearly as likely as each other would be weighed wrongly by up to 30%. float64 resolves
    them to 10^-10 and costs the plate's few milliseconds nothing measurable.
    """
    if isinstance(value, tuple):
        return tuple(in_float64(v) for v in value)
    if isinstance(value, dict):
        return {k: in_float64(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.double()
    return value


def scalar_views(samples: Mapping[str, np.ndarray], lead_dims: int) -> dict[str, np.ndarray]:
    """Split each site into scalar quantities: ``locs`` of shape (..., 2) -> ``locs[0]``, ``locs[1]``.

    :param int lead_dims: how many leading dims index draws (2 for ``(chains, draws)``).
    """
    views: dict[str, np.ndarray] = {}
    for name, value in samples.items():
        event_shape = value.shape[lead_dims:]
        if not event_shape:
            views[name] = value
            continue
        for index in np.ndindex(*event_shape):
            label = ",".join(str(i) for i in index)
            views[f"{name}[{label}]"] = value[(slice(None),) * lead_dims + index]
    return views
