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
    """An estimate refreshed every ``every`` frames and smoothed over time between refreshes.

    With ``log=True`` the smoothing runs on log values (right for gains: halfway between x2 and
    x0.5 is x1). Each frame the smoothed value moves towards the latest refresh by
    ``max(1 - exp(-1/tau), w_k / (w_1 + ... + w_k))``, ``k`` counting the frames since the
    stream started or was reset and ``w`` their weights (``weight()``, default 1): a weighted
    running mean of the frames so far until it would weigh the newest frame less than an EMA of
    time constant ``tau`` frames does, then that EMA. So a fresh stream (or a new shot) starts
    from its first estimate with no lag, averages its first ~``tau`` frames (refreshing on every
    one of them) instead of clinging to the first, noisiest, estimate, and then forgets old
    frames with time constant ``tau`` whatever the refresh period. :class:`StreamState` weighs
    a frame by how clean the estimators' input is (the temporal filter's effective frame count):
    right after a cut the filter has averaged nothing yet, and those estimates count less.

    With a ``deadband`` (in the units smoothed: log units for gains) the applied value follows
    the smoothed one only by what it strays beyond the band (a play, or backlash, operator):
    estimates of a static scene still wander slowly (their noise is correlated from frame to
    frame once the temporal filter averages it), and a band just above that wander keeps the
    output still, at the cost of an offset within the band.

    >>> import torch
    >>> est = SmoothedEstimate(every=1, tau_frames=10, log=False)
    >>> [round(float(est.update(lambda v=v: torch.tensor(v))), 3) for v in (1.0, 2.0, 3.0)]
    [1.0, 1.5, 2.0]
    """

    def __init__(self, every: int, tau_frames: float, log: bool = True,
                 weight: Callable[[], Tensor | None] | None = None,
                 deadband: float = 0.0) -> None:
        self.every = max(1, int(every))
        self.deadband = deadband
        self.alpha = 1.0 - math.exp(-1.0 / tau_frames) if tau_frames > 0 else 1.0
        self.log = log
        self.weight = weight
        self.target: Tensor | None = None
        self.smooth: Tensor | None = None  # the weighted mean / EMA
        self.value: Tensor | None = None  # what is applied: ``smooth`` through the dead band
        self.weight_sum: Tensor | float = 0.0
        self.target_weight: Tensor | float = 1.0
        self.age = 0  # frames since the last refresh
        self.frames = 0  # frames since the last reset
        self.refreshes = 0

    def reset(self) -> None:
        self.target = self.smooth = self.value = None
        self.weight_sum = 0.0
        self.age = self.frames = 0

    def update(self, compute: Callable[[], Tensor]) -> Tensor:
        """Advance one frame: refresh via ``compute()`` when due, then step the smoothing."""
        # While the running mean lasts (a new shot), refresh every frame: each frame's estimate
        # is another sample of the average, so a new scene's value settles sooner.
        warm = self.frames * self.alpha < 1.0
        if self.target is None or self.age >= self.every or warm:
            est = compute()
            self.target = est.clamp_min(1e-8).log() if self.log else est
            # The refresh's weight lives where the estimate does (the host for WB, which is
            # smoothed there): moved once per refresh, never per frame.
            w = self.weight() if self.weight is not None else None
            self.target_weight = 1.0 if w is None else w.to(est.device).reshape(
                -1, *([1] * (est.dim() - 1)))  # (B,) -> (B,1..) like the estimate
            self.age = 0
            self.refreshes += 1
        self.age += 1
        self.frames += 1
        self.weight_sum = self.weight_sum + self.target_weight
        if self.smooth is None or self.value is None:
            self.smooth = self.value = self.target  # fresh stream or after a cut: no lag
        else:
            step = self.target_weight / self.weight_sum  # tensors: no host sync
            step = step.clamp_min(self.alpha) if isinstance(step, Tensor) else max(step,
                                                                                    self.alpha)
            self.smooth = self.smooth + step * (self.target - self.smooth)
            # Dead band (play): the applied value follows the smoothed one only by what it
            # strays beyond the band, so the smoothed estimate's slow wander moves nothing.
            d = self.deadband
            self.value = self.smooth + (self.value - self.smooth).clamp(-d, d)
        return self.value.exp() if self.log else self.value


@dataclass
class StreamState:
    """Per-stream caches and filter memory (one per source; never shared between streams)."""

    config: StreamConfig = field(default_factory=StreamConfig)
    frame_index: int = 0
    cuts: list[int] = field(default_factory=list)
    # Temporal filter memory: running average (B,4,h,w), frame counts (B,1,h,w), the average's
    # noise variance relative to one frame's (B,1,h,w), luma for flow.
    acc: Tensor | None = None
    count: Tensor | None = None
    var: Tensor | None = None
    prev_luma: Tensor | None = None
    prev_hist: Tensor | None = None  # previous 16x9 log thumbnail
    flow: Tensor | None = None  # last frame's flow, (B,2,h,w) in luma pixels

    def __post_init__(self) -> None:
        c, w = self.config, self.input_weight
        self.wb = SmoothedEstimate(c.wb_every, c.wb_smoothing_frames, log=True, weight=w,
                                   deadband=c.wb_deadband_log)
        self.amp = SmoothedEstimate(c.tone_every, c.tone_smoothing_frames, log=True, weight=w)
        self.levels = SmoothedEstimate(c.tone_every, c.tone_smoothing_frames, log=False, weight=w)
        self.sky = SmoothedEstimate(c.sky_every, c.sky_smoothing_frames, log=False, weight=w)

    def input_weight(self) -> Tensor | None:
        """(B,) how clean this frame is for the cached estimators: one over the temporal
        filter's mean relative noise variance (its effective frame count); None without it."""
        return None if self.var is None else 1.0 / self.var.mean(dim=(1, 2, 3)).clamp_min(1e-6)

    def reset(self) -> None:
        """Forget everything (a scene cut or a size change)."""
        self.acc = self.count = self.var = self.prev_luma = self.flow = None
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
