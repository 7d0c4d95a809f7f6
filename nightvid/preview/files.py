"""What a preview writes to disk: recordings (started and stopped at will) and snapshots.

A recording asked for before the first frame (``--record``) starts at the first frame, when
the display size is known. Stopping or ending the preview finalises the file; a recording
that fails (disk full) stops with a warning and the preview goes on.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SinkError
from ..sinks.images import write_image
from .recorder import Recorder

log = logging.getLogger(__name__)


class PreviewFiles:
    """Recordings and snapshots of one preview session.

    Args:
        record: the first recording's path (started at the first frame), or None.
        folder: where snapshots and unnamed recordings go.
        preset: x264/x265 preset of recordings.
    """

    def __init__(self, record: Path | None, folder: Path, preset: str) -> None:
        self.first, self.folder, self.preset = record, Path(folder), preset
        self.pending: Path | None = record
        self.recorder: Recorder | None = None
        self.done: list[tuple[str, int]] = []  # (path, frames) of finished recordings
        self._used: set[Path] = set()

    def toggle(self) -> None:
        """Start a recording (at the next frame) or stop the current one."""
        if self.recorder is not None or self.pending is not None:
            self.pending = None
            self.stop()
        else:
            self.pending = self._next_path()

    def _next_path(self) -> Path:
        if self.first is None:
            return self.folder / f"nightvid-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        path, n = self.first, 2
        while path in self._used or (path != self.first and path.exists()):
            path, n = self.first.with_name(f"{self.first.stem}-{n}{self.first.suffix}"), n + 1
        return path

    def write(self, enhanced: np.ndarray, t_capture: float, size_wh: tuple[int, int],
              fps: float | None) -> None:
        """Hand the frame to the recording, starting a pending one first."""
        if self.pending is not None:
            path, self.pending = self.pending, None
            self._used.add(path)
            try:
                self.recorder = Recorder(path, size_wh, fps or 30.0, self.preset)
            except SinkError as exc:
                log.warning("recording not started: %s", exc)
                return
        if self.recorder is None:
            return
        if self.recorder.error is not None:
            self.stop()
            return
        self.recorder.write(enhanced, t_capture)

    def stop(self) -> str | None:
        """Finalise the current recording; a one-line note of what it holds."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        try:
            frames = rec.close()
        except SinkError as exc:
            log.warning("recording stopped: %s", exc)
            frames = rec.frames
        self.done.append((str(rec.path), frames))
        return f"recording {rec.path} finalised ({frames} frames)"

    def close_all(self) -> list[str]:
        """Stop recording (end of the session); notes of every recording made."""
        self.pending = None
        self.stop()
        return [f"recording {p} finalised ({n} frames)" for p, n in self.done]

    @property
    def status(self) -> dict[str, Any] | None:
        rec = self.recorder
        if rec is None:
            return None
        return {"path": str(rec.path), "frames": rec.frames, "seconds": round(rec.seconds, 1),
                "skipped": rec.skipped}

    def snapshot(self, composite: np.ndarray, enhanced: np.ndarray, index: int) -> list[Path]:
        """Write the composite (what is shown, without the HUD) and the enhanced frame as PNG.

        Raises:
            SinkError: the folder is missing or not writable.
        """
        stem = f"nightvid-{time.strftime('%Y%m%d-%H%M%S')}-{index:06d}"
        paths = [self.folder / f"{stem}.png", self.folder / f"{stem}-enhanced.png"]
        write_image(composite, paths[0])
        write_image(enhanced, paths[1])
        return paths
