"""A linear DNG sequence: the cleaned raw mosaic of every frame, for grading elsewhere.

Each frame is the temporally filtered and denoised Bayer mosaic at the source's full geometry,
back in the source's DN scale (see :mod:`nightvid.raw_out`), written by
:func:`~nightvid.io.dng_write.write_dng` with the frame's own metadata: CFA, black/white
levels, colour matrices, as-shot neutral, orientation, lens-shading gain map (the mosaic is
still un-shaded), plus CinemaDNG FrameRate and TimeCodes where the source had them. Samples
are 16-bit words (any DNG reader takes them). ``write_dng`` writes a temporary file and renames
it into place, so a file under a frame's name is always complete, and resuming counts them.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

from ..errors import SinkError
from ..io.dng_write import write_dng
from ..types import Frame
from .base import FRAME_NUMBER, SINKS, MosaicSink, SinkOptions

__all__ = ["DngSequenceSink", "encode_timecode"]

_TIMECODE = re.compile(r"(\d\d):(\d\d):(\d\d)([:;])(\d\d)")


def encode_timecode(text: str | None) -> bytes | None:
    """``"HH:MM:SS:FF"`` (``;`` before FF for drop-frame) -> the 8-byte CinemaDNG TimeCodes.

    The inverse of :func:`nightvid.sources.dng_seq.decode_timecode`; None for None or text
    that is not a time code.

    >>> encode_timecode("08:01:55:14").hex(), encode_timecode("01:10:00;02").hex()
    ('1455010800000000', '4200100100000000')
    """
    m = _TIMECODE.fullmatch(text or "")
    if m is None:
        return None
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    digits = [(v // 10) << 4 | v % 10 for v in (ff, ss, mm, hh)]  # BCD, tens high
    if m.group(4) == ";":
        digits[0] |= 0x40  # the drop-frame flag
    return bytes(digits + [0, 0, 0, 0])


@SINKS.register("dng", suffixes=(".dng",))
class DngSequenceSink(MosaicSink):
    """Write frame ``i``'s cleaned mosaic to ``pattern % i`` as a DNG.

    Args:
        path: ``out/frame_%04d.dng`` (the number field in the file name), a folder (frames
            become ``frame_%06d.dng``; created if missing, its parent must exist) or one
            ``.dng`` file, which then takes exactly one frame (a photo is a stream of one).
        fps: frame rate, written as the CinemaDNG FrameRate tag of sequence frames.
        resume: count the complete frames already there, from ``start_number`` on, and start
            after them (:attr:`resume_from`).
        start_number: number of the first frame.

    Raises:
        SinkError: not a ``.dng`` name, a missing or unwritable output folder.
    """

    def __init__(self, path: str | Path, *, fps: Fraction | None = None, resume: bool = False,
                 start_number: int = 0) -> None:
        super().__init__(path)
        self.fps = fps
        self.pattern = self._pattern(self.path)
        self.single = FRAME_NUMBER.search(self.pattern.name) is None
        folder = self.pattern.parent
        if not folder.is_dir():
            raise SinkError(f"{self.path}: output folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise SinkError(f"{self.path}: output folder {folder} is not writable")
        self._first_index = start_number
        if resume:
            self._first_index = self._count_done(start_number)

    @classmethod
    def from_options(cls, path: Path, options: SinkOptions) -> DngSequenceSink:
        if options.codec is not None and options.codec.lower() != "dng":
            raise SinkError(f"{path}: codec {options.codec!r} does not fit a .dng output")
        if options.bit_depth not in (8, 16):  # 8 is open_sink's default: nothing was asked
            raise SinkError(f"{path}: bit_depth: DNG frames hold 16-bit samples, got "
                            f"{options.bit_depth}")
        if options.quality is not None:
            raise SinkError(f"{path}: quality: DNG frames are uncompressed, got "
                            f"{options.quality}")
        if options.audio_from is not None:
            raise SinkError(f"{path}: DNG sequences carry no audio (audio_from="
                            f"{options.audio_from}); write a video file instead")
        return cls(path, fps=options.fps, resume=options.resume)

    @property
    def resume_from(self) -> int:
        """Index of the first frame this sink writes: frames before it are already complete."""
        return self._first_index

    def frame_path(self, index: int) -> Path:
        """The file of frame ``index`` (``out/f_%04d.dng``, 7 -> ``out/f_0007.dng``)."""
        return self.pattern if self.single else self._name(self.pattern, index)

    def write_mosaic(self, frame: Frame) -> None:
        """Write frame :attr:`next_index` (``frame.pts`` is ignored: files carry no timing).

        Raises:
            ShapeError: ``frame.data`` is not (H, W) uint16, or has no meta.
            SinkError: size change, a second frame for a single file, unwritable folder, full
                disk; the message names the file.
        """
        mosaic, meta = self._check_mosaic(frame)
        # write_dng's neutral Make ("nightvid") comes back as a prefix of the camera name:
        # strip it, so a nightvid DNG rewritten keeps its name instead of growing one.
        meta = meta.replace(camera=meta.camera.removeprefix("nightvid ") or meta.camera)
        if self.single and self.next_index > 0:
            raise SinkError(f"{self.path}: a single DNG holds one frame; name a sequence like "
                            f"{self.path.with_name(self.path.stem + '_%05d')}.dng")
        write_dng(self.frame_path(self.next_index), mosaic, meta, bits=16,
                  frame_rate=None if self.single else self.fps,
                  time_code=encode_timecode(frame.timecode))
        self._count += 1

    def close(self) -> None:
        """Nothing to flush: every frame is complete on disk once ``write_mosaic`` returns."""
        self._closed = True

    @staticmethod
    def _pattern(path: Path) -> Path:
        if path.is_dir() or not path.suffix:
            if not path.is_dir():
                if not path.parent.is_dir():
                    raise SinkError(f"{path}: output folder {path.parent} does not exist")
                try:
                    path.mkdir(exist_ok=True)
                except OSError as exc:
                    raise SinkError(f"{path}: cannot create the output folder "
                                    f"({exc.strerror or exc})") from None
            return path / "frame_%06d.dng"
        if path.suffix.lower() != ".dng":
            raise SinkError(f"{path}: a DNG sequence needs a .dng name (frame_%04d.dng) or a "
                            "folder")
        if len(FRAME_NUMBER.findall(path.name)) > 1 or "%" in FRAME_NUMBER.sub("", path.name):
            raise SinkError(f"{path}: expected one frame-number field like %05d in the name")
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
        # write_dng's temporaries (".frame_0007.dng.<random>.tmp") from a killed run.
        stale = re.compile(rf"\.{re.escape(head)}\d+{re.escape(tail)}\..*\.tmp")
        for name in names:
            if stale.fullmatch(name):
                (folder / name).unlink(missing_ok=True)
        index = start
        while (p := self._name(self.pattern, index)).name in names and p.stat().st_size > 0:
            index += 1
        return index
