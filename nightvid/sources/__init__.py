"""Sources: raw files (LibRaw), sidecar-described mosaics (NPR format, PGM, headerless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SourceError
from ..types import RawMeta
from .base import SOURCES, FrameSource, PhotoSource
from .mosaic_file import SUFFIXES as MOSAIC_SUFFIXES
from .mosaic_file import read_mosaic_file
from .rawfile import read_raw_file

__all__ = ["SOURCES", "FrameSource", "PhotoSource", "open_raw"]


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
