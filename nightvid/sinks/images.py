"""Still-image outputs: JPEG, PNG (8/16-bit), TIFF (16-bit), written atomically.

The image is encoded in memory, written to a temporary name beside the target and renamed
only once complete, so a failure (full disk, killed process) never leaves a half-written file
under the output's name.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..errors import SinkError

IMAGE_SUFFIXES = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}


def image_bit_depth(path: str | Path, png_bit_depth: int = 8) -> int:
    """Bits per channel a file of this name gets: JPEG 8, TIFF 16, PNG as configured."""
    kind = _kind(Path(path))
    return {"jpeg": 8, "tiff": 16}.get(kind, png_bit_depth)


def _kind(path: Path) -> str:
    kind = IMAGE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SinkError(f"{path}: unknown output format {path.suffix or '(no suffix)'!r}; "
                        f"use one of {', '.join(IMAGE_SUFFIXES)}")
    return kind


def encode_image(rgb: np.ndarray, path: str | Path, jpeg_quality: int = 92) -> bytes:
    """Encode (H, W, 3) RGB uint8/uint16 for ``path``'s format."""
    kind = _kind(Path(path))
    if kind == "jpeg" and rgb.dtype != np.uint8:
        rgb = (rgb >> 8).astype(np.uint8)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    params: list[int] = []
    if kind == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif kind == "png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ext = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}[kind]
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise SinkError(f"{path}: encoder failed for a {rgb.shape} {rgb.dtype} image")
    return buf.tobytes()


def write_image(rgb: np.ndarray, path: str | Path, jpeg_quality: int = 92) -> Path:
    """Write (H, W, 3) RGB (uint8, or uint16 for PNG-16/TIFF) atomically.

    Raises:
        SinkError: unknown format, missing or unwritable folder, full disk.
    """
    path = Path(path)
    data = encode_image(rgb, path, jpeg_quality)
    write_atomic(path, data)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SinkError(f"{path}: output folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise SinkError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise SinkError(f"{path}: cannot write ({reason})") from None
