from __future__ import annotations

import numpy as np
import pytest
import torch

from nightvid.errors import MetadataError, ShapeError
from nightvid.isp import ccm
from nightvid.isp.demosaic import demosaic_mhc
from nightvid.isp.lens_shading import apply_gain_map
from nightvid.isp.pack import pack_bayer, unpack_bayer
from nightvid.isp.white_balance import apply_wb, gains_from_neutral, packed_to_cam_rgb
from nightvid.synth.scene import night_scene
from nightvid.synth.unprocess import (
    camera_from_srgb,
    display_to_linear,
    inverse_smoothstep,
    linear_srgb_to_camera,
    linear_to_srgb,
    mosaic,
    smoothstep,
    srgb_to_linear,
    unprocess_scene,
)
from nightvid.types import BAYER_PATTERNS, RawMeta, cfa_offsets

# Sony ILCE-7S/7SM2 ColorMatrix (D65), Adobe DNG Converter / LibRaw, x 1e-4.
SONY = np.array([[5838, -1430, -246], [-3497, 11477, 2297], [-748, 1885, 5778]]) / 1e4
# Nikon-like second matrix (standard light A) to exercise the two-matrix interpolation.
TUNGSTEN = np.array([[8000, -2600, -400], [-4500, 12500, 2100], [-800, 1600, 7600]]) / 1e4
NEUTRAL = (0.62, 1.0, 0.41)  # a warm light: blue is weak


def _meta(cfa: str, gain_map: np.ndarray | None = None, two: bool = False) -> RawMeta:
    return RawMeta(black_level=(0.0,) * 4, white_level=1.0, cfa=cfa, as_shot_neutral=NEUTRAL,
                   color_matrix_1=TUNGSTEN if two else SONY, cct_1=2856.0 if two else 6504.0,
                   color_matrix_2=SONY if two else None, cct_2=6504.0 if two else None,
                   gain_map=gain_map)


def _vignette() -> np.ndarray:
    y, x = np.meshgrid(np.linspace(-1, 1, 17), np.linspace(-1, 1, 25), indexing="ij")
    g = 1.0 + 0.8 * (x**2 + y**2)
    return np.stack([g * 1.03, g, g, g * 0.98]).astype(np.float32)


def _forward_packed(mos: torch.Tensor, meta: RawMeta) -> torch.Tensor:
    """nightvid's forward stages at plane resolution: lens shading, WB, planes, CCM."""
    packed = pack_bayer(mos, meta.cfa)
    if meta.gain_map is not None:
        packed = apply_gain_map(packed, torch.from_numpy(meta.gain_map))
    gains = gains_from_neutral(torch.tensor(meta.as_shot_neutral)[None])
    cam = packed_to_cam_rgb(apply_wb(packed, gains))
    neutral = 1.0 / gains[0].double().numpy()
    m, _ = ccm.matrix_for_neutral(meta.color_matrix_1, meta.cct_1, meta.color_matrix_2,
                                  meta.cct_2, neutral / neutral[1])
    return ccm.apply_ccm(cam, torch.from_numpy(ccm.srgb_from_camera(m)).float())


class TestCurves:
    def test_srgb_round_trip(self):
        x = torch.linspace(0, 1, 101)
        torch.testing.assert_close(srgb_to_linear(linear_to_srgb(x)), x, atol=1e-6, rtol=0)
        assert srgb_to_linear(torch.tensor([0.5])).item() == pytest.approx(0.21404, abs=1e-5)

    def test_smoothstep_inverse(self):
        x = torch.linspace(0, 1, 101, dtype=torch.float64)
        torch.testing.assert_close(inverse_smoothstep(smoothstep(x)), x, atol=1e-9, rtol=0)
        torch.testing.assert_close(smoothstep(inverse_smoothstep(x)), x, atol=1e-9, rtol=0)

    def test_display_to_linear(self):
        x = torch.rand(1, 3, 4, 4)
        disp = linear_to_srgb(smoothstep(x))  # a display image made in the other order
        assert display_to_linear(disp).shape == x.shape
        y = torch.tensor([0.0, 1.0])
        assert display_to_linear(y).tolist() == pytest.approx([0.0, 1.0], abs=1e-6)


class TestCamera:
    def test_inverse_of_srgb_from_camera(self):
        np.testing.assert_allclose(camera_from_srgb(SONY) @ ccm.srgb_from_camera(SONY),
                                   np.eye(3), atol=1e-12)

    def test_white_stays_white(self):
        white = torch.full((1, 3, 2, 2), 0.3)
        torch.testing.assert_close(linear_srgb_to_camera(white, SONY), white)

    def test_shape_error(self):
        with pytest.raises(ShapeError, match="lin_srgb"):
            linear_srgb_to_camera(torch.zeros(3, 4, 4), SONY)


class TestMosaic:
    @pytest.mark.parametrize("cfa", BAYER_PATTERNS)
    def test_planes(self, cfa):
        rgb = torch.rand(2, 3, 6, 8)
        packed = pack_bayer(mosaic(rgb, cfa), cfa)
        for plane, (ch, (dy, dx)) in enumerate(zip((0, 1, 1, 2), cfa_offsets(cfa), strict=True)):
            torch.testing.assert_close(packed[:, plane], rgb[:, ch, dy::2, dx::2])

    def test_odd_size(self):
        with pytest.raises(ShapeError, match="cam_rgb"):
            mosaic(torch.zeros(1, 3, 5, 4))


class TestUnprocessScene:
    @pytest.mark.parametrize("cfa", BAYER_PATTERNS)
    @pytest.mark.parametrize("shading", [False, True])
    @pytest.mark.parametrize("two", [False, True])
    def test_round_trip_packed(self, cfa, shading, two):
        # Constant 2x2 blocks: plane-resolution forward stages see exactly the input.
        half = torch.rand(1, 3, 12, 16) * 0.9 + 0.01
        lin = half.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        meta = _meta(cfa, _vignette() if shading else None, two)
        mos = unprocess_scene(lin, meta, exposure_scale=0.8, clip=False)
        assert mos.shape == (1, 1, 24, 32)
        back = _forward_packed(mos, meta) / 0.8
        torch.testing.assert_close(back, half, atol=1e-4, rtol=0)

    @pytest.mark.parametrize("cfa", BAYER_PATTERNS)
    def test_round_trip_night_scene(self, cfa):
        img = torch.from_numpy(night_scene(32, 48, seed=0)).permute(2, 0, 1)[None]  # (1,3,h,w)
        img = img.clamp(max=4.0) / 4.0  # keep the round trip free of clipping
        lin = img.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        meta = _meta(cfa, _vignette())
        mos = unprocess_scene(lin, meta)
        assert 0 <= mos.min() and mos.max() <= 1
        torch.testing.assert_close(_forward_packed(mos, meta), img, atol=1e-3, rtol=0)

    @pytest.mark.parametrize("cfa", BAYER_PATTERNS)
    def test_round_trip_demosaic(self, cfa):
        # Linear ramps: Malvar-He-Cutler demosaicing is exact on them away from the border.
        yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(40.0), indexing="ij")
        lin = torch.stack([0.1 + 0.01 * xx, 0.2 + 0.005 * yy, 0.05 + 0.004 * (xx + yy)])[None]
        meta = _meta(cfa)
        mos = unprocess_scene(lin, meta, clip=False)
        gains = gains_from_neutral(torch.tensor(NEUTRAL)[None])
        wb = unpack_bayer(apply_wb(pack_bayer(mos, cfa), gains), cfa)
        back = ccm.apply_ccm(demosaic_mhc(wb, cfa),
                             torch.from_numpy(ccm.srgb_from_camera(SONY)).float())
        torch.testing.assert_close(back[..., 4:-4, 4:-4], lin[..., 4:-4, 4:-4], atol=1e-3,
                                   rtol=0)

    def test_sensor_sees_the_cast(self):
        grey = torch.full((1, 3, 4, 4), 0.25)
        packed = pack_bayer(unprocess_scene(grey, _meta("RGGB")), "RGGB")
        means = packed.mean(dim=(0, 2, 3)).tolist()
        expected = [0.25 * NEUTRAL[0], 0.25, 0.25, 0.25 * NEUTRAL[2]]
        assert means == pytest.approx(expected, rel=1e-5)

    def test_clip_and_exposure(self):
        lin = torch.rand(1, 3, 8, 8) * 5
        meta = _meta("RGGB")
        clipped = unprocess_scene(lin, meta)
        raw = unprocess_scene(lin, meta, clip=False)
        assert clipped.max() <= 1 and raw.max() > 1
        torch.testing.assert_close(unprocess_scene(lin, meta, exposure_scale=0.5, clip=False),
                                   0.5 * raw)

    def test_missing_neutral(self):
        meta = _meta("RGGB").replace(as_shot_neutral=None)
        with pytest.raises(MetadataError, match="illuminant_neutral"):
            unprocess_scene(torch.rand(1, 3, 4, 4), meta)
        out = unprocess_scene(torch.rand(1, 3, 4, 4), meta, illuminant_neutral=NEUTRAL)
        assert out.shape == (1, 1, 4, 4)
