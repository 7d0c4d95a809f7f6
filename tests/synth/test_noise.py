from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nightvid.errors import ConfigError, SourceError
from nightvid.synth.noise import (
    SONY_A7S2_ELD,
    add_noise,
    data_dir,
    load_eld_noise,
    tukey_lambda_variance,
)

ELD_JSON = data_dir() / "noise" / "eld" / "SonyA7S2_params.json"
needs_data = pytest.mark.skipif(not ELD_JSON.is_file(), reason=f"{ELD_JSON} not present")


def _flat(value: float, shape: tuple[int, int] = (400, 500)) -> np.ndarray:
    return np.full(shape, value)


class TestAddNoise:
    def test_deterministic(self):
        x = np.random.default_rng(1).random((32, 48))
        kw = dict(shot=1e-3, read=1e-5, row_sigma=1e-3)
        a = add_noise(x, rng=np.random.default_rng(7), **kw)
        b = add_noise(x, rng=np.random.default_rng(7), **kw)
        c = add_noise(x, rng=np.random.default_rng(8), **kw)
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert a.shape == x.shape and a.dtype == np.float64

    @pytest.mark.parametrize("x", [0.02, 0.2, 0.6])
    @pytest.mark.parametrize("read_lambda", [None, -0.14, 0.1])
    def test_flat_field_statistics(self, x, read_lambda):
        shot, read = 2e-3, 4e-5
        y = add_noise(_flat(x), shot=shot, read=read, rng=np.random.default_rng(0),
                      read_lambda=read_lambda)
        var = shot * x + read
        assert y.var() == pytest.approx(var, rel=0.05)
        assert abs(y.mean() - x) < 4 * math.sqrt(var / y.size)  # mean preserved

    def test_row_noise(self):
        y = add_noise(_flat(0.3), shot=0.0, read=1e-6, rng=np.random.default_rng(0),
                      row_sigma=0.01)
        rows = y.mean(axis=1)
        assert rows.var() == pytest.approx(1e-4 + 1e-6 / y.shape[1], rel=0.2)
        assert y.var() == pytest.approx(1e-4 + 1e-6, rel=0.2)

    def test_levels_quantisation_and_clipping(self):
        x = np.concatenate([_flat(0.0, (50, 40)), _flat(0.3, (50, 40)), _flat(2.0, (50, 40))])
        y = add_noise(x, shot=1e-4, read=1e-5, rng=np.random.default_rng(0), quant_bits=14,
                      black_level=512, white_level=16383)
        assert y.min() >= 0 and y.max() <= 16383
        assert np.array_equal(y, np.round(y))  # whole DN
        assert (y[100:] == 16383).all()  # saturated
        assert (y[:50] < 512).any()  # noise below black survives
        assert y[50:100].mean() == pytest.approx(512 + 0.3 * (16383 - 512), rel=1e-3)

    def test_default_range_clips_to_unit(self):
        y = add_noise(np.array([[-0.5, 0.5, 3.0]]), shot=0.0, read=0.0,
                      rng=np.random.default_rng(0))
        assert y.tolist() == [[0.0, 0.5, 1.0]]

    def test_negative_parameters(self):
        with pytest.raises(ConfigError, match="shot"):
            add_noise(_flat(0.1), shot=-1.0, read=0.0, rng=np.random.default_rng(0))


class TestTukey:
    def test_logistic_limit(self):
        assert tukey_lambda_variance(0.0) == pytest.approx(math.pi**2 / 3)
        assert tukey_lambda_variance(1e-4) == pytest.approx(math.pi**2 / 3, rel=1e-3)

    def test_uniform_case(self):
        # lambda = 1: uniform on [-1, 1], variance 1/3.
        assert tukey_lambda_variance(1.0) == pytest.approx(1 / 3)


class TestEld:
    def test_fallback_without_data(self, tmp_path):
        m = load_eld_noise("SonyA7S2", iso=6400, ratio=100, data=tmp_path)
        assert "built-in" in m.source
        assert m.k == pytest.approx(SONY_A7S2_ELD["Kmax"])
        assert m.tukey_lambda == pytest.approx(SONY_A7S2_ELD["G_shape"][-1])
        assert (m.black_level, m.white_level, m.bits) == (512.0, 16383.0, 14)

    @needs_data
    def test_fallback_matches_the_json(self, tmp_path):
        for iso in (100, 800, 3200, 12800):
            a = load_eld_noise(iso=iso, ratio=10)
            b = load_eld_noise(iso=iso, ratio=10, data=tmp_path)
            assert a.source != b.source
            assert dataclasses.replace(a, source="") == dataclasses.replace(b, source="")

    def test_gain_grows_with_iso(self):
        lo, hi = (load_eld_noise(iso=i, data="/nonexistent") for i in (800, 12800))
        assert hi.k == pytest.approx(16 * lo.k)
        assert hi.read_sigma_dn > lo.read_sigma_dn and hi.row_sigma_dn > lo.row_sigma_dn
        # Tukey and Gaussian read noise agree on the scale (ELD fits of the same data).
        assert math.sqrt(hi.read_variance_dn) == pytest.approx(hi.read_sigma_dn, rel=0.15)

    @pytest.mark.parametrize("read_model", ["tukey", "gaussian"])
    def test_apply_matches_profile(self, read_model):
        m = load_eld_noise(iso=12800, ratio=20, read_model=read_model, data="/nonexistent")
        clean = 0.4
        dn = m.apply(_flat(clean, (600, 500)), np.random.default_rng(3))
        shot, read = m.profile()
        x = clean / m.ratio  # darkened
        y = (dn - m.black_level) / m.range_dn
        assert y.mean() == pytest.approx(x, rel=0.01)
        assert y.var() == pytest.approx(shot * x + read, rel=0.05)
        again = m.apply(_flat(clean, (600, 500)), np.random.default_rng(3))
        assert np.array_equal(again, dn)

    def test_highlights_clip_after_darkening(self):
        m = load_eld_noise(iso=3200, ratio=4, data="/nonexistent")
        dn = m.apply(np.array([[40.0, 2.0]]), np.random.default_rng(0))
        assert dn[0, 0] == m.white_level and dn[0, 1] < m.white_level

    def test_errors(self, tmp_path):
        with pytest.raises(ConfigError, match="ratio"):
            load_eld_noise(ratio=0.5, data=tmp_path)
        with pytest.raises(ConfigError, match="read_model"):
            load_eld_noise(read_model="laplace", data=tmp_path)  # type: ignore[arg-type]
        with pytest.raises(SourceError, match="NikonD850"):
            load_eld_noise("NikonD850", data=tmp_path)
        with pytest.raises(OSError):  # SourceError is also an OSError
            load_eld_noise("NikonD850", data=tmp_path)

    @needs_data
    def test_other_camera_needs_k(self):
        with pytest.raises(ConfigError, match="k="):
            load_eld_noise("NikonD850", iso=800)
        m = load_eld_noise("NikonD850", k=2.0, ratio=10)
        assert m.k == 2.0 and m.read_sigma_dn > 0
