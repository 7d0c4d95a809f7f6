"""Live capture: cameras through OpenCV (V4L2), URLs and files through PyAV, raw clips replayed.

A capture is opened, read one image at a time (blocking until the device has one), and closed.
``read`` returns ``(data, meta)``: an ``(H, W)`` mosaic in sensor DN with its RawMeta (raw
Bayer cameras, replayed raw clips), or ``(H, W, 3)`` display RGB with ``meta`` None (the RGB
path), H and W even; ``None`` at the end of a file. Captures are used by one thread only
(:class:`~nightvid.preview.reader.LatestFrameReader`), so they hold no locks.

``live`` captures (URLs) are reopened with backoff when they fail; a camera that stops sending
frames, or a file that cannot be decoded, raises SourceError with a one-line message.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import av
import cv2
import numpy as np

from .. import warnings_once
from ..errors import SourceError
from ..sources import open_source
from ..sources.rgb_video import VIDEO_SUFFIXES, frame_to_rgb
from ..types import RawMeta
from .bayer import BAYER_FORMATS, fourcc_text, unpack_bayer

Image = tuple[np.ndarray, RawMeta | None]

#: Consecutive failed reads (and the pause between them) before a camera counts as gone.
_CAMERA_RETRIES, _CAMERA_RETRY_S = 5, 0.1


class Capture(Protocol):
    """What the reader thread needs from a capture device."""

    name: str
    kind: Literal["raw", "rgb"]
    fps: float | None
    live: bool  # a network stream: reopen with backoff when it fails

    def open(self) -> None: ...

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


def _even(img: np.ndarray) -> np.ndarray:
    """Crop to even height and width (the pipeline's 2x2 packing needs them); never pads."""
    h, w = img.shape[:2]
    return img if not (h % 2 or w % 2) else np.ascontiguousarray(img[: h // 2 * 2, : w // 2 * 2])


class _Pacer:
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


class CameraCapture:
    """A camera through OpenCV: an index (0) or a device path (/dev/video0), V4L2 on Linux.

    When the device's current pixel format is raw Bayer (:data:`~nightvid.preview.bayer.
    BAYER_FORMATS`) and ``raw`` is not False, OpenCV's RGB conversion is turned off and the
    buffers are unpacked to mosaics for the raw pipeline; otherwise frames take the RGB path.

    Args:
        device: index or path.
        raw: None (auto), True (require raw Bayer), False (always RGB).
        size: (width, height) to ask the driver for; None keeps its current mode.
        fps: frame rate to ask for.
        fourcc: pixel format to ask for (e.g. "RGGB", "pRAA", "YUYV", "MJPG").
        api: OpenCV backend (default: V4L2 on Linux, any elsewhere).
    """

    live = False

    def __init__(self, device: int | str, *, raw: bool | None = None,
                 size: tuple[int, int] | None = None, fps: float | None = None,
                 fourcc: str | None = None, api: int | None = None) -> None:
        self.device = device
        self.name = f"camera {device}" if isinstance(device, int) else str(device)
        self.raw, self.size, self.want_fps, self.fourcc = raw, size, fps, fourcc
        self.api = api if api is not None else (
            cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY)
        self.kind: Literal["raw", "rgb"] = "rgb"
        self.fps: float | None = fps
        self._cap: Any = None
        self._meta: RawMeta | None = None
        self._fmt = None

    def open(self) -> None:
        self._check_device()
        cap = cv2.VideoCapture(self.device, self.api)
        if not cap.isOpened():
            raise SourceError(f"{self.name}: cannot open the camera (is it connected, and not "
                              "in use by another program?)")
        self._cap = cap
        if self.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.fourcc))
        if self.size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        if self.want_fps:
            cap.set(cv2.CAP_PROP_FPS, self.want_fps)
        # One driver buffer: fewer stale frames queued in the kernel before the reader's.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        rate = cap.get(cv2.CAP_PROP_FPS)
        self.fps = rate if rate and rate > 0 else self.want_fps
        self._setup_format(fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)))

    def _check_device(self) -> None:
        """A clear message for the two usual mistakes: no such device, no permission."""
        if isinstance(self.device, int):
            return
        path = Path(self.device)
        if path.as_posix().startswith("/dev/") and not path.exists():
            raise SourceError(f"{self.name}: no such device (list them with "
                              "v4l2-ctl --list-devices)")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise SourceError(f"{self.name}: permission denied (add your user to the 'video' "
                              "group: sudo usermod -aG video $USER, then log in again)")

    def _setup_format(self, fourcc: str) -> None:
        fmt = BAYER_FORMATS.get(fourcc)
        if self.raw and fmt is None:
            raise SourceError(f"{self.name}: raw Bayer requested but the device delivers "
                              f"{fourcc!r}; pick a Bayer format with --fourcc (see "
                              "v4l2-ctl --list-formats-ext)")
        if fmt is None or self.raw is False:
            self.kind = "rgb"
            return
        self._cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)  # the driver's buffer, not OpenCV's RGB
        self.kind, self._fmt = "raw", fmt
        warnings_once.warn(f"{self.name}: {fourcc} raw: V4L2 reports no black level, white "
                           "balance or colour matrix; assuming black 0, automatic white balance "
                           "and identity colour")
        self._meta = RawMeta(black_level=(0.0, 0.0, 0.0, 0.0), white_level=fmt.white_level,
                             cfa=fmt.cfa, camera=f"V4L2 {fourcc}", source=self.name,
                             assumed=("black_level", "as_shot_neutral", "color_matrix_1"))

    def read(self) -> Image | None:
        for _ in range(_CAMERA_RETRIES):
            ok, img = self._cap.read()
            if ok and img is not None and img.size:
                return self._convert(img)
            if not isinstance(self.device, int) and not Path(self.device).exists():
                break  # unplugged: the device node is gone
            time.sleep(_CAMERA_RETRY_S)
        raise SourceError(f"{self.name}: the camera stopped sending frames (unplugged?)")

    def _convert(self, img: np.ndarray) -> Image:
        if self._fmt is None:
            return _even(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), None
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return unpack_bayer(img, w, h, self._fmt, self.name), self._meta

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


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
        self._pacer = _Pacer()
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
        return _even(frame_to_rgb(frame)), None

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
        self._pacer = _Pacer()
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
