"""Adaptive quality: give up work, not latency, when the device cannot keep up.

The reader already bounds latency by dropping stale frames, but each frame still takes as
long as its render: on a slow device latency is the render time. So when the typical (median)
frame time goes over ``preview.target_ms``, the controller steps down a ladder of cheaper settings,
the cheapest loss first (the refinement network, then the sky stage, then the work size in
steps down to ``preview.min_scale``), and climbs back when there is room again. A level that
proved too slow is not retried for ``retry_s``, so the preview does not oscillate between two
levels. The HUD shows the current level and why.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import Config

SIZE_STEPS = (0.75, 0.5, 0.35, 0.25)  # work size, as a fraction of the profile's
HEADROOM = 0.6  # step up only when the render time is below this share of the budget


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: config overrides (on top of the profile's) and a size scale."""

    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    scale: float = 1.0


def ladder(config: Config) -> list[Step]:
    """The quality levels for ``config``, best first; each includes the cuts before it.

    Only stages that the config runs are offered (a refinement network only when the config
    has one and it is on).

    >>> from nightvid.config import load_config
    >>> [s.label for s in ladder(load_config("default"))]
    ['full quality', 'sky off', 'sky off, 75% size', 'sky off, 50% size', 'sky off, 35% size', \
'sky off, 25% size']
    """
    steps = [Step("full quality")]
    cuts: dict[str, Any] = {}
    names: list[str] = []
    refine = getattr(config, "refine", None)
    if refine is not None and getattr(refine, "enabled", False):
        cuts, names = {**cuts, "refine.enabled": False}, [*names, "refine off"]
        steps.append(Step(", ".join(names), cuts))
    if config.sky.enabled:
        cuts, names = {**cuts, "sky.enabled": False}, [*names, "sky off"]
        steps.append(Step(", ".join(names), cuts))
    for s in SIZE_STEPS:
        if s + 1e-9 >= config.preview.min_scale:
            steps.append(Step(", ".join([*names, f"{s:.0%} size"]), cuts, s))
    return steps


class AdaptiveController:
    """Chooses the ladder level from measured per-frame times.

    The decision looks at the median of the last ``settle_frames`` times: one frame delayed
    by another process (a busy machine) does not cost quality, a device that stays slow does.

    Args:
        target_ms: time budget per frame.
        levels: number of ladder levels.
        settle_frames: frames judged together, and frames to wait after a change (the first
            frames at a new size include the temporal filter restarting).
        enabled: False keeps level 0 whatever happens.
        retry_s: a level left for being too slow is not re-entered for this long.
    """

    def __init__(self, target_ms: float, levels: int, settle_frames: int = 6,
                 enabled: bool = True, retry_s: float = 10.0) -> None:
        self.target_ms, self.levels = target_ms, levels
        self.settle_frames, self.enabled, self.retry_s = max(1, settle_frames), enabled, retry_s
        self.level = 0
        self._times: list[float] = []
        self._too_slow: dict[int, float] = {}  # level -> when it was left for being too slow

    @property
    def recent_ms(self) -> float | None:
        """Median time of the frames judged so far at this level (None: none yet)."""
        return float(statistics.median(self._times)) if self._times else None

    def reset(self, levels: int) -> None:
        """A new ladder (profile or stage toggled): start again from the best level."""
        self.levels, self.level, self._times = levels, 0, []
        self._too_slow.clear()

    def update(self, frame_ms: float, now: float | None = None) -> int | None:
        """Record one frame's time; the new level when it changes, else None."""
        now = time.monotonic() if now is None else now
        self._times = [*self._times, frame_ms][-self.settle_frames:]
        if not self.enabled or len(self._times) < self.settle_frames:
            return None
        recent = statistics.median(self._times)
        if recent > self.target_ms and self.level < self.levels - 1:
            self._too_slow[self.level] = now
            return self._go(self.level + 1)
        up = self.level - 1
        if (up >= 0 and recent < HEADROOM * self.target_ms
                and now - self._too_slow.get(up, -1e9) > self.retry_s):
            return self._go(up)
        return None

    def _go(self, level: int) -> int:
        self.level, self._times = level, []
        return level

    @property
    def over_budget(self) -> bool:
        """At the lowest level and still too slow: frames are being dropped to hold latency."""
        recent = self.recent_ms
        return self.level == self.levels - 1 and recent is not None and recent > self.target_ms


def size_overrides(step: Step, display_wh: tuple[int, int]) -> dict[str, Any]:
    """The step's overrides plus its work size, for a profile whose display size is
    ``display_wh``: a width (the aspect is kept), explicit even at full size, since the frames
    the pipeline gets may already be shrunk to the display size (a profile's ``scale`` would
    then apply twice)."""
    width = display_wh[0] if step.scale >= 1.0 else round(display_wh[0] * step.scale) // 2 * 2
    return {**step.overrides, "output.width": max(16, width), "output.height": 0,
            "output.scale": 1.0}


def describe(config: Config) -> dict[str, bool]:
    """Which optional stages ``config`` runs (for the HUD and the browser's toggles)."""
    out = {"denoise": config.denoise.enabled, "temporal": config.temporal.enabled,
           "sky": config.sky.enabled}
    refine = getattr(config, "refine", None)
    if refine is not None:
        out["refine"] = bool(getattr(refine, "enabled", False))
    return out
