"""Running the networks on whole frames: bounded memory by overlapping tiles, and the
precision each device runs best at.

**Tiles.** A frame larger than ``tile`` x ``tile`` is cut into tiles whose neighbours share at
least ``2 * overlap`` pixels. Each tile's output is weighted by 0 over its outer
``overlap / 2`` pixels (where padding corrupts it) and a linear ramp over the next ``overlap``;
the weighted sum is divided by the summed weights. Every output pixel is a convex blend of
tiles that saw it with at least ``overlap / 2`` pixels of real context, so no seam shows when
that covers the network's effective receptive field (measured in tests/nets/test_infer.py).

**Precision.** CUDA: float16 autocast (tensor cores). CPU: bfloat16 autocast where the CPU
has native bf16 (AVX-512 BF16 / AMX; ``runtime.cpu_bf16 = "auto"``), else float32; weights
channels-last on both. Measured on this CPU, 1 thread (``python3 benchmarks/net_precision.py``,
2026-11-23): the 100k-parameter raw denoiser at 960x540 packed 161 ms float32, 97 ms
channels-last, 78 ms bf16 channels-last; the refiner at 1080p 381 -> 93 ms. bf16 moves the
denoiser's validation PSNR by -0.009 dB (``nightvid eval --sections denoiser``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["autocast", "cpu_has_bf16", "run_tiled", "tile_starts", "use_bf16"]


def tile_starts(size: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of (at most) ``tile`` px covering ``size``: multiples of
    ``align`` (a U-Net that downsamples by 8 must see tiles on its own 8-pixel grid, or its
    output changes), neighbours sharing at least ``2 * overlap`` px. The last tile runs to the
    border and may be shorter.

    >>> tile_starts(100, 128, 16)
    [0]
    >>> tile_starts(300, 128, 16, align=8)
    [0, 96, 192]
    """
    if size <= tile:
        return [0]
    step = (tile - 2 * overlap) // align * align
    if step <= 0:
        raise ValueError(f"tile {tile} too small for overlap {overlap} and alignment {align}")
    starts = [0]
    while starts[-1] + tile < size:
        starts.append(starts[-1] + step)
    return starts


def _ramp(n: int, lo_edge: bool, hi_edge: bool, overlap: int, like: Tensor) -> Tensor:
    """1-D weights of a tile of ``n`` px: at an inner side, 0 over the outer ``overlap // 2``
    px (context only), then a linear rise over ``overlap`` px; 1 at a frame border."""
    w = torch.ones(n, dtype=like.dtype, device=like.device)
    m = overlap // 2
    if overlap > 0:
        r = torch.cat([torch.zeros(m), (torch.arange(overlap) + 0.5) / overlap]).to(like)
        if not lo_edge:
            w[: len(r)] = r
        if not hi_edge:
            w[n - len(r):] = torch.minimum(w[n - len(r):], r.flip(0))
    return w


def run_tiled(fn: Callable[..., Tensor], inputs: Sequence[Tensor], tile: int = 512,
              overlap: int = 32, align: int = 1) -> Tensor:
    """``fn(*inputs)`` computed tile by tile.

    Args:
        fn: maps tensors (B, C_i, h, w) of equal h, w to (B, C_out, h, w).
        inputs: full-size tensors; an input whose last two dims are 1 (a per-frame scalar
            map) is passed whole to every tile.
        tile: tile side in pixels (frames no larger run in one call).
        overlap: blend width in pixels.
        align: tile offsets are multiples of this (a network's downsampling factor).
    Returns:
        (B, C_out, H, W).
    """
    h, w = inputs[0].shape[-2:]
    if h <= tile and w <= tile:
        return fn(*inputs)
    ys, xs = tile_starts(h, tile, overlap, align), tile_starts(w, tile, overlap, align)
    out: Tensor | None = None
    weight = torch.zeros(1, 1, h, w, dtype=inputs[0].dtype, device=inputs[0].device)
    for y in ys:
        for x in xs:
            th, tw = min(tile, h - y), min(tile, w - x)
            crop = [t if t.shape[-1] == 1 and t.shape[-2] == 1 else
                    t[..., y:y + th, x:x + tw] for t in inputs]
            res = fn(*crop)
            if out is None:
                out = torch.zeros(res.shape[0], res.shape[1], h, w, dtype=res.dtype,
                                  device=res.device)
            wy = _ramp(th, y == 0, y + th >= h, overlap, res)
            wx = _ramp(tw, x == 0, x + tw >= w, overlap, res)
            wt = wy[:, None] * wx[None, :]
            out[..., y:y + th, x:x + tw] += res * wt
            weight[..., y:y + th, x:x + tw] += wt
    assert out is not None
    return out / weight.to(out.dtype)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


def use_bf16(mode: str) -> bool:
    """``runtime.cpu_bf16`` (auto | on | off) resolved for this machine."""
    return mode == "on" or (mode == "auto" and cpu_has_bf16())


def autocast(device: torch.device, cpu_bf16: bool = False) -> torch.autocast:
    """float16 autocast on CUDA; bfloat16 on the CPU when ``cpu_bf16``; else float32."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)
