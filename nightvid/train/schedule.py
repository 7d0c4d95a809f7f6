"""Learning-rate schedules of the small networks' trainings."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["warmup_cosine"]


def warmup_cosine(step: int, recipe: Any) -> float:
    """Learning-rate factor: 2 % linear warm-up, then a cosine from 1 to ``lr_min / lr``
    (``recipe`` has ``steps``, ``lr`` and ``lr_min``).

    >>> from types import SimpleNamespace as R
    >>> r = R(steps=100, lr=1.0, lr_min=0.1)
    >>> warmup_cosine(0, r), warmup_cosine(2, r), round(warmup_cosine(99, r), 3)
    (0.5, 1.0, 0.1)
    """
    warm = max(1, recipe.steps // 50)
    if step < warm:
        return (step + 1) / warm
    t = min(1.0, (step - warm) / max(1, recipe.steps - warm))
    floor = recipe.lr_min / recipe.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
