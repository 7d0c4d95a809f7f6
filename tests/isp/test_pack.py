import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nightvid.errors import ShapeError
from nightvid.isp.pack import mosaic_to_tensor, pack_bayer, unpack_bayer
from nightvid.types import BAYER_PATTERNS


class TestPack:
    @pytest.mark.parametrize("cfa", BAYER_PATTERNS)
    @pytest.mark.parametrize("b,h,w", [(1, 2, 2), (2, 4, 6), (3, 8, 4)])
    def test_round_trip(self, cfa, b, h, w):
        x = torch.rand(b, 1, h, w)
        packed = pack_bayer(x, cfa)
        assert packed.shape == (b, 4, h // 2, w // 2)
        assert torch.equal(unpack_bayer(packed, cfa), x)

    @given(st.sampled_from(BAYER_PATTERNS), st.integers(1, 6), st.integers(1, 6))
    @settings(max_examples=40, deadline=None)
    def test_round_trip_property(self, cfa, h2, w2):
        x = torch.randn(1, 1, 2 * h2, 2 * w2)
        assert torch.equal(unpack_bayer(pack_bayer(x, cfa), cfa), x)

    def test_golden_planes(self):
        # 4x4 ramp: RGGB planes start at (0,0), (0,1), (1,0), (1,1).
        x = torch.arange(16.0).reshape(1, 1, 4, 4)
        p = pack_bayer(x, "RGGB")[0]
        assert p[:, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]
        assert p[0].tolist() == [[0.0, 2.0], [8.0, 10.0]]
        # GRBG: R at (0,1), Gr at (0,0), Gb at (1,1), B at (1,0).
        assert pack_bayer(x, "GRBG")[0, :, 0, 0].tolist() == [1.0, 0.0, 5.0, 4.0]

    def test_shifted_mosaic_same_planes(self):
        # Dropping the first column of an RGGB mosaic leaves a GRBG mosaic: packing it with the
        # matching CFA must give the same colour planes, R and B shifted by one sample.
        x = torch.rand(1, 1, 8, 10)
        a = pack_bayer(x, "RGGB")
        b = pack_bayer(x[..., 1:-1], "GRBG")  # (1,1,8,8)
        assert torch.equal(b[:, 0], a[:, 0, :, 1:])  # R: x col 2j+2
        assert torch.equal(b[:, 1], a[:, 1, :, :4])  # Gr: x col 2j+1
        assert torch.equal(b[:, 2], a[:, 2, :, 1:])  # Gb: x col 2j+2
        assert torch.equal(b[:, 3], a[:, 3, :, :4])  # B: x col 2j+1

    def test_odd_size_rejected(self):
        with pytest.raises(ShapeError, match="mosaic"):
            pack_bayer(torch.zeros(1, 1, 5, 4))

    def test_wrong_rank_rejected(self):
        with pytest.raises(ShapeError, match="packed"):
            unpack_bayer(torch.zeros(1, 3, 4, 4))

    def test_uint16_upload_keeps_full_range(self):
        m = np.array([[0, 1], [32768, 65535]], dtype=np.uint16)
        t = mosaic_to_tensor(m)
        assert t.shape == (1, 1, 2, 2)
        assert t.flatten().tolist() == [0.0, 1.0, 32768.0, 65535.0]
