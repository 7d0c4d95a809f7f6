"""Sources: raw photos (LibRaw, sidecar-described mosaics) and raw/RGB streams.

:func:`open_source` picks the source for a path; :func:`open_raw` reads one raw photo.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MetadataError, SourceError
from ..types import RawMeta
from .base import SOURCES, FrameSource, PhotoSource
from .bayer_stack import BayerStack
from .dng_seq import DngSequence
from .mosaic_file import SUFFIXES as MOSAIC_SUFFIXES
from .mosaic_file import read_mosaic_file
from .rawfile import read_raw_file
from .rawvideo import RawVideoSource
from .rgb_video import VIDEO_SUFFIXES, RgbVideoSource
from .sidecar_meta import find_sidecar, load_sidecar

__all__ = ["SOURCES", "BayerStack", "DngSequence", "FrameSource", "PhotoSource",
           "RawVideoSource", "RgbVideoSource", "open_raw", "open_source"]

STACK_SUFFIXES = (".npy", ".npz")
RAWVIDEO_SUFFIXES = (".bayer", ".rawvideo")


def open_source(path: str | Path, *, fps: Fraction | float | str | None = None,
                pix_fmt: str | None = None, size: tuple[int, int] | str | None = None,
                start: int = 0) -> FrameSource:
    """The source for ``path``: a stream of frames, or a photo as a stream of one.

    Picks, in order: a folder -> :class:`DngSequence`; ``.npy``/``.npz`` -> :class:`BayerStack`;
    ``pix_fmt`` given, a ``.bayer``/``.rawvideo`` suffix or a sidecar with ``"pix_fmt"`` ->
    :class:`RawVideoSource`; a video suffix (.mp4 .mov .mkv .avi .webm .m4v) ->
    :class:`RgbVideoSource`; a raw photo suffix -> :class:`PhotoSource`.

    Args:
        path: file or folder.
        fps: frame rate, overriding the input's own (required where the input has none).
        pix_fmt: FFmpeg Bayer pixel format of a rawvideo stream (``bayer_rggb16le`` ...).
        size: (width, height) or ``"WxH"`` of a rawvideo stream.
        start: frames to skip at the beginning (resume).
    Raises:
        SourceError: missing path, unsupported suffix (the message lists what is supported),
            or the chosen source's own errors.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(f"{p}: no such file or folder")
    if p.is_dir():
        return DngSequence(p, fps=fps, start=start)
    suffix = p.suffix.lower()
    if suffix in STACK_SUFFIXES:
        return BayerStack(p, fps=fps, start=start)
    if pix_fmt is not None or suffix in RAWVIDEO_SUFFIXES or (
            suffix not in VIDEO_SUFFIXES and _sidecar_names_pix_fmt(p)):
        return RawVideoSource(p, pix_fmt=pix_fmt, size=size, fps=fps, start=start)
    if suffix in VIDEO_SUFFIXES:
        return RgbVideoSource(p, fps=fps, start=start)
    if SOURCES.suffixes().get(suffix) == "photo":
        return PhotoSource(p, start=start)
    photos = " ".join(s for s, name in SOURCES.suffixes().items() if name == "photo")
    raise SourceError(
        f"{p}: unsupported input {suffix or '(no suffix)'!r}; nightvid reads a folder of .dng "
        f"frames, Bayer stacks ({' '.join(STACK_SUFFIXES)}), rawvideo Bayer streams "
        f"({' '.join(RAWVIDEO_SUFFIXES)}, or pass --pix-fmt), videos ({' '.join(VIDEO_SUFFIXES)})"
        f" and raw photos ({photos})")


def _sidecar_names_pix_fmt(path: Path) -> bool:
    """True when ``path``'s JSON sidecar describes a rawvideo stream (has "pix_fmt")."""
    sidecar = find_sidecar(path)
    if sidecar is None:
        return False
    try:
        return load_sidecar(sidecar).get("pix_fmt") is not None
    except MetadataError:  # unreadable sidecar: let the photo reader report it
        return False


def open_raw(path: str | Path) -> tuple[np.ndarray, RawMeta]:
    """Read one raw photo: ((H, W) uint16 mosaic with even H and W, RawMeta).

    Raises:
        SourceError: missing, unreadable, corrupt or truncated file, not a raw.
        MetadataError: a required metadata field is missing.
        UnsupportedCFAError: not a 2x2 Bayer sensor.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(f"{p}: no such file")
    if p.is_dir():
        raise SourceError(f"{p}: is a folder, expected a raw file")
    if p.stat().st_size == 0:
        raise SourceError(f"{p}: empty file")
    if p.suffix.lower() in MOSAIC_SUFFIXES:
        mosaic, meta = read_mosaic_file(p)
    else:
        mosaic, meta = read_raw_file(p)
    h, w = mosaic.shape
    if h < 4 or w < 4:
        raise SourceError(f"{p}: image too small ({w}x{h})")
    if h % 2 or w % 2:
        # Crop the last row/column: the CFA phase of the top-left corner is unchanged.
        mosaic = np.ascontiguousarray(mosaic[: h // 2 * 2, : w // 2 * 2])
    return mosaic, meta
