"""Tiled inference: tiles on the network's grid, blended over the overlap, equal the
whole-frame result; tile offsets cover the frame."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from nightvid.nets import DenoiserSpec, RawDenoiser
from nightvid.nets.denoiser import keep_local_mean
from nightvid.nets.infer import run_tiled, tile_starts


@given(size=st.integers(1, 2000), tile=st.integers(96, 700), overlap=st.integers(0, 24),
       align=st.sampled_from([1, 2, 8]))
@settings(max_examples=200, deadline=None)
def test_tiles_cover_and_overlap(size, tile, overlap, align):
    starts = tile_starts(size, tile, overlap, align)
    assert starts[0] == 0 and all(s % align == 0 for s in starts)
    assert starts[-1] + tile >= size and starts[-1] < size
    ends = [min(s + tile, size) for s in starts]
    for (s1, e0) in zip(starts[1:], ends[:-1], strict=True):
        assert e0 - s1 >= 2 * overlap  # room for both ramps and their context margins


def test_local_filter_is_exact():
    x = torch.rand(1, 3, 301, 263)

    def box(t):
        return F.avg_pool2d(F.pad(t, (3, 3, 3, 3), mode="replicate"), 7, stride=1)

    assert torch.allclose(run_tiled(box, [x], tile=96, overlap=16), box(x), atol=1e-6)


def test_denoiser_tiles_match_whole_frame():
    torch.manual_seed(0)
    net = RawDenoiser(DenoiserSpec((8, 16, 16), (1, 1, 1), True)).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    x = torch.rand(1, 4, 250, 203) * 0.01
    shot = torch.full((1, 1, 250, 203), 1e-4)
    shot[..., 100:] = 3e-5  # a per-pixel noise map is tiled with the frame
    read = torch.full((1, 1, 1, 1), 1e-7)
    def raw(*a):
        return net(*a, keep_mean=False)

    with torch.no_grad():
        whole = net(x, shot, read)
        tiled = keep_local_mean(run_tiled(raw, [x, shot, read], tile=96, overlap=24,
                                          align=net.multiple), x, net.spec.mean_block)
        misaligned = keep_local_mean(run_tiled(raw, [x, shot, read], tile=96, overlap=21,
                                               align=1), x, net.spec.mean_block)  # step 54
        # The mean step itself, run per tile, would not match: the pipeline runs it once.
        per_tile = run_tiled(net, [x, shot, read], tile=96, overlap=24, align=net.multiple)
    change = (whole - x).abs().mean()
    assert (tiled - whole).abs().max() < 1e-3 * (whole - x).abs().max()
    assert (per_tile - whole).abs().max() > 1e-2 * (whole - x).abs().max()
    # Off the network's 8-pixel grid the output differs: the alignment is what makes it exact.
    assert (misaligned - whole).abs().mean() > 1e-3 * change


def test_tile_too_small():
    with pytest.raises(ValueError, match="too small"):
        tile_starts(500, 40, 20, 8)
