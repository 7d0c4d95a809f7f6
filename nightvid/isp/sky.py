"""Night-sky detection (classical) and cooling.

No honest sky labels exist for night raw footage, so the detector is classical and runs on a
small thumbnail: a sky pixel is smooth (small log-luma gradient), not a light (no brighter than
a few times the frame's median), of low saturation, in the upper part of the frame, and
*connected to the top edge* through other such pixels (a geodesic reconstruction from the top
row, done with max-pooling so it stays a tensor op). The soft mask then cools the sky: linear
RGB gains towards a bluer white, luminance kept, lights and stars excluded at full resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from .tone import luma

THUMB_LONG_SIDE = 96


def detect_sky(lin_rgb: Tensor, long_side: int = THUMB_LONG_SIDE) -> Tensor:
    """Soft sky mask of a linear RGB frame, at thumbnail size.

    Args:
        lin_rgb: (B, 3, H, W) linear sRGB (any exposure; only ratios matter).
        long_side: thumbnail size the detector runs at.
    Returns:
        (B, 1, h, w) mask in [0, 1] at thumbnail size (resize with :func:`upsample_mask`).
    """
    check_shape(lin_rgb, "lin_rgb", ("B", 3, "H", "W"))
    h, w = lin_rgb.shape[-2:]
    s = min(1.0, long_side / max(h, w))
    th, tw = max(4, round(h * s)), max(4, round(w * s))
    small = F.interpolate(lin_rgb, size=(th, tw), mode="area").clamp_min(1e-6)
    y = luma(small)  # (B,1,th,tw)
    logy = y.log2()
    # Smoothness: gradient of log luma after a light blur (sky is the flattest region).
    blur = F.avg_pool2d(F.pad(logy, (1, 1, 1, 1), mode="replicate"), 3, 1)
    gy = (blur[..., 2:, :] - blur[..., :-2, :]).abs()
    gx = (blur[..., :, 2:] - blur[..., :, :-2]).abs()
    grad = F.pad(gy, (0, 0, 1, 1), mode="replicate") + F.pad(gx, (1, 1, 0, 0), mode="replicate")
    smooth = (1.0 - grad / 0.6).clamp(0.0, 1.0)
    # Not a light: lamps, windows, signs are far brighter than the frame median.
    med = y.flatten(1).median(dim=1).values.reshape(-1, 1, 1, 1)
    dark = (1.0 - (y / (3.0 * med) - 1.0)).clamp(0.0, 1.0)
    # Low saturation: night skies are dark blue, grey, or orange from light pollution.
    sat = (small.amax(dim=1, keepdim=True) - small.amin(dim=1, keepdim=True)) / small.amax(
        dim=1, keepdim=True)
    muted = (1.0 - (sat - 0.5) / 0.4).clamp(0.0, 1.0)
    rows = torch.linspace(0, 1, th, device=lin_rgb.device, dtype=lin_rgb.dtype)
    upper = (1.0 - (rows - 0.45) / 0.3).clamp(0.0, 1.0).reshape(1, 1, th, 1)
    cand = smooth * dark * muted * upper
    # Connected to the top edge through candidate pixels (soft geodesic reconstruction).
    seed = torch.zeros_like(cand)
    seed[..., 0, :] = cand[..., 0, :]
    for _ in range(th + tw):
        seed = torch.minimum(F.max_pool2d(seed, 3, 1, 1), cand)
    mask = (seed / 0.5).clamp(0.0, 1.0)
    return F.avg_pool2d(F.pad(mask, (2, 2, 2, 2), mode="replicate"), 5, 1)  # soft edges


def upsample_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, 1, h, w) thumbnail mask -> (B, 1, H, W), smooth."""
    return F.interpolate(mask, size=size, mode="bilinear", align_corners=False)


def cool_sky(lin_rgb: Tensor, mask: Tensor, gains: Tensor, strength: float = 0.5) -> Tensor:
    """Cool the masked sky of linear RGB, keeping luminance; lights and stars are left alone.

    Args:
        lin_rgb: (B, 3, H, W) linear sRGB.
        mask: (B, 1, H, W) sky mask in [0, 1] at the frame size.
        gains: (3,) linear RGB gains of the cooled white (normalised to unit luminance here).
        strength: 0..1.
    Returns:
        (B, 3, H, W).
    """
    check_shape(lin_rgb, "lin_rgb", ("B", 3, "H", "W"))
    g = gains.to(lin_rgb).reshape(1, 3, 1, 1)
    g = g / luma(g)
    y = luma(lin_rgb)
    # Stars and lights: far brighter than their 9x9 surroundings -> keep their colour.
    local = F.avg_pool2d(F.pad(y, (4, 4, 4, 4), mode="replicate"), 9, 1)
    keep = (1.0 - (y / local.clamp_min(1e-6) - 1.5)).clamp(0.0, 1.0)
    wgt = (strength * mask * keep).clamp(0.0, 1.0)
    return lin_rgb * (1.0 + wgt * (g - 1.0))
