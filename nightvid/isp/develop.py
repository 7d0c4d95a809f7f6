"""The per-pixel chains after the estimates, as pure functions the pipeline can compile whole.

:func:`develop_packed` takes denoised packed planes to linear sRGB (exposure, white balance,
highlight clip, camera RGB, colour matrix, negatives); :func:`finish` takes linear sRGB to the
display image (sky cooling, tone curve, transfer function, contrast, colour fixes). Every
per-frame decision (amplification, gains, matrix, sky mask, contrast levels) comes in as a
tensor, so one compiled graph serves every frame of a stream and nothing waits on the device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import ccm, color, sky, tone
from .exposure import thumbnail
from .white_balance import apply_wb, packed_to_cam_rgb


def expose(packed: Tensor, amp: Tensor, gains: Tensor) -> Tensor:
    """Amplify and white-balance packed planes, clipping where a saturated channel would land.

    Clipping at ``amp * min(gains)`` turns blown highlights white instead of magenta.

    Args:
        packed: (B, 4, h, w) linear, un-amplified; amp: (B,); gains: (B, 3) G-normalised.
    Returns:
        (B, 4, h, w).
    """
    top = (amp * gains.amin(dim=1))[:, None, None, None]
    return torch.minimum(apply_wb(packed * amp[:, None, None, None], gains), top)


def develop_packed(packed: Tensor, amp: Tensor, gains: Tensor, matrix: Tensor) -> Tensor:
    """Packed planes at output size -> linear sRGB (B, 3, h, w), all >= 0.

    Args:
        packed: (B, 4, h, w) denoised, lens-shaded, un-amplified.
        amp: (B,) amplification; gains: (B, 3) WB gains; matrix: (3, 3) camera(WB) -> sRGB.
    """
    cam = packed_to_cam_rgb(expose(packed, amp, gains))
    return tone.clip_negatives(ccm.apply_ccm(cam, matrix))


def display_thumbnail(lin_srgb: Tensor, mask: Tensor | None, sky_gains: Tensor,
                      sky_strength: float, white_point: float, gamma: str,
                      long_side: int = 256) -> Tensor:
    """What :func:`finish` makes of a thumbnail before contrast and colour: for the contrast
    statistics, so they never need a full-size pass."""
    thumb = thumbnail(lin_srgb, long_side)
    if mask is not None:
        m = F.interpolate(mask, size=thumb.shape[-2:], mode="bilinear", align_corners=False)
        thumb = sky.cool_sky(thumb, m, sky_gains, sky_strength)
    return _tone(thumb, white_point, gamma)


def _tone(lin: Tensor, white_point: float, gamma: str) -> Tensor:
    display = tone.tone_curve(lin, white_point)
    return tone.srgb_oetf(display) if gamma == "srgb" else tone.bt709_oetf(display)


def finish(
    lin_srgb: Tensor,
    mask: Tensor | None,
    sky_gains: Tensor,
    levels: Tensor | None,
    *,
    sky_strength: float = 0.5,
    white_point: float = 8.0,
    gamma: str = "srgb",
    contrast: float = 0.6,
    green_desat: float = 0.5,
    purple_desat: float = 0.4,
    vibrance: float = 0.25,
    saturation: float = 1.0,
) -> Tensor:
    """Linear sRGB -> display sRGB in [0, 1].

    Args:
        lin_srgb: (B, 3, H, W) linear sRGB, >= 0.
        mask: (B, 1, h, w) sky mask at thumbnail size, or None (no sky cooling).
        sky_gains: (3,) linear gains of the cooled white.
        levels: (B, 2) contrast black/white points, or None (no stretch).
        The keywords are the ``[sky]``, ``[tone]`` and ``[color]`` settings.
    Returns:
        (B, 3, H, W) display sRGB.
    """
    if mask is not None:
        full = sky.upsample_mask(mask, tuple(lin_srgb.shape[-2:]))
        lin_srgb = sky.cool_sky(lin_srgb, full, sky_gains, sky_strength)
    display = _tone(lin_srgb, white_point, gamma)
    if levels is not None:
        display = tone.stretch_contrast(display, levels, contrast)
    return color.fix_colors(display, green_desat, purple_desat, vibrance, saturation)
