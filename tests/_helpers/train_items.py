"""Tiny clean items for training tests (no shared data needed)."""

from __future__ import annotations

import numpy as np

from nightvid.train.data import CleanItem


def clean_items(n: int = 4, size: int = 96, frames: int = 1) -> list[CleanItem]:
    """Smooth colour gradients with a few bright squares, uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(123)
    items = []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        clip = []
        for t in range(frames):
            img = np.stack([xx, yy, 1 - xx * yy], axis=-1) * rng.uniform(0.3, 1.0, 3)
            y, x = rng.integers(0, size - 20, 2)
            img[y : y + 16, x + t : x + t + 16] = rng.uniform(0.5, 1.0, 3)
            clip.append((img * 255).astype(np.uint8))
        items.append(CleanItem(f"test/{i}.png", np.stack(clip), frames > 1))
    return items
