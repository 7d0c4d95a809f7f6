from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy

from nightvid.errors import ConfigError, ShapeError
from nightvid.synth.samples import (
    HARBOUR_5000K_XY,
    STREET_3500K_XY,
    illuminant_neutral,
    make_night_raw,
    make_night_sequence,
    render_night_raw,
    smpte_time_code,
    vignetting_gain_map,
)

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "night_street.dng"
N, H, W, CUT = 9, 128, 192, 6


def _norm(mosaic: np.ndarray, meta) -> np.ndarray:
    black = meta.black_level[0]
    return (mosaic.astype(np.float64) - black) / (meta.white_level - black)


def _planes(x: np.ndarray) -> list[np.ndarray]:
    return [x[0::2, 0::2], x[0::2, 1::2], x[1::2, 0::2], x[1::2, 1::2]]  # R, Gr, Gb, B


@pytest.fixture(scope="module")
def seq() -> list:
    return list(make_night_sequence(N, H, W, seed=3, cut_at=CUT))


@pytest.fixture(scope="module")
def seq_other_noise() -> list:
    return list(make_night_sequence(N, H, W, seed=3, cut_at=CUT, noise_seed=99))


class TestMakeNightRaw:
    def test_shape_dtype_meta(self):
        mosaic, meta = make_night_raw(64, 96, seed=1)
        assert mosaic.shape == (64, 96) and mosaic.dtype == np.uint16
        assert meta.black_level == (512.0,) * 4 and meta.white_level == 16383.0
        assert meta.cfa == "RGGB" and meta.iso == 12800 and meta.gain_map.shape == (4, 17, 25)
        assert meta.as_shot_neutral == illuminant_neutral(STREET_3500K_XY)
        assert mosaic.max() <= 16383
        assert 0.0 < _norm(mosaic, meta).mean() < 0.03  # dark

    def test_deterministic_and_seeded(self):
        a, _ = make_night_raw(48, 64, seed=2)
        b, _ = make_night_raw(48, 64, seed=2)
        c, _ = make_night_raw(48, 64, seed=2, noise_seed=5)
        assert np.array_equal(a, b) and not np.array_equal(a, c)

    def test_is_the_bundled_sample(self):
        """samples/night_street.dng was made by this recipe: the mosaic is bit-identical."""
        if not SAMPLE.is_file():
            pytest.skip(f"{SAMPLE} not present")
        with rawpy.imread(str(SAMPLE)) as raw:
            bundled = raw.raw_image.copy()
        mosaic, _ = make_night_raw(1024, 1536, seed=7)
        assert np.array_equal(mosaic, bundled)

    @pytest.mark.parametrize("size", [(15, 64), (64, 33), (8, 8)])
    def test_bad_size(self, size):
        with pytest.raises(ShapeError, match="height and width"):
            make_night_raw(*size)


class TestRenderNightRaw:
    @pytest.mark.parametrize("bits", [12, 14])
    def test_flat_field_variance_matches_profile(self, bits):
        lin = np.full((256, 256, 3), 0.4, np.float32)
        mosaic, meta = render_night_raw(lin, rng=np.random.default_rng(0), iso=6400, ratio=8,
                                        bits=bits, vignetting_grid=None)
        assert meta.white_level == 2**bits - 1 and meta.black_level[0] == 2 ** (bits - 5)
        shot, read = meta.noise_profile
        for plane in _planes(_norm(mosaic, meta)):
            assert plane.var() == pytest.approx(shot * plane.mean() + read, rel=0.06)

    def test_vignetting_darkens_corners(self):
        lin = np.full((128, 192, 3), 1.0, np.float32)
        mosaic, meta = render_night_raw(lin, rng=np.random.default_rng(0), ratio=1, iso=100)
        g = _norm(mosaic, meta)[0::2, 1::2]
        assert g[:8, :8].mean() < 0.6 * g[28:36, 44:52].mean()
        assert np.allclose(vignetting_gain_map(128, 192), meta.gain_map)

    @pytest.mark.parametrize("shape", [(16, 16), (15, 16, 3), (16, 16, 4)])
    def test_bad_shape(self, shape):
        with pytest.raises(ShapeError, match="lin_srgb"):
            render_night_raw(np.zeros(shape, np.float32), rng=np.random.default_rng(0))

    def test_bad_bits(self):
        with pytest.raises(ConfigError, match="bits"):
            render_night_raw(np.zeros((16, 16, 3), np.float32), rng=np.random.default_rng(0),
                             bits=16)


class TestMakeNightSequence:
    def test_shapes_and_info(self, seq):
        assert len(seq) == N
        for i, (mosaic, meta, info) in enumerate(seq):
            assert mosaic.shape == (H, W) and mosaic.dtype == np.uint16
            assert mosaic.max() <= 4095 and meta.white_level == 4095.0  # 12-bit by default
            assert info.index == i and info.cut_index == CUT and info.shot == int(i >= CUT)
            assert info.variant == ("street" if i < CUT else "harbour")
            assert info.illuminant_cct == (3500.0 if i < CUT else 5000.0)
            xy = STREET_3500K_XY if i < CUT else HARBOUR_5000K_XY
            assert meta.as_shot_neutral == illuminant_neutral(xy)
            assert meta.timestamp_s == pytest.approx(i / 24)
        assert [s[2].blink_on for s in seq] == [True] * 4 + [False] * 4 + [True]
        pans = np.array([s[2].pan_px for s in seq[:CUT]])
        assert np.allclose(np.diff(pans), 2.25)

    def test_deterministic(self, seq):
        again = list(make_night_sequence(N, H, W, seed=3, cut_at=CUT))
        assert all(np.array_equal(a[0], b[0]) and a[2] == b[2] for a, b in zip(seq, again,
                                                                                strict=True))

    def test_cut_visible_in_frame_statistics(self, seq):
        """The light's colour jumps at the cut, and only there; so does the content."""
        rb, small = [], []
        for mosaic, meta, _ in seq:
            x = _norm(mosaic, meta).astype(np.float32)
            r, g, _, b = (cv2.blur(p, (4, 4)) for p in _planes(x))  # local means, (H/2, W/2)
            ok = (g > 0.01) & (np.maximum(r, b) < 0.5)  # lit, unclipped
            rb.append(np.median(np.log(np.clip(r[ok], 1e-4, None) / np.clip(b[ok], 1e-4, None))))
            small.append(cv2.resize(g, (W // 16, H // 16), interpolation=cv2.INTER_AREA))
        jumps = np.abs(np.diff(rb))
        assert int(np.argmax(jumps)) == CUT - 1
        assert jumps[CUT - 1] > 4 * np.delete(jumps, CUT - 1).max()
        change = [np.abs(b - a).mean() / a.mean()
                  for a, b in zip(small[:-1], small[1:], strict=True)]
        assert int(np.argmax(change)) == CUT - 1
        assert change[CUT - 1] > 2 * np.delete(change, CUT - 1).max()

    def test_noise_independent_between_frames(self, seq, seq_other_noise):
        """Two noise draws of the same clean frames differ by noise alone; frames don't share it."""
        shot, read = seq[0][1].noise_profile
        white, rows = [], []
        for (a, meta, _), (b, _, _) in zip(seq, seq_other_noise, strict=True):
            na, nb = _norm(a, meta), _norm(b, meta)
            d = na - nb
            rows.append(d.mean(axis=1, keepdims=True))  # row noise: H samples per frame
            level = np.clip((na + nb) / 2, 0, None)
            w = (d - rows[-1]) / np.sqrt(2 * (shot * level + read))  # unit variance
            white.append(np.where((na < 0.9) & (nb < 0.9), w, 0.0))  # not clipped lamp cores
        for t in range(N - 1):
            r = np.corrcoef(white[t].ravel(), white[t + 1].ravel())[0, 1]
            assert abs(r) < 0.03  # ~5 sigma for H*W samples
            assert abs(np.corrcoef(rows[t].ravel(), rows[t + 1].ravel())[0, 1]) < 0.35

    def test_noise_variance_matches_profile(self, seq, seq_other_noise):
        shot, read = seq[0][1].noise_profile
        d, level = [], []
        for (a, meta, _), (b, _, _) in zip(seq, seq_other_noise, strict=True):
            na, nb = _norm(a, meta), _norm(b, meta)
            ok = (na < 0.9) & (nb < 0.9)  # away from clipped lamp cores
            d.append((na - nb)[ok])
            level.append(((na + nb) / 2)[ok])
        diff, x = np.concatenate(d), np.concatenate(level)
        for sel in (x < np.median(x), x >= np.median(x)):  # dark half (read), bright (shot)
            want = shot * np.clip(x[sel], 0, None).mean() + read
            assert (diff[sel] ** 2).mean() / 2 == pytest.approx(want, rel=0.08)

    @pytest.mark.parametrize("kw", [{"n_frames": 1}, {"cut_at": 0}, {"cut_at": 4},
                                    {"bits": 16}])
    def test_bad_args(self, kw):
        args = {"n_frames": 4, "height": 32, "width": 48, **kw}
        with pytest.raises(ConfigError):
            list(make_night_sequence(**args))


class TestSmpteTimeCode:
    @pytest.mark.parametrize(("frame", "fps", "start", "hexed"), [
        (0, 24, (1, 0, 0, 0), "0000000100000000"),
        (17, 24, (1, 0, 0, 0), "1700000100000000"),
        (24 * 3600, 24, (1, 0, 0, 0), "0000000200000000"),
        (14, 30, (8, 1, 55, 0), "1455010800000000"),  # the Blackmagic sample's code
        (1, 25, (23, 59, 59, 24), "0000000000000000"),  # wraps at midnight
    ])
    def test_golden(self, frame, fps, start, hexed):
        assert smpte_time_code(frame, fps, start).hex() == hexed
