"""SCI training: recipe, losses, darkening, seeded crops, a smoke training, the shipped model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from _helpers.data import require
from nightvid.errors import ConfigError
from nightvid.nets.illumination import IlluminationNet, IlluminationSpec, count_params
from nightvid.nets.store import model_path
from nightvid.train.illumination import IllumRecipe, load_illum_recipe, smoothness, train
from nightvid.train.illumination_data import DarkImage, IllumDataConfig, IllumSynth, darken
from nightvid.train.recipe import recipe_path

CFG = IllumDataConfig(crop=24)
SMOKE = IllumRecipe(name="smoke", calib_channels=4, calib_layers=1, steps=40, batch=4, lr=1e-2,
                    lr_min=1e-3, log_every=1000, synth=CFG)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on a busy 2-core CPU: one thread is much faster
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def synth():
    g = torch.Generator().manual_seed(0)
    bank = [DarkImage("real/0", torch.rand(3, 40, 56, generator=g) * 0.15, True),
            DarkImage("clean/0", torch.rand(3, 48, 48, generator=g), False),
            DarkImage("clean/1", torch.linspace(0, 1, 48).expand(3, 32, 48).clone(), False)]
    return IllumSynth(CFG, "train", seed=0, bank=bank)


class TestRecipe:
    def test_shipped_recipe_loads(self):
        r = load_illum_recipe(recipe_path("illumination"))
        assert r.name == "illumination" and r.steps > 0 and r.threads == 1
        assert count_params(IlluminationNet(IlluminationSpec(r.channels, r.layers))) == 252

    def test_wrong_type_names_key(self, tmp_path):
        p = tmp_path / "i.toml"
        p.write_text('stages = "three"\n')
        with pytest.raises(ConfigError, match=r"stages.*i\.toml"):
            load_illum_recipe(p)


class TestLosses:
    def test_smoothness_zero_on_flat_and_edge_aware(self):
        guide = torch.full((1, 3, 16, 16), 0.1)
        flat = torch.full((1, 3, 16, 16), 0.3)
        assert float(smoothness(guide, flat, 0.1)) == 0.0
        step = flat.clone()
        step[..., 8:] = 0.6
        edge = guide.clone()
        edge[..., 8:] = 0.6  # the guide has the same edge: the illumination may keep it
        assert float(smoothness(edge, step, 0.1)) < 0.1 * float(smoothness(guide, step, 0.1))

    def test_darken(self):
        x = torch.rand(3, 20, 20)
        d = darken(x, np.random.default_rng(1), CFG)
        assert d.shape == x.shape and 0 <= float(d.min()) and float(d.max()) <= 1
        assert float(d.mean()) < 0.8 * float(x.mean())
        assert torch.allclose(d * 255, (d * 255).round(), atol=1e-4)  # 8-bit levels


class TestCrops:
    def test_seeded_and_sized(self, synth):
        a, b = synth[5], synth[5]
        assert torch.equal(a, b) and a.shape == (3, 24, 24)
        assert not torch.equal(synth[5], synth[6])


class TestSmokeTraining:
    def test_loss_decreases_and_seeded(self, synth):
        res = train(SMOKE, synth=synth, log=lambda s: None)
        assert np.mean(res.losses[-5:]) < 0.8 * np.mean(res.losses[:5])
        short = dataclasses.replace(SMOKE, steps=3)
        a = train(short, synth=synth, log=lambda s: None)
        b = train(short, synth=synth, log=lambda s: None)
        assert a.losses == b.losses
        x = torch.rand(1, 3, 16, 16) * 0.2
        with torch.no_grad():
            assert torch.equal(a.net(x), b.net(x))


def test_shipped_checkpoint_lifts_real_shadows():
    import cv2

    from nightvid.isp.tone import srgb_eotf
    from nightvid.nets.illumination import illumination_gain
    from nightvid.nets.io import load_net

    img_path = require("lowlight_srgb/lime_zerodce/1.bmp")
    path = model_path("illumination")
    if not path.is_file():
        pytest.skip(f"{path}: not shipped in this checkout")
    net = load_net(path, "illumination")
    img = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
    lin = srgb_eotf(x)
    with torch.no_grad():
        g = illumination_gain(net, lin, 1.0)
    y = lin.mean(dim=1, keepdim=True)
    dark, bright = y <= y.quantile(0.2), y >= y.quantile(0.8)
    assert float(g[dark].mean()) > 1.3 * float(g[bright].mean())
