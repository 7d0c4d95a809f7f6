from __future__ import annotations

import numpy as np
import pytest

from nightvid.errors import ShapeError, UnknownNameError
from nightvid.synth.chart import CHART_LIGHT, chart_patches, chart_reflectance
from nightvid.synth.scene import VARIANTS, SceneObject, night_scene

SIZES = [(64, 96), (216, 384), (200, 200)]


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    return {v: night_scene(216, 384, seed=3, variant=v) for v in VARIANTS}


class TestNightScene:
    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    @pytest.mark.parametrize("hw", SIZES)
    def test_shape_dtype_range(self, variant, hw):
        img = night_scene(*hw, seed=1, variant=variant)
        assert img.shape == (*hw, 3)
        assert img.dtype == np.float32
        assert np.isfinite(img).all() and img.min() >= 0
        # Lamps (and neon) are far brighter than the mid-bright reference 1.0.
        assert img.max() > (100 if min(hw) >= 200 else 20)

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    def test_radiance_levels(self, frames, variant):
        img = frames[variant]
        sky = np.median(img[:10], axis=(0, 1))  # top rows: sky
        assert np.all(sky > 0.0005) and np.all(sky < 0.03)
        assert sky[2] > sky[0]  # deep blue at the zenith
        lum = img.mean(axis=2)
        lit = np.mean((lum > 0.05) & (lum < 0.5))
        assert lit > 0.1  # a good share of lit surfaces in the mid range

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    def test_deterministic(self, frames, variant):
        again = night_scene(216, 384, seed=3, variant=variant)
        assert np.array_equal(again, frames[variant])

    def test_seed_and_variant_change_the_scene(self, frames):
        other = night_scene(216, 384, seed=4)
        assert np.abs(other - frames["street"]).mean() > 0.01
        assert np.abs(frames["harbour"] - frames["street"]).mean() > 0.01

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    @pytest.mark.parametrize("k", [1, 6, -4, 33])
    def test_integer_pan_is_a_roll(self, frames, variant, k):
        panned = night_scene(216, 384, seed=3, variant=variant, pan_px=k)
        rolled = np.roll(frames[variant], -k, axis=1)
        m = abs(k) + 8  # away from the borders, where new content enters
        np.testing.assert_allclose(panned[:, m:-m], rolled[:, m:-m], rtol=1e-5, atol=1e-6)

    def test_subpixel_pan_lies_between(self):
        a, b, c = (night_scene(64, 96, seed=2, pan_px=p) for p in (0.0, 0.5, 1.0))
        inner = np.s_[:, 8:-8]
        assert np.abs(b - a)[inner].mean() > 0 and np.abs(b - c)[inner].mean() > 0
        assert np.abs(b - 0.5 * (a + c))[inner].mean() < np.abs(a - c)[inner].mean()

    def test_objects(self, frames):
        car = SceneObject(x=250, y=205, kind="car", facing=-1)
        img = night_scene(216, 384, seed=3, objects=[car])
        assert np.array_equal(img, night_scene(216, 384, seed=3, objects=[car]))
        region = np.s_[170:215, 180:290]
        assert img[region].mean() > 2 * frames["street"][region].mean()
        lamp = night_scene(216, 384, seed=3, objects=[SceneObject(300, 60, kind="light")])
        assert lamp[55:66, 295:306].max() > 100

    def test_errors_name_the_argument(self):
        with pytest.raises(ShapeError, match="night_scene"):
            night_scene(8, 96)
        with pytest.raises(UnknownNameError, match="park"):
            night_scene(64, 96, variant="park")
        with pytest.raises(KeyError):  # also a builtin KeyError
            night_scene(64, 96, variant="park")


class TestChart:
    def test_layout(self):
        patches = chart_patches(1080, 1920)
        assert len(patches) == 24
        for y0, y1, x0, x1, _ in patches:
            assert 0 <= y0 < y1 <= 1080 and 0 <= x0 < x1 <= 1920
            assert y1 - y0 == x1 - x0 >= 40
        greys = [p[4] for p in patches[18:]]
        assert all(g[0] == g[1] == g[2] for g in greys)  # bottom row: neutral
        assert all(a[0] > b[0] for a, b in zip(greys, greys[1:], strict=False))
        expected = chart_reflectance() * np.asarray(CHART_LIGHT)
        np.testing.assert_allclose([p[4] for p in patches], expected)
        assert 0.01 < expected.mean(axis=1).min() and expected.max() < 0.5  # lit surfaces

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    @pytest.mark.parametrize("hw", SIZES)
    def test_rendered_values(self, variant, hw):
        img = night_scene(*hw, seed=5, variant=variant)
        for y0, y1, x0, x1, expected in chart_patches(*hw):
            patch = img[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].reshape(-1, 3)
            np.testing.assert_allclose(patch, np.broadcast_to(expected, patch.shape), rtol=1e-5)

    def test_follows_the_pan(self):
        img = night_scene(216, 384, seed=5, pan_px=7)
        for y0, y1, x0, x1, expected in chart_patches(216, 384, pan_px=7):
            patch = img[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].reshape(-1, 3)
            np.testing.assert_allclose(patch, np.broadcast_to(expected, patch.shape), rtol=1e-5)
