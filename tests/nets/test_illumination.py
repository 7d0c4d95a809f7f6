"""SCI illumination block: shapes, the envelope and clamp, the local gain, budget, checkpoints."""

from __future__ import annotations

import pytest
import torch

from nightvid.errors import CheckpointError, ShapeError
from nightvid.nets.illumination import (
    IlluminationNet,
    IlluminationSpec,
    count_params,
    flops_per_mpix,
    illumination_gain,
)
from nightvid.nets.io import load_net, save_net


def _net(seed: int = 0) -> IlluminationNet:
    torch.manual_seed(seed)
    net = IlluminationNet()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return net.eval()


def _two_level(h: int = 64, w: int = 96) -> torch.Tensor:
    """Linear RGB: a bright left third (0.2), the rest dark (0.005)."""
    x = torch.full((1, 3, h, w), 0.005)
    x[..., : w // 3] = 0.2
    return x


class TestBlock:
    @pytest.mark.parametrize("b,h,w", [(1, 8, 8), (2, 33, 47)])
    def test_shape_envelope_and_range(self, b, h, w):
        x = torch.rand(b, 3, h, w) * 0.3
        with torch.no_grad():
            i = _net()(x)
        assert i.shape == x.shape
        assert (i >= x).all() and (i <= 1).all() and (i >= 1e-4).all()

    def test_batch_items_independent(self):
        net, x = _net(), torch.rand(3, 3, 20, 30)
        with torch.no_grad():
            assert torch.allclose(net(x)[2:], net(x[2:]), atol=1e-6)

    def test_wrong_shape_names_argument(self):
        with pytest.raises(ShapeError, match="x:"):
            IlluminationNet()(torch.rand(1, 4, 8, 8))

    def test_budget(self):
        net = IlluminationNet()
        assert count_params(net) == 3 * (3 * 3 * 9 + 3)  # three 3x3 convolutions of 3 channels
        assert flops_per_mpix(net) == pytest.approx(3 * 2 * 27 * 3 * 1e6)
        assert count_params(IlluminationNet(IlluminationSpec(3, 4))) == count_params(net)  # shared


class TestGain:
    def test_shape_median_and_shadows(self):
        with torch.no_grad():
            g = illumination_gain(IlluminationNet(), _two_level())
        assert g.shape == (1, 1, 64, 96) and (g > 0).all()
        # i = x + sigmoid(~0): the dark half has the lower illumination, so the larger gain.
        assert g[..., 50:].mean() > 2 * g[..., :24].mean()
        assert torch.allclose(g[..., 50:], torch.ones(()), atol=1e-3)  # median: the dark part

    def test_strength_zero_is_identity(self):
        with torch.no_grad():
            g = illumination_gain(_net(), torch.rand(2, 3, 30, 50) * 0.05, strength=0.0)
        assert torch.equal(g, torch.ones_like(g))

    def test_clamped(self):
        x = _two_level()
        x[..., 48:] = 0.0  # a black region: its gain would be huge
        with torch.no_grad():
            g = illumination_gain(IlluminationNet(), x, max_gain=2.0)
        assert g.max() <= 2.0 + 1e-5 and g.min() >= 0.5 - 1e-5

    def test_thumbnail_size_is_what_runs(self):
        # The net sees a long-side-32 thumbnail; a flat frame gives a flat gain of 1.
        with torch.no_grad():
            g = illumination_gain(_net(), torch.full((1, 3, 90, 160), 0.01), long_side=32)
        assert torch.allclose(g, torch.ones_like(g), atol=1e-4)


class TestCheckpoint:
    def test_round_trip_and_bad_files(self, tmp_path):
        net = _net()
        path = save_net(net, tmp_path / "ill.safetensors")
        back = load_net(path, "illumination")
        x = torch.rand(1, 3, 16, 16) * 0.2
        with torch.no_grad():
            assert torch.equal(net(x), back(x))
        cut = tmp_path / "cut_ill.safetensors"
        cut.write_bytes(path.read_bytes()[:100])
        with pytest.raises(CheckpointError, match="cut_ill.safetensors"):
            load_net(cut, "illumination")
        with pytest.raises(CheckpointError, match="ill.safetensors.*wb_estimator"):
            load_net(path, "wb_estimator")
