"""write_dng: LibRaw and our tag reader read back exactly what was written; failures are clean."""

from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import rawpy

from nightvid.errors import ShapeError, SinkError
from nightvid.io import dng_write
from nightvid.io.dng_write import illuminant_code, write_dng
from nightvid.io.tiff import read_dng_tags
from nightvid.sources import open_raw
from nightvid.sources.rawfile import gain_map_from_opcodes
from nightvid.types import BAYER_PATTERNS, RawMeta, cfa_offsets

H, W = 64, 96
BLACK = (60.0, 61.0, 62.0, 63.0)  # per plane R, Gr, Gb, B: distinct so a mix-up shows
TIME_CODE = bytes([0x14, 0x55, 0x01, 0x08, 0, 0, 0, 0])


def _meta(cfa: str, bits: int, seed: int = 0) -> RawMeta:
    rng = np.random.default_rng(seed)
    return RawMeta(
        black_level=BLACK, white_level=float((1 << bits) - 1), cfa=cfa,
        as_shot_neutral=(0.4533, 1.0, 0.53),
        color_matrix_1=rng.uniform(-1, 1.5, (3, 3)), cct_1=2856.0,
        color_matrix_2=rng.uniform(-1, 1.5, (3, 3)), cct_2=6504.0,
        forward_matrix_1=rng.uniform(-0.5, 1, (3, 3)),
        forward_matrix_2=rng.uniform(-0.5, 1, (3, 3)),
        noise_profile=(3.2e-4, 1.5e-6), orientation=6, iso=1600.0, exposure_s=1 / 48,
        baseline_exposure_ev=-0.75, gain_map=rng.uniform(1.0, 2.5, (4, 5, 7)).astype(np.float32),
        camera="Test Cam X1")


def _mosaic(bits: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1 << bits, (H, W)).astype(np.uint16)


def _cfa_of(raw: rawpy.RawPy) -> str:
    desc, vis = raw.color_desc.decode(), raw.raw_colors_visible
    return "".join(desc[vis[r, c]] for r in range(2) for c in range(2))


@pytest.mark.parametrize("bits", [16, 12, 14])
@pytest.mark.parametrize("cfa", BAYER_PATTERNS)
class TestRoundTrip:
    def _write(self, tmp_path: Path, cfa: str, bits: int) -> tuple[Path, np.ndarray, RawMeta]:
        mosaic, meta = _mosaic(bits), _meta(cfa, bits)
        p = write_dng(tmp_path / f"rt_{cfa}_{bits}.dng", mosaic, meta, bits=bits,
                      frame_rate=Fraction(24000, 1001), time_code=TIME_CODE)
        return p, mosaic, meta

    def test_libraw_reads_pixels_and_levels(self, tmp_path: Path, cfa: str, bits: int) -> None:
        p, mosaic, _ = self._write(tmp_path, cfa, bits)
        with rawpy.imread(str(p)) as raw:
            np.testing.assert_array_equal(raw.raw_image_visible, mosaic)  # gain map not applied
            assert _cfa_of(raw) == cfa
            vis, black = raw.raw_colors_visible, raw.black_level_per_channel
            assert tuple(black[vis[r, c]] for r, c in cfa_offsets(cfa)) == BLACK
            assert raw.white_level == (1 << bits) - 1
            assert raw.sizes.flip == 6  # LibRaw's code for EXIF orientation 6 (90 deg CW)

    def test_tags_read_back(self, tmp_path: Path, cfa: str, bits: int) -> None:
        p, _, meta = self._write(tmp_path, cfa, bits)
        t = read_dng_tags(p)
        assert (t.make, t.model, t.unique_camera_model) == ("nightvid", "Test Cam X1",
                                                            "Test Cam X1")
        for got, want in ((t.color_matrix_1, meta.color_matrix_1),
                          (t.color_matrix_2, meta.color_matrix_2),
                          (t.forward_matrix_1, meta.forward_matrix_1),
                          (t.forward_matrix_2, meta.forward_matrix_2)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)  # SRATIONAL precision
        assert (t.calibration_illuminant_1, t.calibration_illuminant_2) == (17, 21)
        assert t.as_shot_neutral == pytest.approx(meta.as_shot_neutral, abs=1e-9)
        assert t.noise_profile == list(meta.noise_profile)
        assert t.baseline_exposure == pytest.approx(-0.75)
        assert t.orientation == 6 and t.iso == 1600 and t.exposure_time == pytest.approx(1 / 48)
        assert t.frame_rate == Fraction(24000, 1001) and t.time_codes == TIME_CODE
        assert t.cfa_pattern == cfa and t.cfa_repeat_dim == (2, 2)
        assert t.black_level_repeat_dim == (2, 2)
        for level, (r, c) in zip(BLACK, cfa_offsets(cfa), strict=True):
            assert t.black_level[2 * r + c] == level
        assert t.white_level == (1 << bits) - 1 and t.linearization_table is None
        assert (t.width, t.height, t.bits_per_sample, t.compression, t.photometric) == (
            W, H, bits, 1, 32803)
        assert t.raw_tags[50706] == b"\1\4\0\0"

    def test_gain_map_round_trip(self, tmp_path: Path, cfa: str, bits: int) -> None:
        p, _, meta = self._write(tmp_path, cfa, bits)
        maps = read_dng_tags(p).gain_maps
        assert len(maps) == 4 and all(m.opcode_list == 2 for m in maps)
        got = gain_map_from_opcodes(maps, cfa, (H, W))
        np.testing.assert_allclose(got, meta.gain_map, rtol=0, atol=1e-4)

    def test_open_raw_meta(self, tmp_path: Path, cfa: str, bits: int) -> None:
        p, mosaic, meta = self._write(tmp_path, cfa, bits)
        got_mosaic, got = open_raw(p)
        np.testing.assert_array_equal(got_mosaic, mosaic)
        assert (got.cfa, got.black_level, got.white_level) == (cfa, BLACK, meta.white_level)
        assert (got.cct_1, got.cct_2, got.orientation) == (2856.0, 6504.0, 6)
        assert got.noise_profile == pytest.approx(meta.noise_profile)
        assert got.camera == "nightvid Test Cam X1"
        np.testing.assert_allclose(got.color_matrix_2, meta.color_matrix_2, atol=1e-8)
        np.testing.assert_allclose(got.gain_map, meta.gain_map, atol=1e-4)


class TestOptions:
    def test_minimal_meta(self, tmp_path: Path) -> None:
        meta = RawMeta(black_level=(0.0,) * 4, white_level=65535.0)
        p = write_dng(tmp_path / "min.dng", _mosaic(16), meta)
        t = read_dng_tags(p)
        assert t.color_matrix_1 is None and t.gain_maps == [] and t.frame_rate is None
        assert t.noise_profile is None and t.iso is None and t.raw_tags[50707] == b"\1\1\0\0"
        with rawpy.imread(str(p)) as raw:
            np.testing.assert_array_equal(raw.raw_image_visible, _mosaic(16))

    def test_single_matrix_becomes_colormatrix1(self, tmp_path: Path) -> None:
        cm = np.array([[0.9, -0.3, -0.1], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]])
        meta = RawMeta(black_level=(0.0,) * 4, white_level=4095.0, color_matrix_2=cm,
                       cct_2=6504.0)
        t = read_dng_tags(write_dng(tmp_path / "one.dng", _mosaic(12), meta, bits=12))
        np.testing.assert_allclose(t.color_matrix_1, cm, atol=1e-8)
        assert t.color_matrix_2 is None and t.calibration_illuminant_1 == 21

    def test_fractional_black_level(self, tmp_path: Path) -> None:
        meta = RawMeta(black_level=(64.5, 64.25, 64.0, 63.75), white_level=4095.0)
        t = read_dng_tags(write_dng(tmp_path / "frac.dng", _mosaic(12), meta))
        assert t.black_level.tolist() == [64.5, 64.25, 64.0, 63.75]  # RGGB: row-major = planes

    def test_replaces_existing_file(self, tmp_path: Path) -> None:
        p = tmp_path / "x.dng"
        p.write_bytes(b"old")
        write_dng(p, _mosaic(16), _meta("RGGB", 16))
        assert read_dng_tags(p).width == W and os.listdir(tmp_path) == ["x.dng"]

    @pytest.mark.parametrize(("cct", "code"), [(2856.0, 17), (6504.0, 21), (6500.0, 21),
                                               (5003.0, 23), (3200.0, 24), (None, 21)])
    def test_illuminant_code(self, cct: float | None, code: int) -> None:
        assert illuminant_code(cct) == code


class TestErrors:
    def test_missing_folder(self, tmp_path: Path) -> None:
        target = tmp_path / "no" / "such" / "out.dng"
        with pytest.raises(SinkError, match="out.dng"):
            write_dng(target, _mosaic(16), _meta("RGGB", 16))

    @pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                        reason="root ignores directory permissions")
    def test_read_only_folder(self, tmp_path: Path) -> None:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            with pytest.raises(SinkError, match="out.dng"):
                write_dng(ro / "out.dng", _mosaic(16), _meta("RGGB", 16))
            assert os.listdir(ro) == []
        finally:
            ro.chmod(0o755)

    def test_unwritable_folder(self, tmp_path: Path, monkeypatch) -> None:
        def denied(*args: object, **kwargs: object) -> None:  # what a read-only folder does
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(dng_write.tempfile, "mkstemp", denied)
        with pytest.raises(SinkError, match="out.dng.*Permission denied"):
            write_dng(tmp_path / "out.dng", _mosaic(16), _meta("RGGB", 16))
        assert os.listdir(tmp_path) == []

    def test_disk_full_leaves_nothing(self, tmp_path: Path, monkeypatch) -> None:
        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        p = tmp_path / "keep.dng"
        p.write_bytes(b"previous")
        monkeypatch.setattr(dng_write.os, "fsync", full)
        with pytest.raises(SinkError, match="keep.dng.*disk full"):
            write_dng(p, _mosaic(16), _meta("RGGB", 16))
        assert os.listdir(tmp_path) == ["keep.dng"] and p.read_bytes() == b"previous"

    def test_bad_inputs(self, tmp_path: Path) -> None:
        p, meta = tmp_path / "bad.dng", _meta("RGGB", 12)
        with pytest.raises(SinkError, match="bad.dng.*bits"):
            write_dng(p, _mosaic(12), meta, bits=10)
        with pytest.raises(SinkError, match="bad.dng.*12 bits"):
            write_dng(p, _mosaic(16), meta, bits=12)
        with pytest.raises(ShapeError, match="mosaic"):
            write_dng(p, np.zeros((2, 8, 8), np.uint16), meta)
        with pytest.raises(ShapeError, match="gain_map"):
            write_dng(p, _mosaic(12), meta.replace(gain_map=np.ones((3, 4, 4))))
        with pytest.raises(SinkError, match="time_code"):
            write_dng(p, _mosaic(12), meta, time_code=b"123")
        with pytest.raises(SinkError, match="bad.dng"):
            write_dng(p, _mosaic(12), meta.replace(color_matrix_1=np.full((3, 3), np.nan)))
        assert os.listdir(tmp_path) == []
