"""Live figures of a preview: frame rate, latency, work time, and the run's summary.

Latency is capture to frame ready: from the moment the capture returned the frame (the reader
thread stamps it) to the moment the enhanced frame and its composite are ready to show. Work
time is the part of it spent rendering (from taking the frame to ready); the rest is the time
the frame waited in the reader's slot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LiveStats:
    """Rolling figures over the last ``window_s`` seconds, plus every latency for the summary."""

    window_s: float = 2.0
    shown: int = 0
    first_t: float | None = None
    last_t: float | None = None
    recent: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, lat, work)
    latencies_ms: list[float] = field(default_factory=list)
    work_ms: list[float] = field(default_factory=list)

    def add(self, t_ready: float, latency_ms: float, work_ms: float) -> None:
        self.shown += 1
        self.first_t = t_ready if self.first_t is None else self.first_t
        self.last_t = t_ready
        self.recent.append((t_ready, latency_ms, work_ms))
        while self.recent and self.recent[0][0] < t_ready - self.window_s:
            self.recent.popleft()
        self.latencies_ms.append(latency_ms)
        self.work_ms.append(work_ms)

    @property
    def fps(self) -> float:
        """Frames shown per second over the window."""
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1][0] - self.recent[0][0]
        return (len(self.recent) - 1) / span if span > 0 else 0.0

    @property
    def latency_ms(self) -> float:
        return self.recent[-1][1] if self.recent else 0.0

    def latency_p95_ms(self) -> float:
        return float(np.percentile([r[1] for r in self.recent], 95)) if self.recent else 0.0

    @property
    def last_work_ms(self) -> float:
        return self.recent[-1][2] if self.recent else 0.0


@dataclass
class PreviewSummary:
    """What a preview session did (printed by ``nightvid preview`` at the end)."""

    frames: int = 0  # frames shown
    captured: int = 0
    dropped: int = 0
    reconnects: int = 0
    wall_s: float = 0.0
    fps: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_max_ms: float = 0.0
    work_ms: float = 0.0  # median
    quality: str = ""  # the adaptive level at the end
    recordings: list[tuple[str, int]] = field(default_factory=list)  # (path, frames)
    interrupted: bool = False

    @classmethod
    def from_stats(cls, stats: LiveStats, skip: int = 0, **kw: object) -> PreviewSummary:
        """Summarise ``stats``; the first ``skip`` frames (warm-up) are left out of latency."""
        lat = np.array(stats.latencies_ms[skip:] or stats.latencies_ms or [0.0])
        work = np.array(stats.work_ms[skip:] or stats.work_ms or [0.0])
        span = (stats.last_t or 0.0) - (stats.first_t or 0.0)
        return cls(frames=stats.shown, fps=(stats.shown - 1) / span if span > 0 else 0.0,
                   latency_p50_ms=float(np.percentile(lat, 50)),
                   latency_p95_ms=float(np.percentile(lat, 95)),
                   latency_max_ms=float(lat.max()), work_ms=float(np.median(work)),
                   **kw)  # type: ignore[arg-type]

    def format(self) -> str:
        pct = 100.0 * self.dropped / self.captured if self.captured else 0.0
        text = (f"{self.frames} frames shown of {self.captured} captured ({self.dropped} "
                f"dropped, {pct:.0f} %) in {self.wall_s:.1f} s: {self.fps:.1f} fps, latency "
                f"p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms, max "
                f"{self.latency_max_ms:.0f} ms; render {self.work_ms:.0f} ms per frame "
                f"(median); quality: {self.quality}")
        if self.reconnects:
            text += f"; {self.reconnects} reconnects"
        for path, n in self.recordings:
            text += f"; recorded {path} ({n} frames)"
        return text + ("; stopped by Ctrl-C" if self.interrupted else "")
