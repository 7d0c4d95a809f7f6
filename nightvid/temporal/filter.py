"""The temporal stage: motion-compensate the running average onto the frame, then update it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import TemporalConfig
from ..runtime import upload
from ..state import StreamState
from .align import estimate_flow, warp
from .recursive_filter import recursive_step


def flow_luma(packed: Tensor, long_side: int) -> Tensor:
    """Small square-root luma for motion estimation: (B, 1, h, w).

    The square root roughly equalises Poisson-Gaussian noise across levels (a variance-
    stabilising transform), so one matching threshold serves shadows and lit areas alike.
    """
    h, w = packed.shape[-2:]
    s = min(1.0, long_side / max(h, w))
    y = F.interpolate(packed.mean(dim=1, keepdim=True), size=(max(8, round(h * s)),
                      max(8, round(w * s))), mode="area")
    return y.clamp_min(0.0).sqrt()


def temporal_filter(packed: Tensor, state: StreamState, shot: float, read: float,
                    cfg: TemporalConfig,
                    kernels: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
                    ) -> tuple[Tensor, Tensor]:
    """Filter one frame against the stream's memory and update it.

    Args:
        packed: (B, 4, h, w) linear, black-subtracted, un-amplified, lens shading not applied.
        state: the stream's state (``acc``, ``count``, ``var``, ``prev_luma`` are read and
            replaced).
        shot, read: noise model of one sample of ``packed``.
        cfg: the temporal config.
        kernels: wraps the per-pixel update :func:`recursive_step` (e.g. a pipeline's compiled
            :class:`~nightvid.accel.Kernels`); None runs it as it is. Motion search and warps
            stay eager: compiled, the bicubic resampling ran 2x slower on the CPU.
    Returns:
        (filtered (B, 4, h, w), effective frames averaged per pixel (B, 1, h, w): one frame's
        noise variance over the filtered one's, so ``1 / frames`` scales the noise model).
    """
    if state.acc is None or state.acc.shape != packed.shape:
        state.acc, state.count = packed, torch.ones_like(packed[:, :1])
        state.var, state.prev_luma = state.count, flow_luma(packed, cfg.flow_long_side)
        return packed, state.count
    assert state.prev_luma is not None and state.count is not None and state.var is not None
    update = recursive_step if kernels is None else kernels(recursive_step)
    acc, count, var, flow, luma = temporal_step(
        packed, state.acc, state.count, state.var, state.prev_luma,
        upload(shot, packed.device), upload(read, packed.device),
        flow_long_side=cfg.flow_long_side, search_px=cfg.search_px, block=cfg.block,
        max_frames=cfg.max_frames, motion_sigmas=cfg.motion_sigmas, warp_mode=cfg.warp,
        update=update)
    state.acc, state.count, state.var, state.flow = acc, count, var, flow
    state.prev_luma = luma  # the cleaner reference next time
    return acc, 1.0 / var


def temporal_step(packed: Tensor, acc: Tensor, count: Tensor, var: Tensor, prev_luma: Tensor,
                  shot: Tensor, read: Tensor, *, flow_long_side: int, search_px: int,
                  block: int, max_frames: float, motion_sigmas: float,
                  warp_mode: str = "bicubic", update: Callable[..., Any] = recursive_step,
                  ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The filter's arithmetic for one frame, a pure function of the memory and the frame.

    Args:
        packed: (B, 4, h, w) the new frame; acc, count, var: the memory (average, frames in
            it, its noise variance relative to one frame's); prev_luma: the average's flow
            luma; shot, read: 0-d noise model tensors. Keywords: the ``[temporal]`` settings,
            and ``update``, :func:`recursive_step` or a compiled form of it.
    Returns:
        (new average, count, variance, flow (B, 2, hl, wl), flow luma of the new average).
    """
    luma = flow_luma(packed, flow_long_side)
    # Noise std of the luma image: sqrt-domain std ~ sigma / (2 sqrt(x)), averaged over the
    # 4 planes and the area downsample.
    n_px = packed.shape[-2] * packed.shape[-1] / (luma.shape[-2] * luma.shape[-1])
    level = luma.square().mean().clamp_min(1e-6)
    sigma = ((shot * level + read) / (4.0 * n_px)).sqrt() / (2.0 * level.sqrt())
    flow = estimate_flow(prev_luma, luma, radius=search_px, block=block, noise_sigma=sigma)
    # Bicubic for the average: it is resampled again every frame, and repeated bilinear
    # resampling at sub-pixel shifts blurs it more each time (benchmarks/temporal_quality.py:
    # +0.5-1 dB on the clips with motion, -0.5 dB on the mostly static bikes.mp4, where the
    # extra blur happened to pay; visibly sharper). Bilinear (the fast profile) is 2x cheaper.
    acc_w = warp(acc, flow, mode=warp_mode)
    # Counts and variances in one call; samples fetched from outside the previous frame
    # (zero padding: "inside" < 1) have no history.
    aux = warp(torch.cat([count, var, torch.ones_like(count)], dim=1), flow,
               padding="zeros")  # (B,3,h,w): count, var, inside
    count_w = aux[:, :1] * (aux[:, 2:] > 0.999)
    var_w = aux[:, 1:2]
    acc, count, var = update(packed, acc_w, count_w, shot, read, var=var_w,
                             max_frames=max_frames, motion_sigmas=motion_sigmas)
    return acc, count, var, flow, flow_luma(acc, flow_long_side)
