"""Mosaics stored as plain images or headerless dumps, described by a JSON sidecar.

Covers the Night Photography Rendering format (16-bit PNG + JSON of the same name),
16-bit PGM and PNG crops, and headerless ``.raw`` dumps whose size and byte order the
sidecar gives (``width``/``height``/``byte_order``, or a ``layout`` sentence such as
"headerless little-endian uint16, 512 rows x 768 columns").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import MetadataError, SourceError
from ..types import RawMeta
from .sidecar_meta import find_sidecar, load_sidecar, meta_from_sidecar

SUFFIXES = (".png", ".pgm", ".raw", ".bin")


def read_mosaic_file(path: Path) -> tuple[np.ndarray, RawMeta]:
    """Read a sidecar-described mosaic: ((H, W) uint16, RawMeta)."""
    sidecar = find_sidecar(path)
    if sidecar is None:
        raise MetadataError(f"{path}: no JSON sidecar found ({path.with_suffix('.json').name} "
                            "or a .json naming this file); a mosaic image needs its metadata")
    data = load_sidecar(sidecar)
    meta = meta_from_sidecar(data, sidecar, path)
    if path.suffix.lower() in (".raw", ".bin"):
        mosaic = _read_headerless(path, data, sidecar)
    else:
        mosaic = _read_image(path)
    return mosaic, meta


def _read_image(path: Path) -> np.ndarray:
    buf = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if img is None:
        raise SourceError(f"{path}: not a readable image (corrupt or truncated?)")
    if img.ndim != 2:
        raise SourceError(f"{path}: expected a single-channel mosaic, got {img.shape[2]} channels")
    if img.dtype != np.uint16:
        raise SourceError(f"{path}: expected a 16-bit mosaic, got {img.dtype}")
    return img


def _read_headerless(path: Path, data: dict[str, Any], sidecar: Path) -> np.ndarray:
    layout = str(data.get("layout", ""))
    h, w = data.get("height"), data.get("width")
    if h is None or w is None:
        m = re.search(r"(\d+)\s*rows\s*x\s*(\d+)\s*col", layout)
        if not m:
            raise MetadataError(f"{sidecar}: missing required field 'width'/'height' (or a "
                                "'layout' like '512 rows x 768 columns')")
        h, w = int(m.group(1)), int(m.group(2))
    order = str(data.get("byte_order", "big" if "big-endian" in layout else "little"))
    dtype = np.dtype(">u2" if order.startswith("big") else "<u2")
    need = int(h) * int(w) * 2
    size = path.stat().st_size
    if size < need:
        raise SourceError(f"{path}: truncated: {size} bytes, expected {need} for {w}x{h} uint16")
    return np.fromfile(path, dtype=dtype, count=int(h) * int(w)).reshape(int(h), int(w)).astype(
        np.uint16)
