"""Raw Bayer buffers from V4L2 cameras: the pixel formats, and unpacking them to a mosaic.

With OpenCV's RGB conversion off (``CAP_PROP_CONVERT_RGB = 0``) the V4L2 backend hands over
the driver's buffer as it is: a flat run of bytes, rows possibly padded. What the bytes mean
is the device's FOURCC (``v4l2-ctl --list-formats-ext`` lists them):

* 8-bit: ``BA81`` (BGGR), ``GBRG``, ``GRBG``, ``RGGB``;
* 10/12/16-bit in 16-bit little-endian words: ``BG10 GB10 BA10 RG10``, ``BG12 GB12 BA12 RG12``,
  ``BYR2 GB16 GR16 RG16``;
* MIPI CSI-2 packed 10-bit (``pBAA pGAA pgAA pRAA``: four pixels in five bytes, the 8 high
  bits of each, then a byte of their 2 low bits, first pixel in the lowest bits) and 12-bit
  (``pBCC pGCC pgCC pRCC``: two pixels in three bytes, then a byte of their 4 low bits).

Each becomes an ``(H, W)`` uint16 mosaic in sensor DN with its CFA and white level, the input
of the raw pipeline (black level is unknown: V4L2 does not report it; 0 is assumed and said).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import SourceError


@dataclass(frozen=True)
class BayerFormat:
    """One V4L2 Bayer pixel format: its CFA, bits per sample and how samples are stored."""

    fourcc: str
    cfa: str
    bits: int
    packing: Literal["u8", "u16", "mipi10", "mipi12"]

    @property
    def white_level(self) -> int:
        return (1 << self.bits) - 1

    def row_bytes(self, width: int) -> int:
        """Bytes of one unpadded row of ``width`` samples."""
        per = {"u8": (1, 1), "u16": (2, 1), "mipi10": (5, 4), "mipi12": (3, 2)}[self.packing]
        return width * per[0] // per[1]


def _formats() -> dict[str, BayerFormat]:
    table: list[tuple[str, str, int, Literal["u8", "u16", "mipi10", "mipi12"]]] = []
    for cfa, f8, f10, f12, f16, p10, p12 in (
            ("BGGR", "BA81", "BG10", "BG12", "BYR2", "pBAA", "pBCC"),
            ("GBRG", "GBRG", "GB10", "GB12", "GB16", "pGAA", "pGCC"),
            ("GRBG", "GRBG", "BA10", "BA12", "GR16", "pgAA", "pgCC"),
            ("RGGB", "RGGB", "RG10", "RG12", "RG16", "pRAA", "pRCC")):
        table += [(f8, cfa, 8, "u8"), (f10, cfa, 10, "u16"), (f12, cfa, 12, "u16"),
                  (f16, cfa, 16, "u16"), (p10, cfa, 10, "mipi10"), (p12, cfa, 12, "mipi12")]
    return {f: BayerFormat(f, cfa, bits, packing) for f, cfa, bits, packing in table}


#: FOURCC -> format, for every Bayer format nightvid unpacks.
BAYER_FORMATS: dict[str, BayerFormat] = _formats()


def fourcc_text(code: float | int) -> str:
    """The four characters of a FOURCC code as OpenCV reports it (a float of a 32-bit int).

    >>> fourcc_text(0x31384142)
    'BA81'
    """
    n = int(code) & 0xFFFFFFFF
    return "".join(chr((n >> (8 * i)) & 0xFF) for i in range(4))


def unpack_bayer(buf: np.ndarray, width: int, height: int, fmt: BayerFormat,
                 where: str = "camera") -> np.ndarray:
    """The ``(H, W)`` uint16 mosaic in a raw V4L2 buffer.

    Args:
        buf: the buffer's bytes, any shape (OpenCV gives ``(1, n)`` uint8); rows may be padded
            (the stride is taken as ``n // height``).
        width, height: the frame size the device reports.
        fmt: its pixel format.
        where: the device, for messages.
    Returns:
        (H, W) uint16, samples in [0, ``fmt.white_level``], H and W cropped to even.
    Raises:
        SourceError: the buffer is shorter than ``height`` rows of ``width`` samples.

    >>> fmt = BAYER_FORMATS["pRAA"]
    >>> row = [1, 2, 3, 4, 0b11100100]  # high bytes 1..4; low bits 0, 1, 2, 3
    >>> unpack_bayer(np.array(row * 2, np.uint8), 4, 2, fmt).tolist()
    [[4, 9, 14, 19], [4, 9, 14, 19]]
    """
    raw = np.ascontiguousarray(buf).view(np.uint8).reshape(-1)
    need = fmt.row_bytes(width)
    stride = raw.size // height if height > 0 else 0
    if stride < need:
        raise SourceError(f"{where}: {fmt.fourcc} buffer of {raw.size} bytes is too short for "
                          f"{width}x{height} (expected at least {need * height})")
    rows = raw[: stride * height].reshape(height, stride)[:, :need]
    if fmt.packing == "u8":
        mosaic = rows.astype(np.uint16)
    elif fmt.packing == "u16":
        mosaic = rows.copy().view("<u2").astype(np.uint16)
    elif fmt.packing == "mipi10":
        g = rows.reshape(height, width // 4, 5).astype(np.uint16)  # (H, W/4, 4 high + 1 low)
        low = g[..., 4:5] >> np.arange(0, 8, 2, dtype=np.uint16) & 3
        mosaic = (g[..., :4] << 2 | low).reshape(height, width)
    else:
        g = rows.reshape(height, width // 2, 3).astype(np.uint16)  # (H, W/2, 2 high + 1 low)
        low = g[..., 2:3] >> np.array([0, 4], dtype=np.uint16) & 15
        mosaic = (g[..., :2] << 4 | low).reshape(height, width)
    return np.ascontiguousarray(mosaic[: height // 2 * 2, : width // 2 * 2])
