import numpy as np
import pytest
import torch

from nightvid.isp import ccm
from nightvid.isp.black_level import normalize_levels
from nightvid.isp.white_balance import (
    apply_wb,
    fuse_gains,
    gains_from_neutral,
    gray_world,
    grayness_index,
)


class TestLevels:
    def test_golden(self):
        x = torch.tensor([600.0, 15520.0, 8060.0, 500.0]).reshape(1, 4, 1, 1)
        out = normalize_levels(x, torch.tensor([600.0] * 4), 15520.0).flatten()
        assert out.tolist() == pytest.approx([0.0, 1.0, 0.5, -100 / 14920])

    def test_per_plane_black(self):
        x = torch.full((2, 4, 3, 3), 200.0)
        out = normalize_levels(x, torch.tensor([100.0, 150.0, 150.0, 200.0]), 1100.0)
        assert out[:, :, 0, 0].tolist()[0] == pytest.approx([0.1, 50 / 950, 50 / 950, 0.0])


class TestWhiteBalance:
    def test_unit_gains_are_noop(self):
        x = torch.rand(2, 4, 5, 5)
        assert torch.equal(apply_wb(x, torch.ones(3)), x)

    def test_batch_gains(self):
        x = torch.ones(2, 4, 1, 1)
        out = apply_wb(x, torch.tensor([[2.0, 1.0, 3.0], [1.0, 1.0, 1.0]]))
        assert out[0].flatten().tolist() == [2.0, 1.0, 1.0, 3.0]
        assert out[1].flatten().tolist() == [1.0, 1.0, 1.0, 1.0]

    def test_gains_from_neutral(self):
        g = gains_from_neutral(torch.tensor([0.5, 1.0, 0.8]))
        assert g.tolist() == pytest.approx([2.0, 1.0, 1.25])

    def test_fuse_agreeing_estimates_is_identity(self):
        g = torch.tensor([[2.0, 1.0, 1.5]])
        assert torch.allclose(fuse_gains(g, g), g)

    def test_fuse_distrusts_far_estimate(self):
        shot = torch.tensor([[2.0, 1.0, 1.5]])
        near = fuse_gains(shot, shot * torch.tensor([1.2, 1.0, 1.0]))
        far = fuse_gains(shot, shot * torch.tensor([4.0, 1.0, 1.0]))
        assert near[0, 0] > shot[0, 0]
        assert far[0, 0] - shot[0, 0] < near[0, 0] - shot[0, 0]  # the outlier moves it less

    def _textured_scene(self, illuminant):
        g = torch.Generator().manual_seed(1)
        refl = torch.rand(1, 3, 64, 64, generator=g) * 0.6 + 0.2
        grey = torch.rand(1, 1, 64, 64, generator=g) * 0.8 + 0.1
        refl[..., 16:48, 16:48] = grey[..., 16:48, 16:48].expand(1, 3, 32, 32)  # a grey object
        return refl * torch.tensor(illuminant).reshape(1, 3, 1, 1)

    def test_grayness_index_finds_illuminant(self):
        ill = [0.55, 1.0, 0.35]  # warm street light
        est = grayness_index(self._textured_scene(ill), top_percent=2.0)
        assert est[0].tolist() == pytest.approx(ill, rel=0.05)

    def test_gray_world_on_grey_scene(self):
        tint = torch.tensor([0.5, 1.0, 0.7]).reshape(1, 3, 1, 1)
        x = torch.rand(1, 1, 32, 32).expand(1, 3, 32, 32) * tint
        assert gray_world(x)[0].tolist() == pytest.approx([0.5, 1.0, 0.7], rel=1e-4)


class TestColorMatrix:
    def test_d65_white_through_xyz_to_srgb_is_neutral(self):
        d65_xyz = np.array([0.95047, 1.0, 1.08883])
        rgb = ccm.SRGB_FROM_XYZ @ d65_xyz
        assert rgb == pytest.approx([1.0, 1.0, 1.0], abs=2e-3)

    def test_identity_camera(self):
        m = ccm.srgb_from_camera(ccm.SRGB_FROM_XYZ)
        assert np.allclose(m, np.eye(3), atol=1e-9)

    def test_rows_keep_white(self):
        xyz_to_cam = np.array([[0.902, -0.289, -0.0715], [-0.4535, 1.2436, 0.2348],
                               [-0.0934, 0.1919, 0.7086]])
        m = ccm.srgb_from_camera(xyz_to_cam)
        assert m.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])

    @pytest.mark.parametrize("xy,cct", [((0.31271, 0.32902), 6504), ((0.44757, 0.40745), 2856),
                                        ((0.34567, 0.35850), 5003)])
    def test_cct_golden(self, xy, cct):
        assert ccm.xy_to_cct(*xy) == pytest.approx(cct, rel=0.01)

    def test_interpolation_endpoints(self):
        a, b = np.eye(3), 2 * np.eye(3)
        assert np.allclose(ccm.interpolate_matrix(a, 2856, b, 6504, 2856), a)
        assert np.allclose(ccm.interpolate_matrix(a, 2856, b, 6504, 6504), b)
        assert np.allclose(ccm.interpolate_matrix(a, 2856, b, 6504, 20000), b)  # clamped
        mid = ccm.interpolate_matrix(a, 2856, b, 6504, 4000)
        assert 1.0 < mid[0, 0] < 2.0

    def test_matrix_for_neutral_recovers_illuminant(self):
        cm1 = np.array([[0.6, 0.2, -0.1], [-0.3, 1.1, 0.2], [0.0, 0.1, 0.4]])
        cm2 = np.array([[0.8, -0.2, -0.05], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.7]])
        # Camera neutral of D65 under cm2 alone: the interpolation must land at ~6504 K.
        neutral = cm2 @ np.array([0.95047, 1.0, 1.08883])
        m, cct = ccm.matrix_for_neutral(cm1, 2856.0, cm2, 6504.0, neutral / neutral[1])
        assert cct == pytest.approx(6504, rel=0.02)
        assert np.allclose(m, cm2, atol=0.02)

    def test_apply_ccm_matches_matmul(self):
        x = torch.rand(2, 3, 4, 5)
        m = torch.randn(3, 3)
        ref = torch.einsum("ij,bjhw->bihw", m, x)
        assert torch.allclose(ccm.apply_ccm(x, m), ref, atol=1e-6)
        assert torch.allclose(ccm.apply_ccm(x, m.expand(2, 3, 3)), ref, atol=1e-6)
