"""Checkpoints: save/load round trip, and one-line errors naming the file for bad files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from nightvid.errors import CheckpointError, SourceError
from nightvid.nets import DenoiserSpec, RawDenoiser, load_denoiser, read_metadata, save_denoiser

SMALL = DenoiserSpec((8, 16), (1, 1), True)


@pytest.fixture
def ckpt(tmp_path):
    net = RawDenoiser(SMALL)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return net, save_denoiser(net, tmp_path / "m" / "d.safetensors", recipe={"seed": 1})


class TestCheckpoint:
    def test_round_trip(self, ckpt):
        net, path = ckpt
        back = load_denoiser(path)
        assert back.spec == SMALL
        x = torch.rand(1, 4, 16, 16) * 0.01
        with torch.no_grad():
            assert torch.equal(net.eval()(x, 1e-4, 1e-7), back(x, 1e-4, 1e-7))
        assert json.loads(read_metadata(path)["recipe"]) == {"seed": 1}
        assert path.read_bytes()[:8] != b"\x80\x02"  # not a pickle

    def test_missing(self, tmp_path):
        with pytest.raises(CheckpointError, match="nope.safetensors"):
            load_denoiser(tmp_path / "nope.safetensors")

    def test_truncated(self, ckpt, tmp_path):
        _, path = ckpt
        bad = tmp_path / "cut.safetensors"
        bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        with pytest.raises(CheckpointError, match="cut.safetensors") as e:
            load_denoiser(bad)
        assert "\n" not in str(e.value)
        assert isinstance(e.value, SourceError) and isinstance(e.value, OSError)

    def test_garbage(self, tmp_path):
        bad = tmp_path / "junk.safetensors"
        bad.write_bytes(b"\x00\x01not a checkpoint")
        with pytest.raises(CheckpointError, match="junk.safetensors"):
            load_denoiser(bad)

    def test_wrong_shape(self, ckpt, tmp_path):
        _, path = ckpt
        md = read_metadata(path)
        md["spec"] = json.dumps(DenoiserSpec((12, 16), (1, 1), True).to_dict())
        tensors = load_file(str(path))
        bad = tmp_path / "shape.safetensors"
        save_file(tensors, str(bad), metadata=md)
        with pytest.raises(CheckpointError, match="shape.safetensors.*expected shape"):
            load_denoiser(bad)

    def test_not_a_denoiser(self, tmp_path):
        bad = tmp_path / "other.safetensors"
        save_file({"w": torch.zeros(2)}, str(bad), metadata={"format": "x"})
        with pytest.raises(CheckpointError, match="other.safetensors"):
            load_denoiser(bad)
