"""Automatic amplification (exposure) from raw statistics.

Users never need to know an exposure ratio: the gain is chosen so that the geometric-mean
luminance of the frame lands on a target key (a night key, darker than the 0.18 of day, so a
night scene still looks like night), limited so bright lights are not pushed far past white.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape

THUMB = 96  # long side of the statistics thumbnail: enough for percentiles, cheap everywhere


def thumbnail(x: Tensor, long_side: int = THUMB) -> Tensor:
    """Area-averaged thumbnail of (B, C, h, w) with the given long side (never upscales)."""
    h, w = x.shape[-2:]
    s = min(1.0, long_side / max(h, w))
    return F.interpolate(x, size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")


def estimate_amplification(
    packed: Tensor,
    *,
    key: float = 0.12,
    highlight_percentile: float = 99.5,
    highlight_max: float = 6.0,
    max_gain: float = 512.0,
) -> Tensor:
    """Gain that brings a frame's log-average luminance to ``key``.

    Args:
        packed: (B, 4, h, w) linear, black-subtracted, not yet white balanced.
        key: target geometric-mean luminance after amplification.
        highlight_percentile: percentile of luminance that is protected...
        highlight_max: ...from landing above this value after amplification.
        max_gain: upper bound of the gain.
    Returns:
        (B,) gains in [1, max_gain].
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    lum = thumbnail(packed.float().mean(dim=1, keepdim=True)).flatten(1)  # (B, n)
    mean = lum.mean(dim=1, keepdim=True).clamp_min(1e-7)
    # The floor keeps noise-level pixels (which can be <= 0) from dragging the log-mean down.
    floor = 0.02 * mean
    log_avg = torch.log(lum.clamp_min(0) + floor).mean(dim=1).exp()
    gain = key / log_avg
    hi = torch.quantile(lum, highlight_percentile / 100.0, dim=1).clamp_min(1e-7)
    gain = torch.minimum(gain, highlight_max / hi)
    return gain.clamp(1.0, max_gain)
