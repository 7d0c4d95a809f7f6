"""Early downsampling of packed planes and resizing of RGB images."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def downsample_packed(packed: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-average packed planes to ``size`` (h, w) (no-op when already that size).

    Area averaging is the right filter for a large reduction: it is a box prefilter, and for
    integer factors it averages exactly ``f*f`` samples, which lowers noise variance by ``f*f``
    (the denoiser is told so).

    Args:
        packed: (B, 4, h0, w0) linear.
        size: target (h, w), each <= the input's.
    Returns:
        (B, 4, h, w).
    """
    if tuple(packed.shape[-2:]) == tuple(size):
        return packed
    return F.interpolate(packed, size=size, mode="area")


def resize_rgb(rgb: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (B, 3, H, W) to ``size`` (h, w): area when shrinking, bilinear when growing."""
    if tuple(rgb.shape[-2:]) == tuple(size):
        return rgb
    shrink = size[0] <= rgb.shape[-2] and size[1] <= rgb.shape[-1]
    if shrink:
        return F.interpolate(rgb, size=size, mode="area")
    return F.interpolate(rgb, size=size, mode="bilinear", align_corners=False, antialias=False)
