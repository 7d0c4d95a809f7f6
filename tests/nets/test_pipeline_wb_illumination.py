"""The pipeline runs the WB estimator (white_balance.estimator = net) and the SCI illumination
stage (illumination.method = sci) through its stage interfaces, with bad-checkpoint handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nightvid.config import load_config
from nightvid.errors import CheckpointError
from nightvid.nets.illumination import IlluminationNet
from nightvid.nets.io import save_net
from nightvid.nets.wb import WBNet, WBSpec
from nightvid.pipeline import Pipeline
from nightvid.sources import open_raw


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on a busy 2-core CPU: one thread is much faster
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def street():
    return open_raw("samples/night_street.dng")


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    torch.manual_seed(5)
    wb = WBNet(WBSpec((8, 16), 1, 32))
    for p in wb.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return save_net(wb, d / "wb.safetensors"), save_net(IlluminationNet(), d / "ill.safetensors")


@pytest.fixture(scope="module")
def dark_rgb():
    """A dark sRGB frame: a lit left third (sRGB ~100), the rest in shadow (sRGB ~12)."""
    rng = np.random.default_rng(0)
    img = np.full((96, 144, 3), 12.0)
    img[:, :48] = 100.0
    img += rng.normal(0, 1.5, img.shape)
    return img.clip(0, 255).astype(np.uint8)


def _render(street, **over):
    cfg = load_config("default", {"output.width": 256, **over})
    return Pipeline(cfg, compile=False).render(*street)


def _render_rgb(img, **over):
    return Pipeline(load_config("default", over), compile=False).render_rgb(img)


class TestWBNet:
    def test_renders_with_net_estimate(self, street, ckpts):
        grey, info_g = _render(street, **{"white_balance.mode": "auto",
                                          "white_balance.estimator": "grayness"})
        net, info_n = _render(street, **{"white_balance.mode": "auto",
                                         "white_balance.estimator": "net",
                                         "white_balance.model": str(ckpts[0])})
        assert net.shape == grey.shape and torch.isfinite(net).all()
        assert info_n.wb_gains != info_g.wb_gains  # the net's estimate was used

    def test_fused_with_as_shot(self, street, ckpts):
        out, info = _render(street, **{"white_balance.estimator": "net",
                                       "white_balance.model": str(ckpts[0])})
        assert torch.isfinite(out).all() and info.wb_gains[1] == pytest.approx(1.0)

    def test_missing_checkpoint_names_file(self, street, tmp_path):
        with pytest.raises(CheckpointError, match=r"nowb\.safetensors.*net_fallback"):
            _render(street, **{"white_balance.estimator": "net",
                               "white_balance.model": str(tmp_path / "nowb.safetensors")})

    def test_fallback_warns_and_uses_grayness_index(self, street, tmp_path, caplog):
        with caplog.at_level("WARNING", logger="nightvid"):
            out, info = _render(street, **{
                "white_balance.mode": "auto", "white_balance.estimator": "net",
                "white_balance.model": str(tmp_path / "gone_wb.safetensors"),
                "runtime.net_fallback": True})
        assert "gone_wb.safetensors: no such checkpoint" in caplog.text
        assert "grayness-index" in caplog.text
        grey, info_g = _render(street, **{"white_balance.mode": "auto",
                                          "white_balance.estimator": "grayness"})
        assert torch.equal(out, grey) and info.wb_gains == info_g.wb_gains


class TestSCI:
    def test_lifts_the_shadows(self, dark_rgb, ckpts):
        glob, _ = _render_rgb(dark_rgb)
        sci, _ = _render_rgb(dark_rgb, **{"illumination.method": "sci",
                                          "illumination.model": str(ckpts[1])})
        assert sci.shape == glob.shape and torch.isfinite(sci).all()

        def shadow_share(x):  # the shadow's brightness relative to the lit part
            return float(x[..., 80:].mean() / x[..., :40].mean())

        assert shadow_share(sci) > 1.2 * shadow_share(glob)

    def test_strength_zero_is_global(self, dark_rgb, ckpts):
        glob, _ = _render_rgb(dark_rgb)
        sci0, _ = _render_rgb(dark_rgb, **{"illumination.method": "sci",
                                           "illumination.model": str(ckpts[1]),
                                           "illumination.strength": 0.0})
        assert torch.equal(sci0, glob)

    def test_fallback_warns_and_renders(self, dark_rgb, tmp_path, caplog):
        bad = tmp_path / "bad_ill.safetensors"
        bad.write_bytes(b"\x00" * 40)
        with caplog.at_level("WARNING", logger="nightvid"):
            out, _ = _render_rgb(dark_rgb, **{"illumination.method": "sci",
                                              "illumination.model": str(bad),
                                              "runtime.net_fallback": True})
        assert "bad_ill.safetensors" in caplog.text and "global gain only" in caplog.text
        assert torch.equal(out, _render_rgb(dark_rgb)[0])
        with pytest.raises(CheckpointError, match="bad_ill.safetensors"):
            _render_rgb(dark_rgb, **{"illumination.method": "sci",
                                     "illumination.model": str(bad)})
