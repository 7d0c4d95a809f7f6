"""Tone: highlight-compressing curve on linear RGB, transfer function (gamma), contrast stretch."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_shape
from ._consts import on
from .exposure import thumbnail

_BT709 = torch.tensor([0.2126, 0.7152, 0.0722])


def tone_curve(lin: Tensor, white_point: float = 8.0) -> Tensor:
    """Extended Reinhard curve ``x (1 + x / w^2) / (1 + x)``: slope 1 at 0, ``w`` maps to 1.

    Monotone on [0, w]; values beyond ``w`` clip to 1, so lamps roll off to white smoothly
    instead of clipping hard. Applied per channel: very bright lights desaturate towards white
    the way film and eyes see them.

    Args:
        lin: (B, 3, H, W) scene-linear, >= 0.
        white_point: linear value that maps to display white (> 1).
    Returns:
        (B, 3, H, W) in [0, 1], still linear-light.

    >>> tone_curve(torch.tensor([0.0, 8.0, 100.0]), 8.0).tolist()
    [0.0, 1.0, 1.0]
    """
    x = lin.clamp(0.0, white_point)
    return x * (1.0 + x / (white_point * white_point)) / (1.0 + x)


def srgb_oetf(lin: Tensor) -> Tensor:
    """IEC 61966-2-1 encoding of linear [0, 1] light."""
    x = lin.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def srgb_eotf(enc: Tensor) -> Tensor:
    """Inverse of :func:`srgb_oetf`."""
    x = enc.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def bt709_oetf(lin: Tensor) -> Tensor:
    """ITU-R BT.709 camera transfer function of linear [0, 1] light."""
    x = lin.clamp(0.0, 1.0)
    return torch.where(x < 0.018, 4.5 * x, 1.099 * x.clamp_min(1e-8) ** 0.45 - 0.099)


def luma(rgb: Tensor) -> Tensor:
    """BT.709 luma weights: (B, 3, H, W) -> (B, 1, H, W)."""
    w = on(_BT709, rgb)
    return (rgb * w[None, :, None, None]).sum(dim=1, keepdim=True)


def contrast_levels(
    display: Tensor, black_percentile: float = 0.5, white_percentile: float = 99.8
) -> Tensor:
    """Black and white points (B, 2) of a frame: percentiles of its luma (on a thumbnail)."""
    y = thumbnail(luma(display), 256).flatten(1)
    q = torch.tensor([black_percentile / 100.0, white_percentile / 100.0]).to(y)
    return torch.quantile(y, q, dim=1).T  # (B, 2)


def stretch_contrast(display: Tensor, levels: Tensor, amount: float = 0.6,
                     max_gain: float = 2.5) -> Tensor:
    """Percentile stretch: move ``amount`` of the way from [0, 1] to the given levels.

    Args:
        display: (B, 3, H, W) gamma-encoded in [0, 1].
        levels: (B, 2) black and white points from :func:`contrast_levels`.
        amount: 0 = unchanged, 1 = the black point maps to 0 and the white point to 1.
        max_gain: cap on the slope, so a flat, dark frame is not stretched into noise.
    Returns:
        (B, 3, H, W) in [0, 1].
    """
    check_shape(display, "display", ("B", 3, "H", "W"))
    lo = (amount * levels[:, 0]).clamp(0.0, 0.5)
    hi = 1.0 - amount * (1.0 - levels[:, 1]).clamp(0.0, 0.5)
    slope = (1.0 / (hi - lo).clamp_min(1e-3)).clamp_max(max_gain)
    out = (display - lo[:, None, None, None]) * slope[:, None, None, None]
    return out.clamp(0.0, 1.0)


def clip_negatives(lin: Tensor, toe: float = 0.02) -> Tensor:
    """Remove negative components of linear RGB by desaturating towards luma, keeping luma.

    After black subtraction, noise makes dark pixels negative. Clamping each channel at 0
    biases the channels with the larger noise (R and B after white-balance gains of ~2) upward
    and paints dark skies magenta; desaturating instead keeps the mean colour neutral.

    Args:
        lin: (B, 3, H, W) linear RGB.
        toe: luma below this is rolled off smoothly into (0, toe) instead of clamped at 0, so
            noise undershoots in the shadows do not become black dots.
    Returns:
        (B, 3, H, W), all >= 0, luma unchanged where it is >= ``toe``.
    """
    y0 = luma(lin)
    # C1-continuous toe: toe * exp(y / toe - 1) meets y at y = toe with slope 1.
    y = torch.where(y0 < toe, toe * torch.exp((y0 / toe).clamp_max(1.0) - 1.0), y0)
    lin = lin + (y - y0)  # shift all channels equally: colour differences kept
    low = lin.amin(dim=1, keepdim=True)
    # Mix factor t in [0, 1]: y + t * (c - y) >= 0 for every channel.
    t = torch.where(low < 0, y / (y - low).clamp_min(1e-12), torch.ones_like(y)).clamp(0.0, 1.0)
    return (y + t * (lin - y)).clamp_min(0.0)
