"""Low-resolution motion estimation by block matching, and warping by the resulting flow.

Coarse-to-fine block matching (two pyramid levels) on a small luma image: cheap enough to run
every frame on a CPU, and robust to the heavy noise of night footage because each block's cost
is a sum over ``block * block`` pixels. A small penalty on the displacement makes flat or noisy
blocks prefer zero motion, so static areas keep averaging.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape


def _shift(x: Tensor, dy: int, dx: int, radius: int) -> Tensor:
    """Crop of the replicate-padded ``x`` displaced by (dy, dx): out(p) = x(p + d)."""
    h, w = x.shape[-2] - 2 * radius, x.shape[-1] - 2 * radius
    return x[..., radius + dy : radius + dy + h, radius + dx : radius + dx + w]


def _match(ref: Tensor, cur: Tensor, radius: int, block: int, penalty: Tensor) -> Tensor:
    """Integer+subpixel displacement per block minimising SAD(cur, ref shifted): (B,2,hb,wb)."""
    pad = F.pad(ref, (radius,) * 4, mode="replicate")
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    costs = torch.cat([F.avg_pool2d((cur - _shift(pad, dy, dx, radius)).abs(), block,
                                    ceil_mode=True) for dy, dx in offsets], dim=1)  # (B,K,hb,wb)
    off = torch.tensor(offsets, dtype=cur.dtype, device=cur.device)  # (K,2)
    costs = costs + penalty * off.norm(dim=1).reshape(1, -1, 1, 1)
    best = costs.argmin(dim=1, keepdim=True)  # (B,1,hb,wb)
    flow = off[best[:, 0]].permute(0, 3, 1, 2)  # (B,hb,wb,2) -> (B,2,hb,wb)
    # Sub-pixel: a parabola through the cost at the best offset and its neighbours per axis.
    side = 2 * radius + 1
    by, bx = best[:, 0] // side, best[:, 0] % side
    for axis, (b_ax, fixed) in enumerate(((by, bx), (bx, by))):
        lo, hi = (b_ax - 1).clamp(0, side - 1), (b_ax + 1).clamp(0, side - 1)

        def cost_at(i: Tensor, fixed: Tensor = fixed, axis: int = axis) -> Tensor:
            idx = i * side + fixed if axis == 0 else fixed * side + i
            return costs.gather(1, idx[:, None])[:, 0]

        c0, cm, cp = cost_at(b_ax), cost_at(lo), cost_at(hi)
        denom = cm + cp - 2 * c0
        frac = torch.where((denom > 1e-9) & (lo != b_ax) & (hi != b_ax),
                           0.5 * (cm - cp) / denom.clamp_min(1e-9), torch.zeros_like(c0))
        flow[:, axis] = flow[:, axis] + frac.clamp(-0.5, 0.5)
    return flow


def estimate_flow(ref: Tensor, cur: Tensor, *, radius: int = 4, block: int = 8,
                  noise_sigma: float | Tensor = 0.0) -> Tensor:
    """Per-pixel flow (B, 2, H, W) (dy, dx in pixels) with ``cur(p) ~= ref(p + flow(p))``.

    Args:
        ref, cur: (B, 1, H, W) luma of the previous and the current frame, same scale.
        radius: search radius in pixels at half resolution (the reach is twice that at full).
        block: block size in pixels at full resolution.
        noise_sigma: noise std of ``cur``; sets the zero-motion preference.
    Returns:
        (B, 2, H, W) float flow, smooth within blocks (bilinear between block centres).
    """
    check_shape(cur, "cur", ("B", 1, "H", "W"))
    check_shape(ref, "ref", tuple(cur.shape))
    pen = torch.as_tensor(noise_sigma, dtype=cur.dtype, device=cur.device).reshape(-1, 1, 1, 1)
    pen = 0.05 * pen + 1e-4
    h, w = cur.shape[-2:]
    # Coarse level: half resolution, full search.
    ref2, cur2 = F.avg_pool2d(ref, 2), F.avg_pool2d(cur, 2)
    coarse = _match(ref2, cur2, radius, block, pen)
    flow = 2.0 * _upsample(coarse, (h, w))
    # Fine level: warp the reference by the coarse flow, refine by +-2 px.
    refined = _match(warp(ref, flow), cur, 2, block, pen)
    flow = flow + _upsample(refined, (h, w))
    return flow


def _upsample(flow_blocks: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(flow_blocks, size=size, mode="bilinear", align_corners=False)


def warp(x: Tensor, flow: Tensor, padding: str = "border", mode: str = "bilinear") -> Tensor:
    """Sample ``x`` (B, C, H, W) at ``p + flow(p)``; flow (B, 2, H', W') in pixels of ``x``'s
    grid scaled from H', W' (it is resized and rescaled when the sizes differ).

    ``padding`` and ``mode`` ("bilinear", "bicubic", "nearest") are ``grid_sample``'s."""
    b, _, h, w = x.shape
    if flow.shape[-2:] != (h, w):
        sy, sx = h / flow.shape[-2], w / flow.shape[-1]
        flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
        flow = flow * torch.tensor([sy, sx], dtype=flow.dtype, device=flow.device).reshape(1, 2,
                                                                                          1, 1)
    ys = torch.arange(h, dtype=x.dtype, device=x.device).reshape(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).reshape(1, 1, w)
    gy = (ys + flow[:, 0]) * (2.0 / max(h - 1, 1)) - 1.0
    gx = (xs + flow[:, 1]) * (2.0 / max(w - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)  # (B,H,W,2) as grid_sample wants (x, y)
    return F.grid_sample(x, grid.expand(b, h, w, 2), mode=mode, padding_mode=padding,
                         align_corners=True)
