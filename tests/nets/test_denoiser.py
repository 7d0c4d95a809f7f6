"""RawDenoiser: shapes, noise conditioning, budget, determinism, transform round trip."""

from __future__ import annotations

import pytest
import torch

from nightvid.errors import ShapeError
from nightvid.nets import (
    STUDENT,
    TEACHER,
    DenoiserSpec,
    RawDenoiser,
    count_params,
    flops_per_mpix,
    gat,
    inverse_gat,
)


class TestRawDenoiser:
    @pytest.mark.parametrize("b,h,w", [(1, 16, 16), (2, 36, 20), (1, 7, 9)])
    def test_shapes(self, b, h, w):
        out = RawDenoiser()(torch.rand(b, 4, h, w) * 0.01, 1e-4, 1e-7)
        assert out.shape == (b, 4, h, w) and torch.isfinite(out).all()

    def test_starts_as_identity(self):
        x = torch.rand(2, 4, 32, 32) * 0.01
        out = RawDenoiser()(x, torch.tensor([1e-4, 2e-4]), torch.tensor([1e-7, 1e-6]))
        assert torch.allclose(out, x, atol=1e-6)

    def test_batch_consistency(self):
        net = RawDenoiser().eval()
        for p in net.tail.parameters():
            torch.nn.init.normal_(p, std=0.01)
        x = torch.rand(2, 4, 32, 32) * 0.01
        shot, read = torch.tensor([1e-4, 3e-4]), torch.tensor([1e-7, 4e-7])
        full = net(x, shot, read)
        one = net(x[1:], shot[1:], read[1:])
        assert torch.allclose(full[1:], one, atol=1e-6)

    def test_same_seed_same_weights(self):
        torch.manual_seed(3)
        a = RawDenoiser().state_dict()
        torch.manual_seed(3)
        b = RawDenoiser().state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)

    def test_student_budget(self):
        assert count_params(RawDenoiser(STUDENT)) <= 150_000
        assert count_params(RawDenoiser(TEACHER)) > 4 * count_params(RawDenoiser(STUDENT))

    def test_flops(self):
        f = flops_per_mpix(RawDenoiser(STUDENT))
        assert 1e9 < f < 10e9  # a few GFLOP per packed megapixel

    def test_bad_shape(self):
        with pytest.raises(ShapeError, match="packed"):
            RawDenoiser()(torch.rand(1, 3, 8, 8), 1e-4, 1e-7)

    def test_spec_round_trip(self):
        spec = DenoiserSpec((8, 16), (1, 1), False, mean_block=8)
        assert DenoiserSpec.from_dict(spec.to_dict()) == spec

    def test_level_block_input(self):
        """With level_block the planes the net sees lose their local level (a flat frame
        gives zeros at any brightness) and the level arrives as one coarse channel."""
        net = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True, level_block=4))
        assert net.head.in_channels == 18
        cond = torch.zeros(1, 1, 8, 8)
        for level in (0.5, 20.0):
            x = net._input(torch.full((1, 4, 16, 16), level), cond)
            assert x.shape == (1, 18, 8, 8)
            assert torch.allclose(x[:, :16], torch.zeros(1), atol=1e-5)
            assert torch.allclose(x[:, 17], torch.tensor(level / 8.0))
        y = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True, level_block=4))(
            torch.rand(2, 4, 20, 12) * 0.01, 1e-4, 1e-7)
        assert y.shape == (2, 4, 20, 12) and torch.isfinite(y).all()
        assert DenoiserSpec.from_dict(DenoiserSpec(level_block=4).to_dict()).level_block == 4

    def test_spec_without_mean_block_keeps_the_mean(self):
        old = {"widths": [8, 16], "blocks": [1, 1], "separable": True}  # checkpoints before it
        assert DenoiserSpec.from_dict(old).mean_block == 32
        assert DenoiserSpec.from_dict(old).level_block == 0

    def test_output_keeps_local_mean(self):
        """A net that darkens everything by 10 % still returns the input's 32x32 block means."""
        net = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True, mean_block=32)).eval()
        torch.nn.init.constant_(net.tail.bias, -0.05)  # a biased (darkening) correction
        g = torch.Generator().manual_seed(1)
        x = 0.01 + 0.005 * torch.rand(1, 4, 96, 64, generator=g)
        raw = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True, mean_block=0)).eval()
        raw.load_state_dict(net.state_dict())
        with torch.no_grad():
            kept, biased = net(x, 1e-4, 1e-7), raw(x, 1e-4, 1e-7)
        assert float(biased.mean()) < 0.97 * float(x.mean())
        blocks = torch.nn.functional.avg_pool2d
        assert torch.allclose(blocks(kept, 32), blocks(x, 32), rtol=0.01)
        # Only the low frequencies move: the fine structure is the network's own.
        def high(t):
            return t - blocks(t, 3, 1, 1, count_include_pad=False)
        assert torch.allclose(high(kept), high(biased), atol=1e-6)

class TestGat:
    def test_round_trip(self):
        s, r = torch.full((1, 1, 1, 1), 2e-4), torch.full((1, 1, 1, 1), 3e-7)
        x = torch.rand(1, 4, 8, 8) * 0.05
        assert torch.allclose(inverse_gat(gat(x, s, r), s, r), x, atol=1e-6)

    def test_stabilises_variance(self):
        g = torch.Generator().manual_seed(0)
        shot, read = 1e-3, 1e-6
        s, r = torch.full((1, 1, 1, 1), shot), torch.full((1, 1, 1, 1), read)
        for level in (0.005, 0.05, 0.3):
            clean = torch.full((1, 1, 200, 200), level)
            noisy = torch.poisson(clean / shot, generator=g) * shot
            noisy = noisy + read**0.5 * torch.randn(clean.shape, generator=g)
            assert abs(float(gat(noisy, s, r).std()) - 1.0) < 0.08
