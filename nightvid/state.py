"""StreamState: what the engine keeps across the frames of one stream.

Estimates that flicker when recomputed on every noisy frame (white balance, amplification,
contrast levels, the sky mask) are refreshed on a schedule and smoothed in between; a cheap
scene-cut detector resets everything so no colour or exposure drags across a cut. A single
photo is a stream of one frame: a fresh state computes every estimate once, unsmoothed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor

from .config import StreamConfig


class SmoothedEstimate:
    """An estimate refreshed every ``every`` frames and smoothed by an EMA between refreshes.

    With ``log=True`` the EMA runs on log values (right for gains: halfway between x2 and x0.5
    is x1). The smoothed value moves towards the latest refresh by ``1 - exp(-1/tau)`` per
    frame, so the time constant is ``tau`` frames whatever the refresh period.
    """

    def __init__(self, every: int, tau_frames: float, log: bool = True) -> None:
        self.every = max(1, int(every))
        self.alpha = 1.0 - math.exp(-1.0 / tau_frames) if tau_frames > 0 else 1.0
        self.log = log
        self.target: Tensor | None = None
        self.value: Tensor | None = None
        self.age = 0
        self.refreshes = 0

    def reset(self) -> None:
        self.target = self.value = None
        self.age = 0

    def update(self, compute: Callable[[], Tensor]) -> Tensor:
        """Advance one frame: refresh via ``compute()`` when due, then step the EMA."""
        if self.target is None or self.age >= self.every:
            est = compute()
            self.target = est.clamp_min(1e-8).log() if self.log else est
            self.age = 0
            self.refreshes += 1
        self.age += 1
        if self.value is None:
            self.value = self.target  # fresh stream or after a cut: no smoothing lag
        else:
            self.value = self.value + self.alpha * (self.target - self.value)
        return self.value.exp() if self.log else self.value


@dataclass
class StreamState:
    """Per-stream caches and filter memory (one per source; never shared between streams)."""

    config: StreamConfig = field(default_factory=StreamConfig)
    frame_index: int = 0
    cuts: list[int] = field(default_factory=list)
    # Temporal filter memory: running average (B,4,h,w), frame counts (B,1,h,w), luma for flow.
    acc: Tensor | None = None
    count: Tensor | None = None
    prev_luma: Tensor | None = None
    prev_hist: Tensor | None = None  # previous 16x9 log thumbnail
    flow: Tensor | None = None  # last frame's flow, (B,2,h,w) in luma pixels

    def __post_init__(self) -> None:
        c = self.config
        self.wb = SmoothedEstimate(c.wb_every, c.wb_smoothing_frames, log=True)
        self.amp = SmoothedEstimate(c.tone_every, c.tone_smoothing_frames, log=True)
        self.levels = SmoothedEstimate(c.tone_every, c.tone_smoothing_frames, log=False)
        self.sky = SmoothedEstimate(c.sky_every, c.sky_smoothing_frames, log=False)

    def reset(self) -> None:
        """Forget everything (a scene cut or a size change)."""
        self.acc = self.count = self.prev_luma = self.flow = None
        for cache in (self.wb, self.amp, self.levels, self.sky):
            cache.reset()

    def detect_cut(self, packed_thumb: Tensor) -> bool:
        """Compare a 16x9 log thumbnail with the previous frame's; above the threshold: reset.

        Each plane's mean log level is removed first, so exposure drifts and white-balance
        changes within a shot do not count; a pan or a moving object changes a few cells, a
        cut changes the layout everywhere. Measured on the bundled clip: 0.14-0.49 within
        shots, 1.65 at the cut (mean absolute log2 difference).
        """
        t = F.adaptive_avg_pool2d(packed_thumb, (9, 16)).clamp_min(1e-4).log2()
        t = t - t.mean(dim=(2, 3), keepdim=True)
        cut = False
        if self.prev_hist is not None and self.prev_hist.shape == t.shape:
            dist = (t - self.prev_hist).abs().mean()
            cut = bool(dist > self.config.cut_threshold)  # one host sync per frame, tiny
        self.prev_hist = t
        if cut:
            self.reset()
            self.cuts.append(self.frame_index)
        return cut

    def thumbnail(self, packed: Tensor, long_side: int = 64) -> Tensor:
        h, w = packed.shape[-2:]
        s = min(1.0, long_side / max(h, w))
        return F.interpolate(packed, size=(max(1, round(h * s)), max(1, round(w * s))),
                             mode="area")
