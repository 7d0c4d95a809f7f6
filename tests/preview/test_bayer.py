"""V4L2 raw Bayer buffers -> mosaics: every packing, padded rows, short buffers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from nightvid.errors import SourceError
from nightvid.preview.bayer import BAYER_FORMATS, fourcc_text, unpack_bayer


def pack(mosaic: np.ndarray, packing: str) -> np.ndarray:
    """Lay a mosaic out as a V4L2 buffer (written from the format specs, independently of
    the unpacker): 8-bit, 16-bit LE words, MIPI CSI-2 RAW10 / RAW12."""
    h, w = mosaic.shape
    m = mosaic.astype(np.uint32)
    if packing == "u8":
        return m.astype(np.uint8)
    if packing == "u16":
        return m.astype("<u2").view(np.uint8).reshape(h, w * 2)
    out = []
    for row in m:
        buf = bytearray()
        if packing == "mipi10":
            for i in range(0, w, 4):
                px = row[i:i + 4]
                buf += bytes(int(p) >> 2 for p in px)
                buf.append(sum((int(p) & 3) << (2 * k) for k, p in enumerate(px)))
        else:
            for i in range(0, w, 2):
                a, b = int(row[i]), int(row[i + 1])
                buf += bytes([a >> 4, b >> 4, (a & 15) | (b & 15) << 4])
        out.append(np.frombuffer(bytes(buf), np.uint8))
    return np.stack(out)


@pytest.mark.parametrize("fourcc", ["BA81", "RGGB", "BG10", "RG12", "RG16", "pRAA", "pgAA",
                                    "pRCC", "pBCC"])
def test_unpack_round_trip(fourcc):
    fmt = BAYER_FORMATS[fourcc]
    rng = np.random.default_rng(1)
    mosaic = rng.integers(0, fmt.white_level + 1, size=(6, 8), dtype=np.uint16)
    buf = pack(mosaic, fmt.packing).reshape(1, -1)  # OpenCV hands a (1, n) uint8 Mat
    np.testing.assert_array_equal(unpack_bayer(buf, 8, 6, fmt), mosaic)


def test_padded_rows_and_odd_size():
    fmt = BAYER_FORMATS["pRAA"]
    mosaic = np.arange(5 * 8, dtype=np.uint16).reshape(5, 8) * 20
    rows = pack(mosaic, "mipi10")  # 10 bytes per row
    padded = np.concatenate([rows, np.full((5, 6), 255, np.uint8)], axis=1)  # stride 16
    out = unpack_bayer(padded, 8, 5, fmt)
    np.testing.assert_array_equal(out, mosaic[:4])  # odd height cropped, padding ignored


def test_cfa_and_white_level():
    assert (BAYER_FORMATS["BA81"].cfa, BAYER_FORMATS["BA81"].white_level) == ("BGGR", 255)
    assert (BAYER_FORMATS["pgAA"].cfa, BAYER_FORMATS["pgAA"].white_level) == ("GRBG", 1023)
    assert BAYER_FORMATS["GB12"].cfa == "GBRG"


def test_short_buffer_names_the_device():
    with pytest.raises(SourceError, match="/dev/video3.*too short"):
        unpack_bayer(np.zeros(100, np.uint8), 64, 48, BAYER_FORMATS["RG10"], "/dev/video3")


@pytest.mark.parametrize("fourcc", sorted(BAYER_FORMATS))
def test_fourcc_text_matches_opencv(fourcc):
    assert fourcc_text(float(cv2.VideoWriter.fourcc(*fourcc))) == fourcc
