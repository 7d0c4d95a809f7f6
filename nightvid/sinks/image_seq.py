"""Numbered still frames (PNG-8/16, TIFF-16, JPEG), each written atomically, resumable.

Every frame goes through :func:`~nightvid.sinks.images.write_image`, which writes a temporary
file and renames it into place, so a file under a frame's name is always complete. That makes
resuming simple: the frames already present, counted from the first, are the work done.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import SinkError
from .base import FRAME_NUMBER, SINKS, FrameSink, SinkOptions
from .images import IMAGE_SUFFIXES, image_bit_depth, write_image

#: Image format name -> file suffix used for folders (``--format``).
FORMAT_SUFFIX = {"png": ".png", "tiff": ".tif", "tif": ".tif", "jpeg": ".jpg", "jpg": ".jpg"}


@SINKS.register("images", suffixes=tuple(IMAGE_SUFFIXES))
class ImageSequenceSink(FrameSink):
    """Write frame ``i`` to ``pattern % i``: a folder, a printf pattern or one image.

    Args:
        path: ``out/frame_%05d.png`` (the number field in the file name), a folder (frames
            become ``frame_%06d`` + the format's suffix; created if missing) or one image
            file, which then takes exactly one frame (a photo is a stream of one frame).
        fps: frame rate, kept for callers; images carry no timing.
        image_format: ``png``, ``tiff`` or ``jpeg`` for a folder (default ``png``); for a
            pattern or file it must agree with the suffix.
        bit_depth: PNG bits per channel, 8 or 16; TIFF is always 16-bit and JPEG 8-bit.
        jpeg_quality: 1-100.
        resume: count the complete frames already there, from ``start_number`` on, and start
            after them: :attr:`resume_from` says where, so the engine can skip rendering them.
        start_number: number of the first frame.

    Raises:
        SinkError: unknown format, bad bit depth, missing parent folder.
    """

    def __init__(self, path: str | Path, *, fps: Fraction | None = None,
                 image_format: str | None = None, bit_depth: int = 8, jpeg_quality: int = 92,
                 resume: bool = False, start_number: int = 0) -> None:
        super().__init__(path)
        self.fps = fps
        self.jpeg_quality = int(jpeg_quality)
        if bit_depth not in (8, 16):
            raise SinkError(f"{self.path}: bit_depth: expected 8 or 16 for images, got "
                            f"{bit_depth}")
        self.pattern = self._pattern(self.path, image_format)
        self.single = FRAME_NUMBER.search(self.pattern.name) is None
        self.bit_depth = image_bit_depth(self.pattern, bit_depth)
        folder = self.pattern.parent
        if not folder.is_dir():
            raise SinkError(f"{self.path}: output folder {folder} does not exist")
        self._first_index = start_number
        if resume:
            self._first_index = self._count_done(start_number)

    @classmethod
    def from_options(cls, path: Path, options: SinkOptions) -> ImageSequenceSink:
        if options.audio_from is not None:
            raise SinkError(f"{path}: image sequences carry no audio (audio_from="
                            f"{options.audio_from}); write a video file instead")
        quality = {} if options.quality is None else {"jpeg_quality": options.quality}
        return cls(path, fps=options.fps, image_format=options.codec,
                   bit_depth=options.bit_depth, resume=options.resume, **quality)

    @property
    def resume_from(self) -> int:
        """Index of the first frame this sink writes: frames before it are already complete."""
        return self._first_index

    def frame_path(self, index: int) -> Path:
        """The file of frame ``index`` (``out/f_%04d.png``, 7 -> ``out/f_0007.png``)."""
        return self.pattern if self.single else self._name(self.pattern, index)

    def write(self, display: np.ndarray, pts: int | None = None) -> None:
        """Write frame :attr:`next_index` (``pts`` is ignored: images carry no timing).

        Raises:
            ShapeError: ``display`` is not (H, W, 3) uint8/uint16.
            SinkError: size change, a second frame for a single image, full disk.
        """
        display = self._check_display(display)
        if self.single and self.next_index > 0:
            raise SinkError(f"{self.path}: a single image holds one frame; name a sequence "
                            f"like {self.path.with_name(self.path.stem + '_%05d')}"
                            f"{self.path.suffix}")
        write_image(_to_depth(display, self.bit_depth), self.frame_path(self.next_index),
                    self.jpeg_quality)
        self._count += 1

    def close(self) -> None:
        """Nothing to flush: every frame is complete on disk once ``write`` returns."""
        self._closed = True

    @staticmethod
    def _pattern(path: Path, image_format: str | None) -> Path:
        fmt = None if image_format is None else image_format.lower()
        if fmt is not None and fmt not in FORMAT_SUFFIX:
            raise SinkError(f"{path}: image format: expected one of png, tiff, jpeg, got "
                            f"{image_format!r}")
        if path.is_dir() or not path.suffix:
            if not path.is_dir():
                if not path.parent.is_dir():
                    raise SinkError(f"{path}: output folder {path.parent} does not exist")
                path.mkdir(exist_ok=True)
            return path / f"frame_%06d{FORMAT_SUFFIX[fmt or 'png']}"
        if len(FRAME_NUMBER.findall(path.name)) > 1 or "%" in FRAME_NUMBER.sub("", path.name):
            raise SinkError(f"{path}: expected one frame-number field like %05d in the name")
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise SinkError(f"{path}: unknown image format {path.suffix!r}; use one of "
                            f"{', '.join(IMAGE_SUFFIXES)}")
        kind = IMAGE_SUFFIXES[path.suffix.lower()]
        if fmt is not None and IMAGE_SUFFIXES[FORMAT_SUFFIX[fmt]] != kind:
            raise SinkError(f"{path}: image format {image_format!r} does not match the suffix")
        return path

    @staticmethod
    def _name(pattern: Path, index: int) -> Path:
        return pattern.with_name(FRAME_NUMBER.sub(lambda m: m.group(0) % index, pattern.name, 1))

    def _count_done(self, start: int) -> int:
        """First index from ``start`` without a complete frame; drops stale temporaries."""
        folder = self.pattern.parent
        names = set(os.listdir(folder))
        if self.single:
            return start + int(self.pattern.name in names)
        head, tail = FRAME_NUMBER.split(self.pattern.name, 1)[::2]
        stale = re.compile(rf"\.{re.escape(head)}\d+{re.escape(tail)}\..*\.part")
        for name in names:  # write_image's temporaries from a killed run: never complete
            if stale.fullmatch(name):
                (folder / name).unlink(missing_ok=True)
        index = start
        while self._name(self.pattern, index).name in names and \
                self._name(self.pattern, index).stat().st_size > 0:
            index += 1
        return index


def _to_depth(display: np.ndarray, bits: int) -> np.ndarray:
    """(H, W, 3) uint8/uint16 -> the file's depth, rounding (not truncating) 16 -> 8 bits."""
    if bits == 16 and display.dtype == np.uint8:
        return display.astype(np.uint16) * np.uint16(257)  # 0xAB -> 0xABAB, exact
    if bits == 8 and display.dtype == np.uint16:
        return ((display.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return display
