"""White balance: apply gains, estimate the illuminant (grayness index, gray world), fuse.

Gains are camera RGB multipliers normalised so G = 1. An illuminant estimate is the camera RGB
of a neutral surface under the scene light (like DNG AsShotNeutral), also G = 1; gains are its
reciprocal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ._consts import on
from .exposure import thumbnail


def apply_wb(packed: Tensor, gains: Tensor) -> Tensor:
    """Multiply the planes R, Gr, Gb, B by camera gains (R, G, B).

    Args:
        packed: (B, 4, h, w) linear, R/Gr/Gb/B.
        gains: (3,) or (B, 3), all > 0.
    Returns:
        Same shape as ``packed``; may exceed 1 (highlights are handled later).

    >>> x = torch.ones(1, 4, 1, 1)
    >>> apply_wb(x, torch.tensor([2.0, 1.0, 1.5])).flatten().tolist()
    [2.0, 1.0, 1.0, 1.5]
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    g = gains.to(packed).reshape(-1, 3)
    g4 = torch.stack([g[:, 0], g[:, 1], g[:, 1], g[:, 2]], dim=1)  # (B,3) -> (B,4)
    return packed * g4[:, :, None, None]


def gains_from_neutral(neutral: Tensor) -> Tensor:
    """(..., 3) camera neutral -> (..., 3) gains with G = 1."""
    return neutral[..., 1:2] / neutral.clamp_min(1e-8)


def packed_to_cam_rgb(packed: Tensor) -> Tensor:
    """(B, 4, h, w) R/Gr/Gb/B -> (B, 3, h, w) camera RGB at plane resolution (G averaged)."""
    return torch.stack([packed[:, 0], 0.5 * (packed[:, 1] + packed[:, 2]), packed[:, 3]], dim=1)


def gray_world(cam_rgb: Tensor) -> Tensor:
    """Gray-world illuminant (B, 3), G = 1: the mean of each channel."""
    m = thumbnail(cam_rgb).clamp_min(0).mean(dim=(-2, -1))
    return m / m[:, 1:2].clamp_min(1e-8)


_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def grayness_index(cam_rgb: Tensor, top_percent: float = 0.1, long_side: int = 256) -> Tensor:
    """Illuminant from the greyest pixels (grayness index; Qian et al., CVPR 2019).

    A grey surface reflects all channels alike, so in log space its local contrast (Laplacian)
    is the same in R, G and B whatever the light. The pixels whose log-contrast differs least
    across channels, relative to their contrast, are averaged as the illuminant.

    Args:
        cam_rgb: (B, 3, H, W) linear camera RGB, not white balanced.
        top_percent: share of valid pixels (in percent) taken as grey.
        long_side: size of the analysis thumbnail.
    Returns:
        (B, 3) illuminant, G = 1.
    """
    check_shape(cam_rgb, "cam_rgb", ("B", 3, "H", "W"))
    x = thumbnail(cam_rgb.float(), long_side).clamp_min(0)
    lum = x.mean(dim=1)  # (B, h, w)
    scale = lum.flatten(1).quantile(0.99, dim=1).clamp_min(1e-8)[:, None, None, None]
    x = x / scale
    eps = 1e-4
    logx = torch.log(x + eps)
    k = on(_LAPLACE, x).expand(3, 1, 3, 3)
    lap = F.conv2d(F.pad(logx, (1, 1, 1, 1), mode="replicate"), k, groups=3)
    dev = (lap - lap.mean(dim=1, keepdim=True)).square().sum(dim=1).sqrt()
    contrast = lap.abs().mean(dim=1)
    gi = dev / (contrast + 1e-3)
    lum = x.mean(dim=1)
    # Valid: real contrast (not flat noise), not clipped, clearly above the noise floor.
    valid = (contrast > 0.02) & (x.amax(dim=1) < 0.98) & (lum > 0.02)
    gi = torch.where(valid, gi, torch.full_like(gi, float("inf"))).flatten(1)
    n = max(4, int(gi.shape[1] * top_percent / 100.0))
    idx = torch.topk(gi, n, dim=1, largest=False).indices  # (B, n)
    chroma = (x / x.sum(dim=1, keepdim=True).clamp_min(1e-6)).flatten(2)  # (B, 3, h*w)
    picked = torch.gather(chroma, 2, idx[:, None].expand(-1, 3, -1))
    ok = torch.gather(valid.flatten(1), 1, idx)[:, None]  # ignore padding picks
    ill = (picked * ok).sum(dim=2) / ok.sum(dim=2).clamp_min(1)
    fallback = gray_world(cam_rgb)
    ill = torch.where(ok.any(dim=2), ill / ill[:, 1:2].clamp_min(1e-8), fallback)
    return ill


def fuse_gains(
    as_shot: Tensor, auto: Tensor, weight: float = 0.5, max_deviation: float = 0.6
) -> Tensor:
    """Blend two gain estimates in log space, trusting ``auto`` less the further it strays.

    Args:
        as_shot: (B, 3) gains from metadata (G = 1).
        auto: (B, 3) gains from an estimator (G = 1).
        weight: weight of ``auto`` when both agree.
        max_deviation: log-distance at which ``auto``'s weight has fallen to ``weight / e``.
    Returns:
        (B, 3) gains, G = 1.
    """
    la, lb = torch.log(as_shot), torch.log(auto)
    dist = (lb - la).norm(dim=-1, keepdim=True)
    w = weight * torch.exp(-((dist / max_deviation) ** 2))
    return torch.exp((1 - w) * la + w * lb)
