"""Small constant tensors (weights, kernels, matrices) on the device of the data, cached.

``torch.tensor(...).to(cuda)`` inside a per-frame function is a host-to-device copy that
synchronises the stream, every call. :func:`on` copies each constant to a device and dtype
once and reuses it; while ``torch.compile`` traces, it leaves the constant to the compiler,
which bakes it into the kernel.
"""

from __future__ import annotations

import torch
from torch import Tensor

_CACHE: dict[tuple[int, torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}


def on(const: Tensor, like: Tensor) -> Tensor:
    """``const`` on ``like``'s device and dtype. ``const`` must be a module-level tensor (it is
    cached by identity).

    >>> w = torch.tensor([1.0, 2.0])
    >>> on(w, torch.zeros(1, dtype=torch.float64)).dtype
    torch.float64
    """
    if torch.compiler.is_compiling() or like.device.type == "cpu":
        return const.to(like)
    key = (id(const), like.device, like.dtype)
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not const:
        hit = (const, const.to(like))
        _CACHE[key] = hit
    return hit[1]
