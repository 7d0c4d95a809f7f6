"""read_dng_tags: a real CinemaDNG, hand-built TIFFs of both byte orders, and broken files."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import rawpy

from _helpers.data import require
from nightvid.errors import SourceError
from nightvid.io.dng_write import write_dng
from nightvid.io.tiff import GainMap, read_dng_tags
from nightvid.sources import open_raw
from nightvid.types import RawMeta

BMD = "raw/cinemadng/Blackmagic.dng"

# ----------------------------------------------------------------------------- TIFF builder
_FMT = {1: "B", 3: "H", 4: "I", 5: "I", 6: "b", 7: "B", 8: "h", 9: "i", 10: "i", 11: "f",
        12: "d", 13: "I"}
Value = object  # bytes, str, list of numbers/Fractions, or a callable(offsets) -> list


def _encode(end: str, typ: int, values: Value) -> tuple[int, bytes]:
    if isinstance(values, bytes):  # BYTE, UNDEFINED, or a made-up type
        return len(values), values
    if typ == 2:
        data = str(values).encode() + b"\0"
        return len(data), data
    vals = list(values)  # type: ignore[call-overload]
    if typ in (5, 10):
        flat = [x for f in vals for x in (Fraction(f).numerator, Fraction(f).denominator)]
        return len(vals), struct.pack(f"{end}{len(flat)}{_FMT[typ]}", *flat)
    return len(vals), struct.pack(f"{end}{len(vals)}{_FMT[typ]}", *vals)


def make_tiff(end: str, ifds: list[list[tuple[int, int, Value]]],
              nexts: dict[int, int] | None = None) -> bytes:
    """A TIFF with ``ifds`` (blocks in file order; IFD0 first). A callable value gets the list
    of IFD offsets (for SubIFDs/Exif pointers); ``nexts`` maps an IFD to its next IFD."""
    offsets = [0] * len(ifds)
    for _ in range(2):  # pass 1 measures the blocks, pass 2 fills in the pointers
        out, pos = [], 8
        for k, entries in enumerate(ifds):
            offsets[k] = pos
            enc = [(t, ty, *_encode(end, ty, v(offsets) if callable(v) else v))
                   for t, ty, v in sorted(entries, key=lambda e: e[0])]
            data_at = pos + 2 + 12 * len(enc) + 4
            head, blobs = [struct.pack(f"{end}H", len(enc))], []
            for tag, typ, count, data in enc:
                if len(data) <= 4:
                    head.append(struct.pack(f"{end}HHI", tag, typ, count) + data.ljust(4, b"\0"))
                else:
                    head.append(struct.pack(f"{end}HHII", tag, typ, count, data_at))
                    blobs.append(data.ljust(len(data) + len(data) % 2, b"\0"))
                    data_at += len(blobs[-1])
            nxt = offsets[(nexts or {})[k]] if k in (nexts or {}) else 0
            head.append(struct.pack(f"{end}I", nxt))
            out.append(b"".join(head + blobs))
            pos = data_at
    magic = b"II*\0" if end == "<" else b"MM\0*"
    return magic + struct.pack(f"{end}I", 8) + b"".join(out)


def _opcodes(*ops: tuple[int, bytes]) -> bytes:
    body = b"".join(struct.pack(">4I", op, 0x01030000, 1, len(p)) + p for op, p in ops)
    return struct.pack(">I", len(ops)) + body


def _dng_ifds(gain: GainMap) -> list[list[tuple[int, int, Value]]]:
    """IFD0 = thumbnail with camera tags, SubIFD = CFA raw, then an Exif IFD."""
    sub: Callable[[list[int]], list[int]] = lambda o: [o[1]]  # noqa: E731
    exif: Callable[[list[int]], list[int]] = lambda o: [o[2]]  # noqa: E731
    ifd0 = [(254, 4, [1]), (256, 4, [8]), (257, 4, [8]), (262, 3, [2]), (271, 2, "Acme"),
            (272, 2, "Model 9"), (274, 3, [8]), (330, 4, sub), (34665, 4, exif),
            (50706, 1, b"\1\4\0\0"), (50708, 2, "Acme Model 9"),
            (50721, 10, [Fraction(i - 4, 7) for i in range(9)]),
            (50778, 3, [17]), (50728, 5, [Fraction(1, 2), 1, Fraction(2, 3)]),
            (50730, 10, [Fraction(-1, 3)]), (51041, 12, [1e-4, 2e-6, 3e-4, 4e-6]),
            (51044, 10, [Fraction(24000, 1001)]), (51043, 1, b"\x01\x02\x03\x04\5\6\7\x08"),
            (40004, 99, b"\1")]  # 99: an unknown type, which readers skip
    raw = [(254, 4, [0]), (256, 4, [6]), (257, 4, [4]), (258, 3, [16]), (259, 3, [1]),
           (262, 3, [32803]), (273, 4, [8]), (279, 4, [48]), (33421, 3, [2, 2]),
           (33422, 1, b"\2\1\1\0"), (50710, 1, b"\0\1\2"), (50712, 3, [0, 10, 20, 40]),
           (50713, 3, [2, 2]), (50714, 5, [Fraction(129, 2), 64, 65, 66]),
           (50717, 4, [4000]), (50829, 4, [0, 0, 4, 6]), (50719, 5, [Fraction(1, 2), 1]),
           (50720, 4, [4, 2]),
           (51009, 7, _opcodes((4, b"\0" * 12), (9, gain.to_bytes()), (99, b"x" * 5)))]
    exif_ifd = [(34855, 3, [3200]), (33434, 5, [Fraction(1, 50)])]
    return [ifd0, raw, exif_ifd]


def _gain() -> GainMap:
    return GainMap(top=0, left=1, bottom=4, right=6, plane=0, planes=1, row_pitch=2,
                   col_pitch=2, map_points_v=2, map_points_h=3, map_spacing_v=1.0,
                   map_spacing_h=0.5, map_origin_v=0.0, map_origin_h=0.0, map_planes=1,
                   gains=np.arange(1, 7, dtype=np.float32).reshape(2, 3, 1) / 4)


# ----------------------------------------------------------------------------- tests
class TestSyntheticTiff:
    @pytest.mark.parametrize("end", ["<", ">"])
    def test_all_types_both_orders(self, tmp_path: Path, end: str) -> None:
        p = tmp_path / "a.dng"
        p.write_bytes(make_tiff(end, _dng_ifds(_gain())))
        t = read_dng_tags(p)
        assert (t.make, t.model, t.unique_camera_model) == ("Acme", "Model 9", "Acme Model 9")
        np.testing.assert_array_equal(t.color_matrix_1, (np.arange(9) - 4).reshape(3, 3) / 7)
        assert t.color_matrix_2 is None and t.forward_matrix_1 is None
        assert t.calibration_illuminant_1 == 17 and t.calibration_illuminant_2 is None
        assert t.as_shot_neutral == pytest.approx((0.5, 1.0, 2 / 3))
        assert t.noise_profile == [1e-4, 2e-6, 3e-4, 4e-6]
        assert t.baseline_exposure == pytest.approx(-1 / 3)
        assert t.orientation == 8 and t.iso == 3200 and t.exposure_time == pytest.approx(0.02)
        assert t.frame_rate == Fraction(24000, 1001) and isinstance(t.frame_rate, Fraction)
        assert t.time_codes == b"\x01\x02\x03\x04\5\6\7\x08"
        assert t.cfa_pattern == "BGGR" and t.cfa_repeat_dim == (2, 2)
        assert t.linearization_table.dtype == np.uint16
        assert t.linearization_table.tolist() == [0, 10, 20, 40]
        assert t.black_level.tolist() == [64.5, 64, 65, 66]
        assert t.black_level_repeat_dim == (2, 2) and t.white_level == 4000
        assert (t.width, t.height, t.bits_per_sample, t.compression, t.photometric) == (
            6, 4, 16, 1, 32803)
        assert t.active_area == (0, 0, 4, 6)
        assert t.default_crop_origin == (0.5, 1.0) and t.default_crop_size == (4.0, 2.0)
        assert t.raw_tags[262] == (32803,)
        (g,) = t.gain_maps  # opcodes 4 and 99 skipped by their byte count
        assert (g.top, g.left, g.bottom, g.right, g.row_pitch, g.col_pitch) == (0, 1, 4, 6, 2, 2)
        assert (g.map_points_v, g.map_points_h, g.map_spacing_h, g.opcode_list) == (2, 3, 0.5, 2)
        np.testing.assert_array_equal(g.gains, _gain().gains)
        assert g.gains.dtype == np.float32

    @pytest.mark.parametrize("end", ["<", ">"])
    def test_signed_float_types_in_raw_tags(self, tmp_path: Path, end: str) -> None:
        ifds = _dng_ifds(_gain())
        ifds[1] += [(40000, 6, [-5, 7]), (40001, 8, [-300]), (40002, 9, [-70000, 1]),
                    (40003, 11, [0.5, -2.25]), (40005, 12, [1e300]), (40006, 13, [0]),
                    (40007, 10, [Fraction(-7, 3)]), (40008, 7, b"\xff")]
        p = tmp_path / "b.dng"
        p.write_bytes(make_tiff(end, ifds))
        raw = read_dng_tags(p).raw_tags
        assert raw[40000] == (-5, 7) and raw[40001] == (-300,) and raw[40002] == (-70000, 1)
        assert raw[40003] == (0.5, -2.25) and raw[40005] == (1e300,) and raw[40006] == (0,)
        assert raw[40007] == (Fraction(-7, 3),) and raw[40008] == b"\xff"

    def test_raw_in_ifd0_and_chain(self, tmp_path: Path) -> None:
        ifds = _dng_ifds(_gain())
        thumb, raw, _ = ifds
        p = tmp_path / "c.dng"  # raw first, thumbnail reached through the next-IFD chain
        p.write_bytes(make_tiff(">", [raw + [(271, 2, "Z")], thumb[:4]], nexts={0: 1}))
        t = read_dng_tags(p)
        assert t.make == "Z" and t.cfa_pattern == "BGGR" and t.iso is None

    @pytest.mark.parametrize("nexts", [{0: 0}, {0: 1, 1: 0}])
    def test_ifd_loop(self, tmp_path: Path, nexts: dict[int, int]) -> None:
        p = tmp_path / "loop.dng"
        ifds = _dng_ifds(_gain())
        p.write_bytes(make_tiff("<", [ifds[1], ifds[1]], nexts=nexts))
        with pytest.raises(SourceError, match="loop.dng.*loop"):
            read_dng_tags(p)

    def test_no_raw_ifd(self, tmp_path: Path) -> None:
        p = tmp_path / "rgb.tif"
        p.write_bytes(make_tiff("<", [_dng_ifds(_gain())[0][:4]]))
        with pytest.raises(SourceError, match="rgb.tif.*no raw image IFD"):
            read_dng_tags(p)

    def test_bad_opcode_list(self, tmp_path: Path) -> None:
        ifds = _dng_ifds(_gain())
        ifds[1] = [e for e in ifds[1] if e[0] != 51009] + [(51009, 7, _opcodes((9, b"\0" * 8)))]
        p = tmp_path / "op.dng"
        p.write_bytes(make_tiff("<", ifds))
        with pytest.raises(SourceError, match="op.dng: OpcodeList2"):
            read_dng_tags(p)


def _small_dng(path: Path) -> Path:
    mosaic = np.random.default_rng(0).integers(0, 4096, (64, 96)).astype(np.uint16)
    return write_dng(path, mosaic, RawMeta(black_level=(64.0,) * 4, white_level=4095.0))


class TestBrokenFiles:
    def _check(self, p: Path) -> None:
        with pytest.raises(SourceError, match=p.name):
            read_dng_tags(p)
        with pytest.raises(SourceError, match=p.name):
            open_raw(p)

    def test_text_renamed(self, tmp_path: Path) -> None:
        p = tmp_path / "notes.dng"
        p.write_text("shopping list: milk, eggs\n" * 20)
        self._check(p)

    def test_truncated_half(self, tmp_path: Path) -> None:
        p = _small_dng(tmp_path / "full.dng")
        cut = tmp_path / "cut.dng"
        cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        self._check(cut)

    def test_truncated_in_ifd(self, tmp_path: Path) -> None:
        p = _small_dng(tmp_path / "full.dng")
        cut = tmp_path / "tiny.dng"
        cut.write_bytes(p.read_bytes()[:40])
        self._check(cut)

    def test_random_bytes(self, tmp_path: Path) -> None:
        p = tmp_path / "noise.dng"
        p.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        self._check(p)

    def test_missing(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match="absent.dng"):
            read_dng_tags(tmp_path / "absent.dng")


class TestBlackmagic:
    @pytest.fixture(scope="class")
    def sidecar(self) -> dict:
        return json.loads(require(BMD).with_suffix(".json").read_text())

    def test_tags(self, sidecar: dict) -> None:
        t = read_dng_tags(require(BMD))
        assert t.unique_camera_model == "Blackmagic Pocket Cinema Camera 4K"
        for m in (t.color_matrix_1, t.color_matrix_2, t.forward_matrix_1, t.forward_matrix_2):
            assert m.shape == (3, 3) and np.abs(m).sum() > 1
        # ColorMatrix1 row 0 as stored: SRATIONALs 94953/100000, -5687/12500, 2829/100000.
        np.testing.assert_allclose(t.color_matrix_1[0], [0.94953, -0.45496, 0.02829])
        # D65 white through ColorMatrix2 (D65) -> the camera neutral, green normalised to 1.
        assert t.color_matrix_2 @ [0.9505, 1.0, 1.089] == pytest.approx([0.3534, 1.0, 0.7491],
                                                                          abs=1e-3)
        assert [t.calibration_illuminant_1, t.calibration_illuminant_2] == sidecar[
            "calibration_illuminants"]
        assert t.as_shot_neutral == pytest.approx(sidecar["as_shot_neutral"], abs=1e-4)
        assert "FrameRate tag 30/1" in sidecar["camera"] and t.frame_rate == Fraction(30, 1)
        assert t.time_codes is not None and len(t.time_codes) == 8
        lin = t.linearization_table
        assert lin.shape == (4096,) and np.all(np.diff(lin.astype(int)) >= 0)
        assert (lin[0], lin[-1]) == (0, 65472)
        assert t.black_level.tolist() == [sidecar["black_level"]]
        assert t.white_level == sidecar["white_level"]
        assert t.cfa_pattern == sidecar["cfa_pattern"]
        assert f"{t.width} x {t.height}" in sidecar["size"] and t.bits_per_sample == 12
        assert t.photometric == 32803 and t.compression == 7  # lossless JPEG tiles
        assert t.default_crop_size == (4096.0, 2160.0) and t.gain_maps == []

    def test_open_raw_uses_dng_tags(self, sidecar: dict) -> None:
        _, meta = open_raw(require(BMD))
        assert np.abs(meta.color_matrix_1).sum() > 1 and meta.origin["color_matrix_1"] == "dng tag"
        assert meta.cct_1 == 2856.0 and meta.cct_2 == 6504.0
        assert meta.as_shot_neutral == pytest.approx(sidecar["as_shot_neutral"], abs=1e-4)
        assert meta.cfa == "RGGB" and meta.black_level == (512.0,) * 4

    def test_libraw_applies_linearization(self) -> None:
        with rawpy.imread(str(require(BMD))) as raw:
            assert np.abs(raw.rgb_xyz_matrix).sum() == 0  # why the DNG tags are read here
            assert int(raw.raw_image_visible.max()) > 4095  # 12-bit codes went through the table
            assert raw.white_level == 65535

    def test_truncated_copy(self, tmp_path: Path) -> None:
        data = require(BMD).read_bytes()
        p = tmp_path / "bmd_half.dng"
        p.write_bytes(data[: len(data) // 2])
        with pytest.raises(SourceError, match="bmd_half.dng.*truncated"):
            read_dng_tags(p)
