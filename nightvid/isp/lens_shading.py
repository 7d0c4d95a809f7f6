"""Lens shading (vignetting) correction from a gain map or a flat-field calibration frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape


def apply_gain_map(packed: Tensor, gain_map: Tensor) -> Tensor:
    """Multiply each plane by its smooth gain map, bilinearly interpolated to the plane size.

    Args:
        packed: (B, 4, h, w) linear.
        gain_map: (4, gh, gw) or (B, 4, gh, gw) gains >= 1 typically; grid points span the
            frame corner to corner (first point at the top-left sample, last at bottom-right).
    Returns:
        (B, 4, h, w).
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    g = gain_map.to(packed)
    if g.ndim == 3:
        g = g[None]
    g = F.interpolate(g, size=packed.shape[-2:], mode="bilinear", align_corners=True)
    return packed * g


def gain_map_from_flat_field(flat: Tensor, grid: tuple[int, int] = (17, 25)) -> Tensor:
    """Gain map that flattens a (black-corrected) flat-field frame.

    Args:
        flat: (1, 4, h, w) or (4, h, w) linear packed planes of a uniformly lit target.
        grid: (gh, gw) points of the returned map.
    Returns:
        (4, gh, gw) float32 gains; the brightest point of each plane gets gain 1.
    """
    f = flat if flat.ndim == 4 else flat[None]
    # Antialiased resampling low-passes the frame (noise, texture of the target) while the
    # grid points stay corner-aligned like apply_gain_map expects.
    smooth = F.interpolate(f.float(), size=grid, mode="bilinear", align_corners=True,
                           antialias=True)[0]  # (4, gh, gw)
    peak = smooth.amax(dim=(-2, -1), keepdim=True)
    return (peak / smooth.clamp_min(peak * 1e-3)).to(torch.float32)
