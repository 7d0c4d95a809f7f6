"""Streaming sinks: the :class:`FrameSink` base, the ``SINKS`` registry and :func:`open_sink`.

A sink takes display frames one at a time, in presentation order::

    with open_sink("out.mp4", fps=src.fps) as sink:
        for frame in src:
            sink.write(render(frame), pts=frame.pts)

A display frame is an ``(H, W, 3)`` NumPy array, ``uint8`` or ``uint16``, full range, holding
gamma-encoded BT.709/sRGB display RGB (see STYLE.md, "display"). ``close()`` (also run by
``with``, on success or on an exception) flushes the encoder and finalises the file.

A sink's :attr:`FrameSink.wants` says what the engine hands it: ``"display"`` frames through
``write``, or, for a :class:`MosaicSink` (the DNG sequence), cleaned raw mosaics in sensor DN
through ``write_mosaic``.
"""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal

import numpy as np

from ..errors import ShapeError, SinkError, UnknownNameError
from ..registry import Registry
from ..types import Frame, RawMeta

SINKS: Registry[type[FrameSink]] = Registry("sink")

#: A printf frame-number field in a file name: ``%d``, ``%5d``, ``%05d``.
FRAME_NUMBER = re.compile(r"%(0?\d*)d")


@dataclass(frozen=True)
class SinkOptions:
    """What :func:`open_sink` was asked for; each sink takes the fields it understands.

    Attributes:
        fps: exact frame rate, e.g. ``Fraction(24000, 1001)``.
        codec: video codec (``h264``, ``hevc``, ``prores``, ``ffv1``) or image format
            (``png``, ``tiff``, ``jpeg``); ``None`` picks from the suffix.
        bit_depth: bits per channel of the output (8, 10, 12 or 16, as the codec allows).
        quality: codec-specific (CRF for h264/hevc, profile for ProRes, JPEG quality).
        audio_from: container whose audio stream is copied into a video output.
        time_base: time base of the ``pts`` passed to ``write``; ``None`` means ``1 / fps``.
        resume: keep complete frames already written (image and DNG sequences).
    """

    fps: Fraction
    codec: str | None = None
    bit_depth: int = 8
    quality: int | None = None
    audio_from: Path | None = None
    time_base: Fraction | None = None
    resume: bool = False


class FrameSink(ABC):
    """Base class of streaming outputs: a context manager that takes display frames.

    Subclasses implement :meth:`write`, :meth:`close` and :meth:`from_options`, and call
    :meth:`_check_display` first thing in ``write``.
    """

    #: What the engine hands this sink: rendered display frames or raw mosaics.
    wants: ClassVar[Literal["display", "mosaic"]] = "display"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._count = 0
        self._first_index = 0
        self._size: tuple[int, int] | None = None  # (H, W) of the first frame
        self._closed = False

    @classmethod
    @abstractmethod
    def from_options(cls, path: Path, options: SinkOptions) -> FrameSink:
        """Build the sink from :func:`open_sink`'s arguments, rejecting those it cannot honour."""

    @abstractmethod
    def write(self, display: np.ndarray, pts: int | None = None) -> None:
        """Append one frame.

        Args:
            display: (H, W, 3) uint8 or uint16 display RGB, full range; H and W fixed for the
                whole stream.
            pts: presentation time in the sink's time base, strictly increasing; ``None`` means
                the frame index.

        Raises:
            ShapeError: ``display`` is not (H, W, 3) uint8/uint16.
            SinkError: size change, non-increasing pts, write failure (full disk ...).
        """

    @abstractmethod
    def close(self) -> None:
        """Flush and finalise the output; calling it again does nothing."""

    @property
    def frames_written(self) -> int:
        """Frames this sink has written since it was opened."""
        return self._count

    @property
    def next_index(self) -> int:
        """Index of the frame the next :meth:`write` stores (``resume_from`` + written)."""
        return self._first_index + self._count

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if et is None:
            self.close()
            return
        try:  # finalise what was written, but never hide the error that got us here
            self.close()
        except Exception as exc:  # reported as a warning: the original error propagates
            warnings.warn(f"{self.path}: could not finalise after {et.__name__} ({exc})",
                          RuntimeWarning, stacklevel=2)

    def _check_display(self, display: np.ndarray) -> np.ndarray:
        """Validate one frame's shape, dtype and size; return it as a C-contiguous array."""
        if self._closed:
            raise SinkError(f"{self.path}: write after close")
        shape = getattr(display, "shape", None)
        dtype = getattr(display, "dtype", None)
        if (not isinstance(display, np.ndarray) or display.ndim != 3 or display.shape[2] != 3
                or display.dtype not in (np.uint8, np.uint16)):
            raise ShapeError(f"display: expected (H, W, 3) uint8 or uint16, got {shape} {dtype} "
                             f"(frame {self.next_index} of {self.path})")
        size = (int(display.shape[0]), int(display.shape[1]))
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise SinkError(f"{self.path}: frame {self.next_index} is {size[1]}x{size[0]}, "
                            f"expected {self._size[1]}x{self._size[0]} like the first frame")
        return np.ascontiguousarray(display)


class MosaicSink(FrameSink):
    """Base class of sinks that take raw mosaics (sensor DN + RawMeta) instead of display RGB.

    The engine sees ``wants == "mosaic"`` and calls :meth:`write_mosaic` with frames whose
    ``data`` is the cleaned ``(H, W)`` uint16 mosaic at the source's geometry and CFA, and whose
    ``meta`` describes it.
    """

    wants: ClassVar[Literal["display", "mosaic"]] = "mosaic"

    @abstractmethod
    def write_mosaic(self, frame: Frame) -> None:
        """Append one frame: ``frame.data`` (H, W) uint16 sensor DN, ``frame.meta`` its RawMeta.

        Raises:
            ShapeError: ``frame.data`` is not (H, W) uint16, or ``frame.meta`` is missing.
            SinkError: size change, write failure (full disk ...).
        """

    def write(self, display: np.ndarray, pts: int | None = None) -> None:
        raise SinkError(f"{self.path}: this output takes raw mosaics, not display frames "
                        "(render through nightvid.engine.Engine.run)")

    def _check_mosaic(self, frame: Frame) -> tuple[np.ndarray, RawMeta]:
        """Validate one frame's mosaic, dtype, metadata and size; return (mosaic C-contiguous,
        meta)."""
        if self._closed:
            raise SinkError(f"{self.path}: write after close")
        data, meta = frame.data, frame.meta
        if (not isinstance(data, np.ndarray) or data.ndim != 2 or data.dtype != np.uint16
                or meta is None):
            raise ShapeError(f"frame.data: expected an (H, W) uint16 mosaic with its meta, got "
                             f"{getattr(data, 'shape', None)} {getattr(data, 'dtype', None)} "
                             f"(frame {self.next_index} of {self.path})")
        size = (int(data.shape[0]), int(data.shape[1]))
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise SinkError(f"{self.path}: frame {self.next_index} is {size[1]}x{size[0]}, "
                            f"expected {self._size[1]}x{self._size[0]} like the first frame")
        return np.ascontiguousarray(data), meta


def is_sequence_pattern(path: str | Path) -> bool:
    """Whether ``path``'s file name holds a printf frame number (``frame_%05d.png``).

    >>> is_sequence_pattern("out/frame_%05d.png"), is_sequence_pattern("out.png")
    (True, False)
    """
    return FRAME_NUMBER.search(Path(path).name) is not None


def open_sink(path: str | Path, *, fps: Fraction, codec: str | None = None, bit_depth: int = 8,
              quality: int | None = None, audio_from: str | Path | None = None,
              time_base: Fraction | None = None, resume: bool = False) -> FrameSink:
    """Open the sink that fits ``path``.

    ``.mp4``/``.mov``/``.mkv`` give a :class:`~nightvid.sinks.av_video.VideoSink`; a ``.dng``
    name (``out/frame_%04d.dng``, or one ``.dng`` file) or ``codec="dng"`` (a folder) give a
    :class:`~nightvid.sinks.dng_seq.DngSequenceSink` of cleaned raw mosaics; a file name with a
    frame number (``out/frame_%05d.png``), a folder (existing, or a path without a suffix;
    ``codec`` then names the image format, PNG by default) or a single image name give an
    :class:`~nightvid.sinks.image_seq.ImageSequenceSink`.

    Args:
        path: output file, pattern or folder.
        fps: exact frame rate (``Fraction(24000, 1001)``), > 0.
        codec: video codec, image format or ``dng``; ``None`` picks from the suffix.
        bit_depth: output bits per channel (video 8/10, FFV1 up to 16, PNG 8/16).
        quality: CRF (h264/hevc), ProRes profile 0-3, or JPEG quality 1-100.
        audio_from: a container whose audio is copied (or re-encoded to AAC) into the video.
        time_base: time base of the pts given to ``write``; ``None`` means ``1 / fps``.
        resume: image and DNG sequences only: keep the complete frames already there.

    Returns:
        An open sink; use it as a context manager.

    Raises:
        SinkError: unknown suffix, codec or option that does not fit, missing output folder.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open_sink(os.path.join(folder, "f_%03d.png"), fps=Fraction(24)) as sink:
    ...     sink.write(np.zeros((4, 6, 3), np.uint8))
    >>> sorted(os.listdir(folder))
    ['f_000.png']
    """
    from . import av_video, dng_seq, image_seq  # noqa: F401 - importing registers the sinks

    path = Path(path)
    fps = Fraction(fps)
    if fps <= 0:
        raise SinkError(f"{path}: fps: expected > 0, got {fps}")
    options = SinkOptions(fps=fps, codec=codec, bit_depth=int(bit_depth), quality=quality,
                          audio_from=None if audio_from is None else Path(audio_from),
                          time_base=None if time_base is None else Fraction(time_base),
                          resume=resume)
    if path.suffix.lower() == ".dng" or (codec is not None and codec.lower() == "dng"):
        cls = SINKS.get("dng")
    elif path.is_dir() or not path.suffix or is_sequence_pattern(path):
        cls = SINKS.get("images")
    else:
        try:
            _, cls = SINKS.for_path(path)
        except UnknownNameError as exc:
            raise SinkError(str(exc)) from None
    return cls.from_options(path, options)
