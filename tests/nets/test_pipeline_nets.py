"""The pipeline runs the raw denoiser network through its stage interface: photos and streams
(per-pixel noise after the temporal filter), bad checkpoints, classical fallback."""

from __future__ import annotations

import pytest
import torch

from nightvid.config import load_config
from nightvid.errors import CheckpointError
from nightvid.nets import DenoiserSpec, RawDenoiser, save_net
from nightvid.pipeline import Pipeline
from nightvid.sources import open_raw
from nightvid.state import StreamState


@pytest.fixture(scope="module")
def street():
    return open_raw("samples/night_street.dng")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(3)
    net = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return save_net(net, tmp_path_factory.mktemp("m") / "d.safetensors")


def _render(street, state=None, **over):
    cfg = load_config("default", {"output.width": 384, **over})
    return Pipeline(cfg, compile=False).render(*street, state)[0]


def test_net_denoiser_renders_photo_and_stream(street, ckpt):
    classical = _render(street, **{"denoise.method": "classical"})
    net = _render(street, **{"denoise.method": "net", "denoise.model": str(ckpt)})
    assert net.shape == classical.shape and torch.isfinite(net).all()
    assert (net - classical).abs().mean() > 1e-3  # a different denoiser ran
    cfg = load_config("default", {"output.width": 384, "denoise.method": "net",
                                  "denoise.model": str(ckpt)})
    pipe, state = Pipeline(cfg, compile=False), StreamState(cfg.stream)
    for _ in range(3):
        frame, info = pipe.render(*street, state)
    assert info.temporal_frames > 1.5 and torch.isfinite(frame).all()


def test_missing_checkpoint_names_file(street, tmp_path):
    path = tmp_path / "gone.safetensors"
    with pytest.raises(CheckpointError, match=r"gone\.safetensors: no such checkpoint.*"
                                              r"net_fallback"):
        _render(street, **{"denoise.method": "net", "denoise.model": str(path)})


def test_fallback_warns_and_runs_classical(street, tmp_path, caplog):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with caplog.at_level("WARNING", logger="nightvid"):
        out = _render(street, **{"denoise.method": "net", "denoise.model": str(bad),
                                 "runtime.net_fallback": True})
    assert "bad.safetensors: not a readable safetensors checkpoint" in caplog.text
    assert "running the classical denoiser instead" in caplog.text
    assert torch.equal(out, _render(street, **{"denoise.method": "classical"}))


def test_bf16_matches_float32(street):
    shipped = {"denoise.method": "net", "refine.enabled": True}
    f32 = _render(street, **shipped, **{"runtime.cpu_bf16": "off"})
    bf16 = _render(street, **shipped, **{"runtime.cpu_bf16": "on"})
    assert 0 < float((bf16 - f32).abs().mean()) < 2e-3  # it ran in bf16, and barely differs
