"""Ordinary (no longer raw) video through PyAV, for the RGB path: dark phone/webcam footage.

Frames are ``(H, W, 3)`` display RGB, full range: uint8 for 8-bit sources, uint16 (the full
0..65535 scale) for deeper ones (10/12-bit HEVC, ProRes, FFV1). The Y'CbCr -> RGB matrix is
the stream's tagged one; untagged streams use BT.709 from 720 lines up and BT.601 below, as
players do. ``pts``/``time_base`` are the stream's own, ``fps`` its average rate. Decoding is
sequential (a decoder is stateful) but threaded inside FFmpeg (``thread_type = "AUTO"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from ..errors import SourceError
from ..types import Frame
from .base import SOURCES, FrameSource, check_start, parse_fps

__all__ = ["VIDEO_SUFFIXES", "RgbVideoSource", "frame_to_rgb"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
_UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED
_HD_LINES = 720  # untagged video at least this tall is taken as BT.709


def _open(path: Path) -> Any:
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise SourceError(f"{path}: cannot open as video ({exc})") from None


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A decoded PyAV frame as (H, W, 3) display RGB, full range: uint8, or uint16 for deeper
    sources; untagged Y'CbCr is taken as BT.709 from 720 lines up, BT.601 below (as players
    do). The array is a fresh copy: safe after the container closes."""
    deep = max(c.bits for c in frame.format.components) > 8
    kwargs: dict[str, Any] = {"format": "rgb48le" if deep else "rgb24"}
    if frame.colorspace == _UNSPECIFIED and not frame.format.name.startswith(("rgb", "gbr")):
        cs = av.video.reformatter.Colorspace
        kwargs["src_colorspace"] = cs.ITU709 if frame.height >= _HD_LINES else cs.ITU601
    return frame.to_ndarray(**kwargs)


@SOURCES.register("rgb_video", suffixes=VIDEO_SUFFIXES)
class RgbVideoSource(FrameSource):
    """The first video stream of a container, decoded to display RGB.

    Args:
        path: an .mp4/.mov/.mkv/.avi/.webm/.m4v (anything FFmpeg opens).
        fps: frame rate to conform to: pts become frame indices with ``time_base = 1 / fps``.
            None keeps the stream's own timestamps.
        start: frames to skip at the beginning (resume): they are decoded (a decoder cannot
            jump exactly) but not converted. Frame.index and pts stay absolute.
    Attributes:
        size: (W, H); ``audio_path``: ``path`` when it has an audio stream, else None.
    Raises:
        SourceError: missing file, not a container FFmpeg opens, no video stream; a frame
            that fails to decode raises from the iterator, naming the file and frame index.
    """

    kind: Literal["raw", "rgb"] = "rgb"

    def __init__(self, path: str | Path, *, fps: Fraction | float | str | None = None,
                 start: int = 0) -> None:
        self.path = p = Path(path)
        self.start = check_start(start)
        if not p.is_file():
            raise SourceError(f"{p}: no such file")
        with _open(p) as container:
            if not container.streams.video:
                raise SourceError(f"{p}: no video stream")
            stream = container.streams.video[0]
            self.size = (stream.codec_context.width, stream.codec_context.height)
            self._frames = int(stream.frames or 0)
            self.audio_path = p if container.streams.audio else None
            self._stream_time_base = stream.time_base or Fraction(1, 90000)
            rate = stream.average_rate or stream.guessed_rate
            self._stream_fps = Fraction(rate) if rate else None
        self._conform = fps is not None
        self.fps = parse_fps(fps, "fps") if fps is not None else self._stream_fps
        self.time_base = 1 / self.fps if self._conform and self.fps else self._stream_time_base
        self._container: Any = None

    def __len__(self) -> int:
        if not self._frames:  # containers without a frame count (mkv, webm): count packets
            with _open(self.path) as container:
                stream = container.streams.video[0]
                self._frames = sum(1 for pk in container.demux(stream) if pk.size)
        return max(0, self._frames - self.start)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        try:
            with _open(self.path) as container:
                self._container = container
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    if index >= self.start:
                        yield self._to_frame(frame, index)
                    index += 1
        except av.FFmpegError as exc:
            raise SourceError(f"{self.path}: frame {index}: cannot decode ({exc})") from None
        finally:
            self._container = None

    def _to_frame(self, frame: Any, index: int) -> Frame:
        data = frame_to_rgb(frame)
        if self._conform or frame.pts is None:
            pts = round(index / (self.fps or 1) / self.time_base) if self.fps else index
        else:
            pts = int(frame.pts)
        return Frame(data=data, pts=pts, time_base=self.time_base, meta=None, index=index)

    def close(self) -> None:
        """Close the decoder of an iteration still in progress."""
        if self._container is not None:
            self._container.close()
            self._container = None
