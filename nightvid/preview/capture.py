"""Live capture: URLs and files through PyAV, raw clips replayed; the protocol all captures
follow (cameras: :mod:`nightvid.preview.camera`), and :func:`open_capture`.

A capture is opened, read one image at a time (blocking until the device has one), and closed.
``read`` returns ``(data, meta)``: an ``(H, W)`` mosaic in sensor DN with its RawMeta (raw
Bayer cameras, replayed raw clips), or ``(H, W, 3)`` display RGB with ``meta`` None (the RGB
path), H and W even; ``None`` at the end of a file. Captures are used by one thread only
(:class:`~nightvid.preview.reader.LatestFrameReader`), so they hold no locks.

``live`` captures (URLs) are reopened with backoff when they fail; a camera that stops sending
frames, or a file that cannot be decoded, raises SourceError with a one-line message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import av
import numpy as np

from ..errors import SourceError
from ..sources import open_source
from ..sources.rgb_video import VIDEO_SUFFIXES, frame_to_rgb
from ..types import RawMeta

Image = tuple[np.ndarray, RawMeta | None]


class Capture(Protocol):
    """What the reader thread needs from a capture device."""

    name: str
    kind: Literal["raw", "rgb"]
    fps: float | None
    live: bool  # a network stream: reopen with backoff when it fails

    def open(self) -> None: ...

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


def even(img: np.ndarray) -> np.ndarray:
    """Crop to even height and width (the pipeline's 2x2 packing needs them); never pads."""
    h, w = img.shape[:2]
    return img if not (h % 2 or w % 2) else np.ascontiguousarray(img[: h // 2 * 2, : w // 2 * 2])


class Pacer:
    """Sleeps so that frames come out at their own timestamps (a file played as if live)."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def wait(self, t_s: float) -> None:
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now - t_s
        delay = self.t0 + t_s - now
        if delay > 0:
            time.sleep(delay)


class AvCapture:
    """Any URL FFmpeg opens (rtsp, udp, http, ...) or a video file, through PyAV (RGB path).

    Args:
        target: URL or file path.
        realtime: a file plays at its own pace (frames come out at their timestamps); without
            it a file is read as fast as it decodes. URLs are live already.
        loop: a file starts again at its end instead of ending the stream.
        open_timeout_s, read_timeout_s: URLs: give up opening / waiting for data after this.
    """

    def __init__(self, target: str, *, realtime: bool = False, loop: bool = False,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 5.0) -> None:
        self.target = target
        self.name = target
        self.live = "://" in target and not target.startswith("file:")
        self.realtime, self.loop = realtime and not self.live, loop and not self.live
        self.timeouts = (open_timeout_s, read_timeout_s)
        self.kind: Literal["raw", "rgb"] = "rgb"
        self.fps: float | None = None
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._pacer = Pacer()
        self._offset_s = 0.0  # a looped file's time keeps increasing
        self._last_s = 0.0

    def open(self) -> None:
        options = {}
        if self.live:
            # Frames out of the decoder as soon as they are complete. (fflags=nobuffer would
            # cut input buffering further, but with it PyAV decoded no frame of an MPEG-TS.)
            options = {"flags": "low_delay"}
            if self.target.startswith("rtsp"):
                options["rtsp_transport"] = "tcp"  # UDP loses packets: smeared frames
        try:
            container = av.open(self.target, options=options,
                                timeout=self.timeouts if self.live else None)
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"{self.name}: cannot open ({_reason(exc)})") from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.name}: no video stream")
        stream = container.streams.video[0]
        # Frame threads hold frames back (latency); slices do not.
        stream.thread_type = "SLICE" if self.live else "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self._container, self._frames = container, container.decode(stream)

    def read(self) -> Image | None:
        while True:
            try:
                frame = next(self._frames, None) if self._frames is not None else None
            except (av.FFmpegError, OSError) as exc:
                raise SourceError(f"{self.name}: cannot decode ({_reason(exc)})") from None
            if frame is not None:
                break
            if self.live:
                raise SourceError(f"{self.name}: the stream ended")
            if not self.loop:
                return None
            self._offset_s = self._last_s + 1.0 / (self.fps or 30.0)
            self.close()
            self.open()
        t = self._offset_s + (float(frame.time) if frame.time is not None else 0.0)
        self._last_s = t
        if self.realtime:
            self._pacer.wait(t)
        return even(frame_to_rgb(frame)), None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container, self._frames = None, None


class ReplayCapture:
    """A raw clip nightvid reads (DNG folder, Bayer stack, rawvideo) replayed as a live source.

    Args:
        path: the clip; ``fps``, ``pix_fmt``, ``size`` as for :func:`~nightvid.sources.
            open_source`.
        realtime: frames come out at the clip's frame rate (else as fast as they decode).
        loop: start again at the end.
    """

    live = False

    def __init__(self, path: str | Path, *, realtime: bool = False, loop: bool = False,
                 **source_options: Any) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.realtime, self.loop = realtime, loop
        self.options = source_options
        self.kind: Literal["raw", "rgb"] = "raw"
        self.fps: float | None = None
        self._source: Any = None
        self._frames: Iterator[Any] | None = None
        self._pacer = Pacer()
        self._count = 0

    def open(self) -> None:
        self._source = open_source(self.path, **self.options)
        self.kind = self._source.kind
        self.fps = float(self._source.fps) if self._source.fps else None
        self._frames = iter(self._source)

    def read(self) -> Image | None:
        frame = next(self._frames, None) if self._frames is not None else None
        if frame is None and self.loop:
            self.close()
            self.open()
            frame = next(self._frames, None) if self._frames is not None else None
        if frame is None:
            return None
        if self.realtime:
            self._pacer.wait(self._count / (self.fps or 24.0))
        self._count += 1
        return frame.data, frame.meta

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source, self._frames = None, None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def open_capture(spec: str, *, realtime: bool = False, loop: bool = False,
                 raw: bool | None = None, size: tuple[int, int] | None = None,
                 fps: float | None = None, fourcc: str | None = None) -> Capture:
    """The capture for ``spec`` (not opened yet).

    ``0``, ``1`` ... or ``/dev/videoN``: a camera (:class:`CameraCapture`); anything with
    ``://`` (rtsp, udp, http, ...) or a video file: :class:`AvCapture`; a DNG folder, Bayer
    stack or rawvideo file: :class:`ReplayCapture`.

    Raises:
        SourceError: ``spec`` is none of these (the message says what is accepted).
    """
    from .camera import CameraCapture  # camera.py builds on this module

    if spec.isdigit():
        return CameraCapture(int(spec), raw=raw, size=size, fps=fps, fourcc=fourcc)
    if spec.startswith("/dev/"):
        return CameraCapture(spec, raw=raw, size=size, fps=fps, fourcc=fourcc)
    if "://" in spec:
        return AvCapture(spec, realtime=realtime, loop=loop)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"{spec}: not a camera index, /dev/video device, URL or existing "
                          "file")
    if path.is_file() and path.suffix.lower() in (*VIDEO_SUFFIXES, ".ts", ".mjpeg", ".y4m"):
        return AvCapture(str(path), realtime=realtime, loop=loop)
    return ReplayCapture(path, realtime=realtime, loop=loop,
                         **({"fps": fps} if fps else {}))
