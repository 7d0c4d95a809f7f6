"""Pure-Python TIFF/DNG tag reader: the metadata LibRaw does not expose, without pixel data.

The reader opens the file once and seeks to each IFD (IFD0 and its chain, SubIFDs (tag 330),
the Exif IFD (34665)), so a multi-gigabyte CinemaDNG costs a few kilobytes of reads. Both byte
orders and every classic TIFF type are decoded. DNG opcode lists are always big-endian (DNG 1.4
spec, chapter 7); GainMap opcodes (id 9) are parsed, other opcodes skipped by their byte count.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from ..errors import SourceError

#: TIFF type code -> (struct format of one value, bytes per value). Rationals are two LONGs.
_TYPES: dict[int, tuple[str, int]] = {
    1: ("B", 1), 2: ("s", 1), 3: ("H", 2), 4: ("I", 4), 5: ("I", 8), 6: ("b", 1), 7: ("B", 1),
    8: ("h", 2), 9: ("i", 4), 10: ("i", 8), 11: ("f", 4), 12: ("d", 8), 13: ("I", 4),
}
_MAX_IFDS = 512  # more IFDs than any real file has: a corrupt pointer web, not a photo
_RAW_PHOTOMETRIC = (32803, 34892)  # CFA, LinearRaw
_CFA_LETTERS = "RGBCMYW"  # CFAPlaneColor codes 0..6
_OPCODE_LISTS = (51008, 51009, 51022)  # OpcodeList1/2/3
_GAIN_MAP_ID = 9
_GAIN_MAP_HEAD = struct.Struct(">10I4dI")  # top..map_points_h, spacing/origin, map_planes


@dataclass(frozen=True, eq=False)
class GainMap:
    """One DNG GainMap opcode: per-pixel gains over an area, bilinear between map points.

    Map point (i, j) sits at relative position (map_origin_v + i * map_spacing_v,
    map_origin_h + j * map_spacing_h) of the image, 0 = top/left edge, 1 = bottom/right edge.
    ``gains`` is float32 ``(map_points_v, map_points_h, map_planes)``; ``opcode_list`` says
    which OpcodeList (1, 2 or 3) held it.
    """

    top: int
    left: int
    bottom: int
    right: int
    plane: int
    planes: int
    row_pitch: int
    col_pitch: int
    map_points_v: int
    map_points_h: int
    map_spacing_v: float
    map_spacing_h: float
    map_origin_v: float
    map_origin_h: float
    map_planes: int
    gains: np.ndarray
    opcode_list: int = 2

    def to_bytes(self) -> bytes:
        """The opcode's parameter block (big-endian, without the 16-byte opcode header)."""
        head = _GAIN_MAP_HEAD.pack(
            self.top, self.left, self.bottom, self.right, self.plane, self.planes,
            self.row_pitch, self.col_pitch, self.map_points_v, self.map_points_h,
            self.map_spacing_v, self.map_spacing_h, self.map_origin_v, self.map_origin_h,
            self.map_planes)
        return head + np.ascontiguousarray(self.gains, dtype=">f4").tobytes()


_GAIN_MAP_FIELDS = tuple(f.name for f in fields(GainMap))[:15]  # in _GAIN_MAP_HEAD's order


@dataclass(frozen=True, eq=False)
class DngTags:
    """The DNG/TIFF tags nightvid uses; None where the file lacks the tag.

    Raw-image tags (levels, CFA, sizes, opcodes) come from the raw IFD (NewSubFileType 0 and
    PhotometricInterpretation CFA or LinearRaw); camera-wide tags from IFD0, then the Exif
    IFD, then the raw IFD. Matrices are float64 with rows of 3 (ColorMatrix: XYZ -> camera).
    """

    make: str | None = None
    model: str | None = None
    unique_camera_model: str | None = None
    color_matrix_1: np.ndarray | None = None
    color_matrix_2: np.ndarray | None = None
    forward_matrix_1: np.ndarray | None = None
    forward_matrix_2: np.ndarray | None = None
    calibration_illuminant_1: int | None = None
    calibration_illuminant_2: int | None = None
    as_shot_neutral: tuple[float, float, float] | None = None
    noise_profile: list[float] | None = None
    baseline_exposure: float | None = None
    orientation: int | None = None
    iso: float | None = None
    exposure_time: float | None = None
    frame_rate: Fraction | None = None
    time_codes: bytes | None = None
    linearization_table: np.ndarray | None = None
    black_level: np.ndarray | None = None
    black_level_repeat_dim: tuple[int, int] | None = None
    white_level: int | None = None
    cfa_pattern: str | None = None
    cfa_repeat_dim: tuple[int, int] | None = None
    width: int | None = None
    height: int | None = None
    bits_per_sample: int | None = None
    compression: int | None = None
    photometric: int | None = None
    active_area: tuple[int, int, int, int] | None = None
    default_crop_origin: tuple[float, float] | None = None
    default_crop_size: tuple[float, float] | None = None
    gain_maps: list[GainMap] = field(default_factory=list)
    raw_tags: dict[int, object] = field(default_factory=dict)


def read_dng_tags(path: str | Path) -> DngTags:
    """Read a DNG's (or TIFF/EP raw's) metadata tags, without touching the pixel data.

    Args:
        path: a ``.dng``/``.tif`` file, either byte order.
    Returns:
        :class:`DngTags` of the raw IFD, with camera-wide tags from IFD0 and the Exif IFD.
    Raises:
        SourceError: missing file, not a TIFF (bad magic), truncated (a pointer past the end),
            IFD loop, malformed opcode list, or no raw IFD; the message names the file.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            reader = _Reader(fh, os.fstat(fh.fileno()).st_size, p)
            ifds, exif = reader.walk()
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(f"{p}: cannot read ({exc.strerror or exc})") from None
    raw = next((d for d in ifds if _int(d.get(254), 0) == 0
                and _int(d.get(262)) in _RAW_PHOTOMETRIC), None)
    if raw is None:
        raise SourceError(f"{p}: no raw image IFD (NewSubFileType 0 with CFA or LinearRaw)")
    # The pixels are not read, but a file cut short must not pass: check where they end.
    offsets = raw.get(273) or raw.get(324) or ()  # strips or tiles
    spans = zip(offsets, raw.get(279) or raw.get(325) or (), strict=False)
    end = max((int(o) + int(n) for o, n in spans), default=0)
    if end > reader.size:
        raise SourceError(f"{p}: truncated file (image data ends at byte {end}, file has "
                          f"{reader.size})")
    try:
        return _to_tags(raw, ifds[0], exif, p)
    except (TypeError, ValueError, IndexError) as exc:  # a tag of the wrong type or count
        raise SourceError(f"{p}: malformed DNG tag ({exc})") from None


class _Reader:
    """Seek-and-read access to one open TIFF file."""

    def __init__(self, fh: BinaryIO, size: int, path: Path) -> None:
        self.fh, self.size, self.path = fh, size, path
        head = self.read(0, 8) if size >= 8 else b""
        if head[:4] == b"II*\0":
            self.end = "<"
        elif head[:4] == b"MM\0*":
            self.end = ">"
        elif head[:4] in (b"II+\0", b"MM\0+"):
            raise SourceError(f"{path}: BigTIFF is not supported")
        else:
            raise SourceError(f"{path}: not a TIFF/DNG file (magic {head[:4]!r})")
        self.first = struct.unpack(self.end + "I", head[4:8])[0]
        self.seen: set[int] = set()

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or offset + n > self.size:
            raise SourceError(f"{self.path}: truncated file (needs bytes {offset}..{offset + n}"
                              f", file has {self.size})")
        self.fh.seek(offset)
        return self.fh.read(n)

    def walk(self) -> tuple[list[dict[int, Any]], dict[int, Any]]:
        """All image IFDs (IFD0 first, then chain and SubIFDs depth-first) and the Exif IFD."""
        if not self.first:
            raise SourceError(f"{self.path}: TIFF header points to no IFD")
        ifds: list[dict[int, Any]] = []
        self._walk(self.first, ifds, chain=True)
        exif: dict[int, Any] = {}
        ptr = ifds[0].get(34665)
        if ptr:
            exif, _ = self.ifd(int(ptr[0]))
        return ifds, exif

    def _walk(self, offset: int, out: list[dict[int, Any]], chain: bool) -> None:
        while offset:
            tags, nxt = self.ifd(offset)
            out.append(tags)
            for sub in tags.get(330, ()):
                self._walk(int(sub), out, chain=False)  # DNG: SubIFD trees, not chains
            offset = nxt if chain else 0

    def ifd(self, offset: int) -> tuple[dict[int, Any], int]:
        """Decode the IFD at ``offset``: ({tag: value}, offset of the next IFD)."""
        if offset in self.seen:
            raise SourceError(f"{self.path}: IFD loop (offset {offset} visited twice)")
        if len(self.seen) >= _MAX_IFDS:
            raise SourceError(f"{self.path}: more than {_MAX_IFDS} IFDs (corrupt pointers)")
        self.seen.add(offset)
        (n,) = struct.unpack(self.end + "H", self.read(offset, 2))
        block = self.read(offset + 2, 12 * n + 4)
        tags = {}
        for i in range(n):
            tag, typ, count = struct.unpack(self.end + "HHI", block[12 * i: 12 * i + 8])
            if typ in _TYPES:  # TIFF 6: readers skip entries of unknown type
                tags[tag] = self._value(typ, count, block[12 * i + 8: 12 * i + 12])
        (nxt,) = struct.unpack(self.end + "I", block[-4:])
        return tags, nxt

    def _value(self, typ: int, count: int, inline: bytes) -> Any:
        fmt, width = _TYPES[typ]
        nbytes = count * width
        if nbytes <= 4:
            data = inline[:nbytes]
        else:
            data = self.read(struct.unpack(self.end + "I", inline)[0], nbytes)
        if typ in (1, 7):
            return bytes(data)
        if typ == 2:
            return data.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()
        if typ in (5, 10):
            v = struct.unpack(f"{self.end}{2 * count}{fmt}", data)
            pairs = zip(v[::2], v[1::2], strict=True)
            return tuple(Fraction(a, b) if b else float("nan") for a, b in pairs)
        return struct.unpack(f"{self.end}{count}{fmt}", data)


def _to_tags(raw: dict[int, Any], ifd0: dict[int, Any], exif: dict[int, Any],
             path: Path) -> DngTags:
    def cam(tag: int) -> Any:  # camera-wide tag: IFD0, then Exif, then the raw IFD
        return next((d[tag] for d in (ifd0, exif, raw) if tag in d), None)

    neutral = cam(50728)
    rate = cam(51044)
    lin = raw.get(50712)
    black = raw.get(50714)
    crop_o, crop_s = raw.get(50719), raw.get(50720)
    return DngTags(
        make=cam(271), model=cam(272), unique_camera_model=cam(50708),
        color_matrix_1=_matrix(cam(50721)), color_matrix_2=_matrix(cam(50722)),
        forward_matrix_1=_matrix(cam(50964)), forward_matrix_2=_matrix(cam(50965)),
        calibration_illuminant_1=_int(cam(50778)), calibration_illuminant_2=_int(cam(50779)),
        as_shot_neutral=(float(neutral[0]), float(neutral[1]), float(neutral[2]))
        if neutral is not None and len(neutral) >= 3 else None,
        noise_profile=[float(x) for x in raw.get(51041) or cam(51041) or ()] or None,
        baseline_exposure=_float(cam(50730)),
        orientation=_int(cam(274)),
        iso=_float(cam(34855)),
        exposure_time=_float(cam(33434)),
        frame_rate=rate[0] if rate and isinstance(rate[0], Fraction) else None,
        time_codes=bytes(cam(51043)) if cam(51043) is not None else None,
        linearization_table=None if lin is None else np.asarray(lin).astype(np.uint16),
        black_level=None if black is None else np.array([float(x) for x in black]),
        black_level_repeat_dim=_pair(raw.get(50713)),
        white_level=_int(raw.get(50717)),
        cfa_pattern=_cfa(raw.get(33422), raw.get(50710)),
        cfa_repeat_dim=_pair(raw.get(33421)),
        width=_int(raw.get(256)), height=_int(raw.get(257)),
        bits_per_sample=_int(raw.get(258)), compression=_int(raw.get(259)),
        photometric=_int(raw.get(262)),
        active_area=cast("tuple[int, int, int, int]", tuple(int(x) for x in raw[50829][:4]))
        if len(raw.get(50829, ())) >= 4 else None,
        default_crop_origin=None if crop_o is None else (float(crop_o[0]), float(crop_o[1])),
        default_crop_size=None if crop_s is None else (float(crop_s[0]), float(crop_s[1])),
        gain_maps=[g for i, tag in enumerate(_OPCODE_LISTS, 1) if tag in raw
                   for g in _gain_maps(raw[tag], i, path)],
        raw_tags=dict(raw),
    )


def _gain_maps(blob: Any, list_no: int, path: Path) -> list[GainMap]:
    """GainMap opcodes of one big-endian opcode list; other opcodes are skipped."""
    data = bytes(blob)
    where = f"{path}: OpcodeList{list_no}"
    if len(data) < 4:
        raise SourceError(f"{where}: expected at least 4 bytes, got {len(data)}")
    (count,) = struct.unpack_from(">I", data, 0)
    pos, maps = 4, []
    for _ in range(count):
        if pos + 16 > len(data):
            raise SourceError(f"{where}: truncated opcode header at byte {pos}")
        op_id, _version, _flags, nbytes = struct.unpack_from(">4I", data, pos)
        pos += 16
        if pos + nbytes > len(data):
            raise SourceError(f"{where}: opcode {op_id} needs {nbytes} bytes, "
                              f"{len(data) - pos} left")
        if op_id == _GAIN_MAP_ID:
            maps.append(_gain_map(data[pos: pos + nbytes], list_no, where))
        pos += nbytes
    return maps


def _gain_map(data: bytes, list_no: int, where: str) -> GainMap:
    if len(data) < _GAIN_MAP_HEAD.size:
        raise SourceError(f"{where}: GainMap expected >= {_GAIN_MAP_HEAD.size} bytes, "
                          f"got {len(data)}")
    h = _GAIN_MAP_HEAD.unpack_from(data, 0)
    nv, nh, planes = h[8], h[9], h[14]
    n = nv * nh * planes
    if len(data) < _GAIN_MAP_HEAD.size + 4 * n:
        raise SourceError(f"{where}: GainMap of {nv}x{nh}x{planes} points is truncated")
    gains = np.frombuffer(data, dtype=">f4", count=n, offset=_GAIN_MAP_HEAD.size)
    named = dict(zip(_GAIN_MAP_FIELDS, h, strict=True))
    return GainMap(**named, gains=gains.astype(np.float32).reshape(nv, nh, planes),  # (v, h, p)
                   opcode_list=list_no)


def _matrix(v: Any) -> np.ndarray | None:
    ok = v is not None and len(v) and len(v) % 3 == 0
    return np.array([float(x) for x in v], dtype=np.float64).reshape(-1, 3) if ok else None


def _int(v: Any, default: int | None = None) -> int | None:
    return int(v[0]) if v else default


def _float(v: Any) -> float | None:
    return float(v[0]) if v else None


def _pair(v: Any) -> tuple[int, int] | None:
    return (int(v[0]), int(v[1])) if v is not None and len(v) >= 2 else None


def _cfa(pattern: Any, plane_color: Any) -> str | None:
    """CFAPattern bytes -> letters, e.g. ``"RGGB"``, via CFAPlaneColor (default R, G, B)."""
    colors = bytes(plane_color) if plane_color is not None else b"\0\1\2"
    return None if pattern is None else "".join(_CFA_LETTERS[colors[c]] for c in bytes(pattern))
