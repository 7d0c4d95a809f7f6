"""Colour fixes on display RGB: calm the green and purple casts of night scenes, add vibrance.

Sodium, mercury and LED street lights, and noise lifted by amplification, leave dark areas
with green or purple tints that look wrong next to the true colours of signs and lamps. Both
casts are pulled towards neutral by how close a pixel's hue is to them; vibrance then boosts
weak colours more than strong ones, so signs keep their punch without clipping.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_shape
from ._consts import on
from .tone import luma

# Hue directions in the opponent plane: green, and purple (between blue and magenta).
_GREEN = (0.0, 1.0, 0.0)
_PURPLE = (0.6, 0.0, 1.0)


def _unit_chroma(rgb: tuple[float, float, float]) -> Tensor:
    v = torch.tensor(rgb)
    c = v - (v * torch.tensor([0.2126, 0.7152, 0.0722])).sum()
    return c / c.norm()


_DIRECTIONS = {_GREEN: _unit_chroma(_GREEN), _PURPLE: _unit_chroma(_PURPLE)}


def _direction(rgb: tuple[float, float, float], like: Tensor) -> Tensor:
    """The unit opponent-plane direction of the hue of ``rgb``, on ``like``'s device."""
    return on(_DIRECTIONS[rgb], like)


def _hue_weight(chroma: Tensor, cnorm: Tensor, direction: Tensor, width: float = 0.5) -> Tensor:
    """1 where the chroma points exactly at ``direction``, 0 beyond ``width`` (cosine gap)."""
    cos = (chroma * direction[None, :, None, None]).sum(dim=1, keepdim=True) / cnorm
    return ((cos - (1.0 - width)) / width).clamp(0.0, 1.0).square()


def fix_colors(
    display: Tensor,
    green_desat: float = 0.5,
    purple_desat: float = 0.4,
    vibrance: float = 0.25,
    saturation: float = 1.0,
) -> Tensor:
    """Desaturate green/purple casts, then apply vibrance and saturation.

    Args:
        display: (B, 3, H, W) gamma-encoded sRGB in [0, 1].
        green_desat, purple_desat: 0..1, how far a pixel of exactly that hue moves to grey.
        vibrance: boost of weak colours (0 = none).
        saturation: global chroma factor (1 = unchanged).
    Returns:
        (B, 3, H, W) in [0, 1]; luma is unchanged wherever no channel clips.
    """
    check_shape(display, "display", ("B", 3, "H", "W"))
    y = luma(display)
    chroma = display - y  # (B,3,H,W) opponent part; luma-weighted sum is 0
    # sqrt of a sum, not .norm(dim=1): a channel-dim norm is ~20x slower on the CPU.
    cnorm = chroma.square().sum(dim=1, keepdim=True).sqrt().clamp_min(1e-6)
    keep = 1.0 - green_desat * _hue_weight(chroma, cnorm, _direction(_GREEN, display))
    keep = keep - purple_desat * _hue_weight(chroma, cnorm, _direction(_PURPLE, display))
    # Vibrance: strongest on weak colours; 0.25 is a saturated colour's chroma norm in sRGB.
    weak = (1.0 - cnorm / 0.25).clamp(0.0, 1.0)
    factor = keep.clamp_min(0.0) * (1.0 + vibrance * weak) * saturation
    return (y + chroma * factor).clamp(0.0, 1.0)
