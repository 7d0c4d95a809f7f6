"""Write a mosaic and its RawMeta as an uncompressed DNG 1.4 that LibRaw and Adobe readers open.

Layout (little-endian, one IFD, one strip): header, IFD0 (the raw CFA image itself), the tag
values that do not fit in an entry, then the pixel rows. 16-bit samples are stored as
little-endian words; 12- and 14-bit samples are bit-packed MSB-first with every row starting
on a byte boundary (DNG 1.4 spec, "Uncompressed" data; TIFF 6 row padding), which LibRaw 0.22
(rawpy 0.28) decodes exactly. Colour tags follow the DNG spec: ColorMatrix is XYZ -> camera.
"""

from __future__ import annotations

import errno
import os
import struct
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ShapeError, SinkError
from ..types import BAYER_PATTERNS, ILLUMINANT_CCT, RawMeta, cfa_offsets
from .tiff import GainMap

#: Standard illuminants first: on a tie (and within 2 % of the CCT) they win.
_PREFERRED_ILLUMINANTS = (17, 21, 23, 20, 22, 24, 18, 19)
_DNG_VERSION = b"\x01\x04\x00\x00"
_BACKWARD_PLAIN = b"\x01\x01\x00\x00"  # no opcodes: any DNG 1.1 reader
_BACKWARD_OPCODES = b"\x01\x03\x00\x00"  # GainMap opcodes arrived in DNG 1.3
_CHUNK_ROWS = 256  # rows packed per write: bounds the temporary bit array


def write_dng(path: str | Path, mosaic: np.ndarray, meta: RawMeta, *, bits: int = 16,
              frame_rate: Fraction | float | None = None, time_code: bytes | None = None,
              extra_make: str = "nightvid") -> Path:
    """Write ``mosaic`` + ``meta`` as an uncompressed CFA DNG, atomically.

    The file is written to a temporary file beside ``path``, fsynced, then renamed over it, so
    a reader never sees half a file. Make is ``extra_make`` (a neutral maker name keeps LibRaw
    from applying a real vendor's quirks); Model and UniqueCameraModel are ``meta.camera``, so
    reading it back gives ``camera == f"{extra_make} {meta.camera}"``. With one colour matrix
    (e.g. only ``color_matrix_2``) it is written as ColorMatrix1, as DNG requires; with none,
    the colour tags are left out (LibRaw then has no matrix either).

    Args:
        path: output ``.dng`` path; its folder must exist.
        mosaic: (H, W) uint16 (any integer dtype is accepted) in sensor DN, in the sensor's
            own CFA layout ``meta.cfa``; every value must fit in ``bits``.
        meta: levels (``black_level`` per plane R, Gr, Gb, B), CFA, colour, noise profile,
            orientation, ISO/exposure and an optional ``gain_map`` (4, gh, gw) per plane.
        bits: 16, or 12/14 for bit-packed samples (smaller sample files).
        frame_rate: CinemaDNG FrameRate (frames per second), written as SRATIONAL; pass a
            Fraction for NTSC rates (``Fraction(30000, 1001)``): a float is stored as its
            shortest decimal (29.97 -> 2997/100).
        time_code: CinemaDNG TimeCodes, 8 to 80 bytes (SMPTE, 8 bytes per code).
        extra_make: the Make tag.
    Returns:
        ``Path(path)``.
    Raises:
        ShapeError: ``mosaic`` is not 2-D integer, or ``meta.gain_map`` is not (4, gh, gw).
        SinkError: unsupported ``bits``/CFA/time code, values that do not fit in ``bits``,
            unwritable folder, full disk; the message names ``path``.
    """
    p = Path(path)
    img = _check_mosaic(p, mosaic, meta, bits)
    if time_code is not None and not (8 <= len(time_code) <= 80 and len(time_code) % 8 == 0):
        raise SinkError(f"{p}: time_code expected 8..80 bytes in steps of 8, "
                        f"got {len(time_code)}")
    try:
        tags = _tags(img.shape, meta, bits, frame_rate, time_code, extra_make)
    except (ValueError, OverflowError, struct.error) as exc:  # NaN matrix, orientation 70000
        raise SinkError(f"{p}: metadata does not fit DNG tags ({exc})") from None
    _write_atomic(p, tags, img, bits)
    return p


def _check_mosaic(p: Path, mosaic: np.ndarray, meta: RawMeta, bits: int) -> np.ndarray:
    if bits not in (12, 14, 16):
        raise SinkError(f"{p}: bits expected 12, 14 or 16, got {bits}")
    if meta.cfa not in BAYER_PATTERNS:
        raise SinkError(f"{p}: meta.cfa expected one of {', '.join(BAYER_PATTERNS)}, "
                        f"got {meta.cfa!r}")
    arr = np.asarray(mosaic)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer) or min(arr.shape) < 2:
        raise ShapeError(f"mosaic: expected (H, W) uint16 with H, W >= 2, got "
                         f"{arr.shape} {arr.dtype} ({p})")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= 1 << bits:
        raise SinkError(f"{p}: mosaic values {lo}..{hi} do not fit in {bits} bits")
    gm = meta.gain_map
    if gm is not None and (np.ndim(gm) != 3 or np.shape(gm)[0] != 4 or min(np.shape(gm)) < 1):
        raise ShapeError(f"meta.gain_map: expected (4, gh, gw), got {np.shape(gm)} ({p})")
    return arr.astype(np.uint16, copy=False)


def _tags(shape: tuple[int, int], meta: RawMeta, bits: int, frame_rate: Fraction | float | None,
          time_code: bytes | None, make: str) -> dict[int, tuple[int, bytes]]:
    """{tag: (TIFF type, little-endian payload)} of IFD0; StripOffsets is patched later."""
    h, w = shape
    t = _TagSet()
    t.longs(254, [0])
    t.longs(256, [w])
    t.longs(257, [h])
    t.shorts(258, [bits])
    t.shorts(259, [1])  # uncompressed
    t.shorts(262, [32803])  # CFA
    t.ascii(271, make)
    t.ascii(272, meta.camera)
    t.longs(273, [0])
    t.shorts(274, [int(meta.orientation)])
    t.shorts(277, [1])
    t.longs(278, [h])
    t.longs(279, [_row_bytes(w, bits) * h])
    t.shorts(284, [1])
    t.ascii(305, f"nightvid {__version__}")
    t.shorts(33421, [2, 2])
    t.raw(33422, 1, bytes("RGB".index(c) for c in meta.cfa))
    if meta.exposure_s:
        t.rationals(33434, [meta.exposure_s], signed=False)
    if meta.iso:
        t.shorts(34855, [min(int(round(meta.iso)), 65535)])
    t.raw(50706, 1, _DNG_VERSION)
    t.raw(50707, 1, _BACKWARD_PLAIN if meta.gain_map is None else _BACKWARD_OPCODES)
    t.ascii(50708, meta.camera)
    t.raw(50710, 1, b"\0\1\2")
    t.shorts(50711, [1])  # rectangular CFA layout
    t.shorts(50713, [2, 2])
    black = [0.0] * 4
    for level, (r, c) in zip(meta.black_level, cfa_offsets(meta.cfa), strict=True):
        black[2 * r + c] = float(level)  # plane order R, Gr, Gb, B -> CFA position, row-major
    if all(b == int(b) and b >= 0 for b in black):
        t.longs(50714, [int(b) for b in black])
    else:
        t.rationals(50714, black, signed=False)
    t.longs(50717, [int(round(meta.white_level))])
    _colour_tags(t, meta)
    t.rationals(50730, [meta.baseline_exposure_ev], signed=True)
    if meta.gain_map is not None:
        t.raw(51009, 7, _opcode_list(_gain_map_opcodes(meta.gain_map, meta.cfa, shape)))
    if meta.noise_profile is not None:
        t.raw(51041, 12, struct.pack("<2d", *map(float, meta.noise_profile)))
    if time_code is not None:
        t.raw(51043, 1, bytes(time_code))
    if frame_rate is not None:
        t.rationals(51044, [frame_rate], signed=True)
    return t.tags


def _colour_tags(t: _TagSet, meta: RawMeta) -> None:
    """ColorMatrix/CalibrationIlluminant/ForwardMatrix 1 and 2, and AsShotNeutral."""
    pairs = [(cm, cct, fm) for cm, cct, fm in
             ((meta.color_matrix_1, meta.cct_1, meta.forward_matrix_1),
              (meta.color_matrix_2, meta.cct_2, meta.forward_matrix_2)) if cm is not None]
    for i, (cm, cct, fm) in enumerate(pairs):  # DNG: ColorMatrix2 only beside ColorMatrix1
        t.rationals(50721 + i, np.asarray(cm, dtype=np.float64)[:3].ravel(), signed=True)
        t.shorts(50778 + i, [illuminant_code(cct)])
        if fm is not None:
            t.rationals(50964 + i, np.asarray(fm, dtype=np.float64).ravel(), signed=True)
    if meta.as_shot_neutral is not None:
        t.rationals(50728, meta.as_shot_neutral, signed=False)


def illuminant_code(cct: float | None) -> int:
    """EXIF LightSource code nearest to ``cct`` kelvin; standard illuminants (A, D65, D50...)
    win ties and anything within 2 % of ``cct``. None means D65 (21).

    >>> illuminant_code(2856.0), illuminant_code(6500.0), illuminant_code(5500.0)
    (17, 21, 20)
    """
    if cct is None:
        return 21
    pref = [c for c in _PREFERRED_ILLUMINANTS if abs(ILLUMINANT_CCT[c] - cct) <= 0.02 * cct]
    if pref:
        return min(pref, key=lambda c: abs(ILLUMINANT_CCT[c] - cct))
    order = list(_PREFERRED_ILLUMINANTS) + sorted(set(ILLUMINANT_CCT) - set(_PREFERRED_ILLUMINANTS))
    return min(order, key=lambda c: abs(ILLUMINANT_CCT[c] - cct))  # min keeps the first tie


def _gain_map_opcodes(gain_map: np.ndarray, cfa: str, shape: tuple[int, int]) -> list[GainMap]:
    """One GainMap per Bayer plane (pitch 2), its points spanning the whole image."""
    h, w = shape
    _, gh, gw = np.shape(gain_map)
    maps = []
    for plane, (r, c) in zip(np.asarray(gain_map, dtype=np.float32), cfa_offsets(cfa),
                                 strict=True):
        maps.append(GainMap(
            top=r, left=c, bottom=h, right=w, plane=0, planes=1, row_pitch=2, col_pitch=2,
            map_points_v=gh, map_points_h=gw,
            map_spacing_v=1.0 / (gh - 1) if gh > 1 else 1.0,
            map_spacing_h=1.0 / (gw - 1) if gw > 1 else 1.0,
            map_origin_v=0.0, map_origin_h=0.0, map_planes=1,
            gains=plane[:, :, None]))  # (gh, gw) -> (gh, gw, 1)
    return maps


def _opcode_list(maps: list[GainMap]) -> bytes:
    """Big-endian opcode list: count, then (id 9, DNG 1.3.0.0, flags 0, size, params) each."""
    out = [struct.pack(">I", len(maps))]
    for m in maps:
        params = m.to_bytes()
        out.append(struct.pack(">4I", 9, 0x01030000, 0, len(params)) + params)
    return b"".join(out)


class _TagSet:
    """Collects IFD entries as (type, little-endian bytes)."""

    def __init__(self) -> None:
        self.tags: dict[int, tuple[int, bytes]] = {}

    def raw(self, tag: int, typ: int, data: bytes) -> None:
        self.tags[tag] = (typ, data)

    def shorts(self, tag: int, values: list[int]) -> None:
        self.raw(tag, 3, struct.pack(f"<{len(values)}H", *values))

    def longs(self, tag: int, values: list[int]) -> None:
        self.raw(tag, 4, struct.pack(f"<{len(values)}I", *values))

    def ascii(self, tag: int, text: str) -> None:
        self.raw(tag, 2, text.encode("utf-8", errors="replace") + b"\0")

    def rationals(self, tag: int, values: object, signed: bool) -> None:
        nums = [x for v in values for x in _ratio(v, signed)]  # type: ignore[attr-defined]
        self.raw(tag, 10 if signed else 5, struct.pack(f"<{len(nums)}{'i' if signed else 'I'}",
                                                       *nums))


def _ratio(x: float | Fraction, signed: bool) -> tuple[int, int]:
    """Closest (numerator, denominator) that fits a (S)RATIONAL."""
    lim = (1 << 31) - 1 if signed else (1 << 32) - 1
    # The shortest decimal of a float (0.4533 -> 4533/10000) reads back as the same float.
    f = x if isinstance(x, Fraction) else Fraction(repr(float(x)))
    if abs(f) > lim or (f < 0 and not signed):
        raise ValueError(f"{float(f)} does not fit a {'S' if signed else ''}RATIONAL")
    if f.denominator > lim or abs(f.numerator) > lim:
        f = f.limit_denominator(max(1, int(lim // (abs(f) + 1))))
    return f.numerator, f.denominator


def _row_bytes(w: int, bits: int) -> int:
    return (w * bits + 7) // 8  # rows start on a byte boundary


def _pixel_chunks(img: np.ndarray, bits: int) -> Iterator[bytes]:
    """Strip bytes, a few rows at a time: LE words for 16 bits, MSB-first bit packing else."""
    w = img.shape[1]
    for y in range(0, img.shape[0], _CHUNK_ROWS):
        rows = img[y: y + _CHUNK_ROWS]
        if bits == 16:
            yield rows.astype("<u2", copy=False).tobytes()
            continue
        shifts = np.arange(bits - 1, -1, -1, dtype=np.uint16)
        bitplane = ((rows[:, :, None] >> shifts) & 1).astype(np.uint8)  # (r, W, bits)
        flat = bitplane.reshape(rows.shape[0], w * bits)  # (r, W*bits), MSB of sample first
        yield np.packbits(flat, axis=1).tobytes()  # pads each row to whole bytes


def _layout(tags: dict[int, tuple[int, bytes]]) -> tuple[bytes, int]:
    """Header + IFD0 + out-of-line values, and the pixel data offset (written right after)."""
    n = len(tags)
    data_at = 8 + 2 + 12 * n + 4
    entries, blobs = [], []
    for tag in sorted(tags):
        typ, data = tags[tag]
        width = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 10: 8, 12: 8}[typ]
        head = struct.pack("<HHI", tag, typ, len(data) // width)
        if len(data) <= 4:
            entries.append(head + data.ljust(4, b"\0"))
        else:
            entries.append(head + struct.pack("<I", data_at))
            blob = data + b"\0" * (len(data) % 2)  # values start on a word boundary
            blobs.append(blob)
            data_at += len(blob)
    body = struct.pack("<2sHI", b"II", 42, 8) + struct.pack("<H", n)
    return body + b"".join(entries) + struct.pack("<I", 0) + b"".join(blobs), data_at


def _write_atomic(p: Path, tags: dict[int, tuple[int, bytes]], img: np.ndarray,
                  bits: int) -> None:
    head, pixel_at = _layout(tags)
    tags[273] = (4, struct.pack("<I", pixel_at))  # inline LONG: patching moves nothing
    head, _ = _layout(tags)
    if pixel_at + _row_bytes(img.shape[1], bits) * img.shape[0] >= 1 << 32:
        raise SinkError(f"{p}: image too large for a classic TIFF/DNG (4 GiB)")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(head)
            for chunk in _pixel_chunks(img, bits):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a DNG is meant to be shared
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        why = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise SinkError(f"{p}: cannot write DNG ({why})") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
