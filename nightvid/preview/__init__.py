"""Live preview from a capture device: ``nightvid preview SOURCE``.

Capture (camera, URL, file) -> latest-frame reader -> the engine -> before/after composite ->
an OpenCV window and/or a browser page, with recording while previewing and adaptive quality
that keeps latency bounded on a slow device. See :class:`PreviewSession`.
"""

from __future__ import annotations

from .camera import CameraCapture
from .capture import AvCapture, Capture, ReplayCapture, open_capture
from .reader import LatestFrameReader, LiveSource
from .session import PreviewOptions, PreviewSession
from .stats import PreviewSummary

__all__ = ["AvCapture", "CameraCapture", "Capture", "LatestFrameReader", "LiveSource",
           "PreviewOptions", "PreviewSession", "PreviewSummary", "ReplayCapture",
           "open_capture"]
