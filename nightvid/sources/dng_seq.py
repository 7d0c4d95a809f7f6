"""A folder of DNG frames (CinemaDNG, phone raw-video apps) as a raw video stream.

Frames are the folder's ``.dng`` files (any case), ordered by the numbers in their names
(``frame_2`` before ``frame_10``). The frame rate is the ``fps`` argument when given (to
conform a clip, e.g. play 48 fps footage at 24), else the first frame's CinemaDNG FrameRate
tag. Each frame's TimeCodes tag becomes ``Frame.timecode``; ``pts`` is the frame index and
``time_base`` is ``1 / fps``.

Each loader reads one file's tags (a few kilobytes) and decodes it through LibRaw, which
releases the GIL: two decode threads run about twice as fast as one on two cores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

from ..errors import MetadataError, SourceError
from ..io.tiff import DngTags, read_dng_tags
from ..types import Frame
from .base import SOURCES, FrameSource, check_start, natural_key, parse_fps

__all__ = ["DngSequence", "decode_timecode"]


def decode_timecode(code: bytes | None) -> str | None:
    """The first SMPTE 12M time code of a CinemaDNG TimeCodes tag, as ``"HH:MM:SS:FF"``.

    Each code is 8 bytes: frames, seconds, minutes, hours in BCD (units in the low nibble),
    then user bits. Bit 6 of the frames byte flags drop-frame counting, written ``;``
    before the frames as SMPTE does. Returns None for a missing or malformed code.

    >>> decode_timecode(bytes([0x14, 0x55, 0x01, 0x08, 0, 0, 0, 0]))
    '08:01:55:14'
    >>> decode_timecode(bytes([0x42, 0x00, 0x10, 0x01, 0, 0, 0, 0]))
    '01:10:00;02'
    """
    if code is None or len(code) < 4:
        return None
    # (byte, mask of the tens digit) for hours, minutes, seconds, frames.
    fields = ((code[3], 0x30), (code[2], 0x70), (code[1], 0x70), (code[0], 0x30))
    digits = []
    for byte, tens_mask in fields:
        units, tens = byte & 0x0F, (byte & tens_mask) >> 4
        if units > 9:
            return None
        digits.append(tens * 10 + units)
    hh, mm, ss, ff = digits
    if mm > 59 or ss > 59:
        return None
    sep = ";" if code[0] & 0x40 else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


def _visible_size(tags: DngTags) -> tuple[int, int]:
    """(W, H) of the mosaic a source yields: the ActiveArea (else the image), cropped even."""
    if tags.active_area is not None:
        top, left, bottom, right = tags.active_area
        w, h = right - left, bottom - top
    else:
        w, h = tags.width or 0, tags.height or 0
    return w // 2 * 2, h // 2 * 2


def _read_tags(path: Path) -> DngTags:
    try:
        if path.stat().st_size == 0:
            raise SourceError(f"{path}: empty file")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file (removed while reading the sequence?)") from None
    return read_dng_tags(path)


@SOURCES.register("dng_seq")
class DngSequence(FrameSource):
    """Every ``.dng`` in a folder, in natural order, as one raw stream.

    Args:
        folder: the folder of frames.
        fps: frame rate; overrides the FrameRate tag. Needed when the first frame has none.
        start: frames to skip at the beginning (resume); Frame.index and pts stay absolute.
    Attributes:
        files: the frame files, in stream order (all of them, including skipped ones).
        size: (W, H) of every frame's mosaic, from the first frame.
    Raises:
        SourceError: not a folder, no ``.dng`` in it, first frame unreadable, no frame rate.
            Per-frame errors (size mismatch, corrupt file) raise from that frame's loader,
            so the frames before it come out first.

    Frames are ``(H, W)`` uint16 mosaics with their own ``RawMeta`` (per-frame white balance
    and levels), ``meta.timestamp_s = index / fps``.
    """

    def __init__(self, folder: str | Path, *, fps: Fraction | float | str | None = None,
                 start: int = 0) -> None:
        self.path = Path(folder)
        self.start = check_start(start)
        if not self.path.is_dir():
            raise SourceError(f"{self.path}: not a folder (a DNG sequence is a folder of .dng)")
        self.files = sorted((p for p in self.path.iterdir()
                             if p.suffix.lower() == ".dng" and p.is_file()),
                            key=lambda p: natural_key(p.name))
        if not self.files:
            raise SourceError(f"{self.path}: no .dng frames in this folder")
        first = _read_tags(self.files[0])
        self.size = _visible_size(first)
        if fps is not None:
            self.fps = parse_fps(fps, "fps")
        elif first.frame_rate is not None:
            self.fps = parse_fps(first.frame_rate, f"{self.files[0]}: FrameRate tag",
                                 MetadataError)
        else:
            raise MetadataError(f"{self.files[0]}: no FrameRate tag, so the sequence's frame "
                                "rate is unknown; pass --fps (e.g. --fps 24)")
        self.time_base = 1 / self.fps

    def __len__(self) -> int:
        return max(0, len(self.files) - self.start)

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        for i in range(self.start, len(self.files)):
            yield partial(self._load, i)

    def _load(self, index: int) -> Frame:
        from . import open_raw  # the package imports this module: import at call time

        path = self.files[index]
        tags = _read_tags(path)
        size = _visible_size(tags)
        if size != self.size:
            raise SourceError(f"{path}: size {size[0]}x{size[1]} differs from the sequence's "
                              f"{self.size[0]}x{self.size[1]} (set by {self.files[0].name})")
        mosaic, meta = open_raw(path)
        meta = meta.replace(timestamp_s=float(index * self.time_base))
        return Frame(data=mosaic, pts=index, time_base=self.time_base, meta=meta, index=index,
                     timecode=decode_timecode(tags.time_codes))
