"""White-balance estimator: shapes, brightness invariance, pooling maths, FLOPs, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from nightvid.errors import CheckpointError, ShapeError
from nightvid.nets import read_metadata
from nightvid.nets.io import load_net, save_net
from nightvid.nets.wb import (
    WBNet,
    WBSpec,
    angular_error_deg,
    count_params,
    estimate_neutral,
    flops_per_mpix,
    fuse_neutrals,
)


def _random_net(spec: WBSpec | None = None, seed: int = 0) -> WBNet:
    torch.manual_seed(seed)
    net = WBNet(spec or WBSpec())
    for p in net.parameters():  # the head starts at zero: give it something to say
        torch.nn.init.normal_(p, std=0.2)
    return net.eval()


class TestShapes:
    @pytest.mark.parametrize("b,h,w", [(1, 64, 64), (2, 36, 64), (3, 17, 23)])
    def test_unit_norm_neutral(self, b, h, w):
        n = _random_net()(torch.rand(b, 3, h, w))
        assert n.shape == (b, 3)
        assert torch.allclose(n.norm(dim=1), torch.ones(b), atol=1e-6)
        assert (n > 0).all()

    def test_votes_sum_to_one(self):
        votes, w = _random_net().votes(torch.rand(2, 3, 64, 64))
        assert votes.shape == (2, 3, 8, 8) and w.shape == (2, 1, 8, 8)
        assert torch.allclose(w.sum(dim=(1, 2, 3)), torch.ones(2))

    def test_batch_items_independent(self):
        net, x = _random_net(), torch.rand(3, 3, 40, 64)
        with torch.no_grad():
            assert torch.allclose(net(x)[1:2], net(x[1:2]), atol=1e-6)

    def test_wrong_shape_names_argument(self):
        with pytest.raises(ShapeError, match="cam_rgb"):
            WBNet()(torch.rand(1, 4, 8, 8))

    def test_nan_free_on_black_and_negative_input(self):
        x = torch.zeros(1, 3, 32, 32)
        x[..., :4, :4] = -0.01  # noise below black
        assert torch.isfinite(_random_net()(x)).all()


class TestInvariance:
    @pytest.mark.parametrize("k", [1e-3, 0.07, 30.0])
    def test_brightness_invariant(self, k):
        net, x = _random_net(), torch.rand(2, 3, 64, 64) * 0.1
        with torch.no_grad():
            assert torch.allclose(net(k * x), net(x), atol=1e-5)

    def test_untrained_is_grey_world_of_a_uniform_scene(self):
        # Zero head: every patch votes for its own mean colour with equal weight.
        cast = torch.tensor([0.5, 1.0, 0.8])
        with torch.no_grad():
            n = WBNet()(cast.reshape(1, 3, 1, 1).expand(1, 3, 64, 64))
        assert float(angular_error_deg(n, cast[None])) < 0.1


class TestMaths:
    def test_angular_error_golden(self):
        a = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
        b = torch.tensor([[0.0, 1.0, 0.0], [2.0, 2.0, 2.0]])
        assert torch.allclose(angular_error_deg(a, b), torch.tensor([90.0, 0.0]), atol=0.05)

    def test_fuse_neutrals_limits_and_g_one(self):
        a, b = torch.tensor([[0.5, 1.0, 0.7]]), torch.tensor([[0.8, 1.0, 0.4]])
        assert torch.allclose(fuse_neutrals(a, b, 1.0), a)
        assert torch.allclose(fuse_neutrals(a, b, 0.0), b)
        mid = fuse_neutrals(2 * a, b, torch.tensor([0.5]))
        assert torch.allclose(mid, (a * b).sqrt())  # scale-free: G = 1 after fusing

    def test_estimate_neutral(self):
        from nightvid.isp.exposure import thumbnail

        net, cam = _random_net(), torch.rand(2, 3, 200, 300) * 0.02
        with torch.no_grad():
            n, conf = estimate_neutral(net, cam)
            direct = net(thumbnail(cam, 64))  # the thumbnail is what the net sees
        assert torch.allclose(n[:, 1], torch.ones(2))
        assert ((conf > 0) & (conf <= 1)).all()
        assert float(angular_error_deg(n, direct).max()) < 0.05  # 0.03: the acos clamp's floor


class TestBudget:
    def test_params_and_flops(self):
        net = WBNet()
        assert 3_000 <= count_params(net) <= 50_000
        # 64x64 thumbnail: stride-2 convs to 32, 16, 8 px, one 3x3 and the 1x1 head at 8 px.
        macs = 27 * 16 * 32**2 + 144 * 32 * 16**2 + 288 * 32 * 8**2 * 2 + 32 * 4 * 8**2
        assert flops_per_mpix(net) == pytest.approx(2 * macs / (64 * 64 / 1e6))


class TestCheckpoint:
    @pytest.fixture
    def ckpt(self, tmp_path):
        net = _random_net(WBSpec((8, 16), 0, 32))
        return net, save_net(net, tmp_path / "wb.safetensors", recipe={"seed": 3})

    def test_round_trip(self, ckpt):
        net, path = ckpt
        back = load_net(path, "wb_estimator")
        assert back.spec == WBSpec((8, 16), 0, 32)
        x = torch.rand(2, 3, 32, 32)
        with torch.no_grad():
            assert torch.equal(net(x), back(x))
        assert json.loads(read_metadata(path)["recipe"]) == {"seed": 3}

    def test_truncated_names_file(self, ckpt, tmp_path):
        _, path = ckpt
        bad = tmp_path / "cut_wb.safetensors"
        bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        with pytest.raises(CheckpointError, match="cut_wb.safetensors"):
            load_net(bad, "wb_estimator")

    def test_wrong_kind_and_shapes(self, ckpt, tmp_path):
        _, path = ckpt
        with pytest.raises(CheckpointError, match="wb.safetensors.*illumination"):
            load_net(path, "illumination")
        md = read_metadata(path)
        md["spec"] = json.dumps(WBSpec((8, 24), 0, 32).to_dict())
        bad = tmp_path / "shape_wb.safetensors"
        save_file(load_file(str(path)), str(bad), metadata=md)
        with pytest.raises(CheckpointError, match=r"shape_wb\.safetensors: tensor .*shape"):
            load_net(bad, "wb_estimator")

    def test_missing(self, tmp_path):
        with pytest.raises(CheckpointError, match="nowb.safetensors"):
            load_net(tmp_path / "nowb.safetensors", "wb_estimator")
