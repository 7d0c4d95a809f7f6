"""Cameras through OpenCV: V4L2 on Linux, raw Bayer when the device delivers it.

With a Bayer pixel format (``v4l2-ctl --list-formats-ext``), OpenCV's RGB conversion is turned
off (``CAP_PROP_CONVERT_RGB = 0``) and the driver's buffers are unpacked to mosaics
(:mod:`nightvid.preview.bayer`) for the raw pipeline; any other format takes the RGB path.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from .. import warnings_once
from ..errors import SourceError
from ..types import RawMeta
from .bayer import BAYER_FORMATS, BayerFormat, fourcc_text, unpack_bayer
from .capture import Image, even

#: Consecutive failed reads (and the pause between them) before a camera counts as gone.
_CAMERA_RETRIES, _CAMERA_RETRY_S = 5, 0.1


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
        self._fmt: BayerFormat | None = None

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
            return even(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), None
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return unpack_bayer(img, w, h, self._fmt, self.name), self._meta

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
