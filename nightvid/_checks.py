"""Validation helpers for the public edges (internal helpers trust their inputs)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from .errors import ShapeError


def check_shape(x: Tensor, name: str, spec: Sequence[int | str]) -> None:
    """Raise ShapeError unless ``x`` matches ``spec`` (ints are exact, strings are free dims).

    >>> import torch
    >>> check_shape(torch.zeros(2, 4, 8, 8), "packed", ("B", 4, "h", "w"))
    """
    ok = x.ndim == len(spec) and all(
        isinstance(s, str) or d == s for d, s in zip(x.shape, spec, strict=False)
    )
    if not ok:
        want = ", ".join(str(s) for s in spec)
        raise ShapeError(f"{name}: expected ({want}), got {tuple(x.shape)}")
