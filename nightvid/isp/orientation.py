"""EXIF orientation (1..8) applied to image tensors."""

from __future__ import annotations

import torch
from torch import Tensor


def apply_orientation(img: Tensor, orientation: int) -> Tensor:
    """Turn a (B, C, H, W) image as stored into the upright view EXIF ``orientation`` asks for.

    >>> x = torch.arange(6.).reshape(1, 1, 2, 3)
    >>> apply_orientation(x, 6)[0, 0].tolist()  # rotate 90 degrees clockwise
    [[3.0, 0.0], [4.0, 1.0], [5.0, 2.0]]
    """
    if orientation == 2:
        return img.flip(-1)
    if orientation == 3:
        return img.flip(-1, -2)
    if orientation == 4:
        return img.flip(-2)
    if orientation == 5:
        return img.transpose(-1, -2)
    if orientation == 6:
        return torch.rot90(img, k=-1, dims=(-2, -1))
    if orientation == 7:
        return img.transpose(-1, -2).flip(-1, -2)
    if orientation == 8:
        return torch.rot90(img, k=1, dims=(-2, -1))
    return img


def swaps_axes(orientation: int) -> bool:
    """True when the orientation turns the image by 90 degrees (width and height swap)."""
    return orientation in (5, 6, 7, 8)
