"""Recording while previewing: the enhanced frames into a video file, in their own thread.

The file is written by the ordinary :class:`~nightvid.sinks.av_video.VideoSink` (fragmented
MP4: a killed process still leaves a playable file), at a fixed size (the profile's display
size: adaptive quality may render smaller frames, which are scaled back up) and with each
frame's capture time as its timestamp, so dropped frames give a variable frame rate that
plays at the right speed rather than a fast-forward. Encoding runs in a thread behind a short
queue; when the encoder cannot keep up, frames are left out of the recording (counted) rather
than delaying the preview.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..sinks.av_video import VideoSink
from .compose import fit

#: Recording timestamps are milliseconds of the capture clock.
RECORD_TIME_BASE = Fraction(1, 1000)


class Recorder:
    """Encode display frames to ``path`` as they come, without blocking the caller.

    Args:
        path: .mp4, .mov or .mkv (codec from the suffix, as for ``nightvid enhance``).
        size_wh: frame size of the file; frames of another size are scaled to it. Odd sizes are
            rounded down to even (4:2:0 chroma).
        fps: nominal frame rate (the encoder's GOP and each frame's duration).
        preset: x264/x265 preset (a fast one: the encoder shares the CPU with the preview).
        depth: frames queued before new ones are left out.
    Raises:
        SinkError: as :class:`VideoSink` (bad suffix, missing folder ...).
    """

    def __init__(self, path: str | Path, size_wh: tuple[int, int], fps: float,
                 preset: str = "veryfast", depth: int = 4) -> None:
        self.path = Path(path)
        self.size_wh = (max(2, size_wh[0] // 2 * 2), max(2, size_wh[1] // 2 * 2))
        rate = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(30)
        self.sink = VideoSink(self.path, fps=rate, time_base=RECORD_TIME_BASE, preset=preset)
        self.frames = 0  # frames encoded
        self.skipped = 0  # frames left out because the encoder was behind
        self.error: BaseException | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self._q: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._loop, name="nightvid-record", daemon=True)
        self._thread.start()

    def write(self, rgb: np.ndarray, t_capture: float) -> None:
        """Queue one (H, W, 3) uint8 frame captured at monotonic time ``t_capture``."""
        if self.error is not None:
            return
        self._t0 = t_capture if self._t0 is None else self._t0
        pts = max(round((t_capture - self._t0) / RECORD_TIME_BASE), self._last_pts + 1)
        try:
            self._q.put_nowait((rgb, pts))
        except queue.Full:
            self.skipped += 1
            return
        self._last_pts = pts

    @property
    def seconds(self) -> float:
        return max(self._last_pts, 0) * float(RECORD_TIME_BASE)

    def _loop(self) -> None:
        while (item := self._q.get()) is not None:
            if self.error is not None:
                continue
            rgb, pts = item
            try:
                self.sink.write(np.ascontiguousarray(fit(rgb, self.size_wh)), pts)
                self.frames += 1
            except BaseException as exc:  # reported by close() and the HUD
                self.error = exc

    def close(self) -> int:
        """Encode what is queued, finalise the file; the number of frames in it.

        Raises:
            SinkError: writing failed (the file holds the frames written before).
        """
        self._q.put(None)
        self._thread.join()
        self.sink.close()
        if self.error is not None:
            raise self.error
        return self.frames
