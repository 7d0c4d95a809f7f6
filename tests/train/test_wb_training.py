"""WB estimator training: recipe, seeded samples, a smoke training, the CLI, the shipped model."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pytest
import torch

from _helpers.data import require
from _helpers.train_items import clean_items
from nightvid.errors import ConfigError
from nightvid.nets.store import model_path
from nightvid.nets.wb import WBNet, WBSpec, count_params
from nightvid.synth.unprocess import display_to_linear
from nightvid.train.evaluate_wb import summarise
from nightvid.train.recipe import recipe_path
from nightvid.train.wb import WBRecipe, load_wb_recipe, train
from nightvid.train.wb_data import LinearImage, WBDataConfig, WBSynth

CFG = WBDataConfig(side=32, ratio_min=1.0, ratio_max=100.0, avg_min=4.0, avg_max=64.0)
SMOKE = WBRecipe(name="smoke", widths=(8, 16), extra=0, thumb=16, steps=60, batch=16, lr=1e-2,
                 lr_min=1e-3, seed=0, log_every=1000, synth=CFG)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on a busy 2-core CPU: one thread is much faster
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def synth():
    bank = []
    for it in clean_items(n=4, size=64):
        disp = torch.from_numpy(it.frames[0]).permute(2, 0, 1)[None].float() / 255.0
        bank.append(LinearImage(it.name, display_to_linear(disp)[0]))
    return WBSynth(CFG, "train", seed=0, bank=bank)


class TestRecipe:
    def test_shipped_recipe_loads_within_budget(self):
        r = load_wb_recipe(recipe_path("wb"))
        assert r.name == "wb" and r.steps > 0 and isinstance(r.widths, tuple)
        assert 3_000 <= count_params(WBNet(WBSpec(r.widths, r.extra, r.thumb))) <= 50_000

    def test_unknown_key_names_file(self, tmp_path):
        p = tmp_path / "w.toml"
        p.write_text('name = "x"\n[synth]\nsides = 3\n')
        with pytest.raises(ConfigError, match=r"synth\.sides.*w\.toml"):
            load_wb_recipe(p)


class TestSamples:
    def test_seeded_and_shaped(self, synth):
        a, b, c = synth[3], synth[3], synth[4]
        assert torch.equal(a.cam_rgb, b.cam_rgb) and torch.equal(a.neutral, b.neutral)
        assert not torch.equal(a.cam_rgb, c.cam_rgb)
        assert a.cam_rgb.shape == (3, 16, 16)
        assert float(a.neutral.norm()) == pytest.approx(1.0)
        assert CFG.ratio_min <= a.ratio <= CFG.ratio_max and a.averaged >= CFG.avg_min

    def test_cast_follows_the_illuminant(self, synth):
        # Across draws, the mean camera colour leans the way the true neutral does.
        rb_img, rb_ill = [], []
        for i in range(24):
            s = synth[i]
            m = s.cam_rgb.clamp_min(0).mean(dim=(1, 2))
            rb_img.append(float(torch.log(m[0] / m[2])))
            rb_ill.append(float(torch.log(s.neutral[0] / s.neutral[2])))
        assert np.corrcoef(rb_img, rb_ill)[0, 1] > 0.5


class TestSmokeTraining:
    def test_loss_decreases_and_seeded(self, synth):
        res = train(SMOKE, synth=synth, log=lambda s: None)
        first, last = np.mean(res.losses[:10]), np.mean(res.losses[-10:])
        assert last < 0.8 * first
        short = dataclasses.replace(SMOKE, steps=3)
        a = train(short, synth=synth, log=lambda s: None)
        b = train(short, synth=synth, log=lambda s: None)
        assert a.losses == b.losses


class TestCli:
    @pytest.mark.parametrize("name", ["wb", "illumination"])
    def test_train_names(self, name):
        from nightvid.train.cli import add_parser, run

        top = argparse.ArgumentParser(prog="nightvid")
        add_parser(top.add_subparsers(dest="command"))
        args = top.parse_args(["train", name, "--steps", "2", "--eval", "0"])
        assert args.func is run and args.name == name and args.steps == 2


def test_summarise_golden():
    s = summarise([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    assert s == {"median": 4.5, "mean": 4.5, "best25": 1.5, "worst25": 7.5}


def test_shipped_checkpoint_beats_gray_world():
    from nightvid.nets.io import load_net
    from nightvid.train.evaluate_wb import evaluate_wb

    require("clean/images/CBSD68")
    path = model_path("wb")
    if not path.is_file():
        pytest.skip(f"{path}: not shipped in this checkout")
    res = evaluate_wb(load_net(path, "wb_estimator"), per_image=1, log=None)
    net = res["all"]["net"]["median"]
    assert net < res["all"]["gray_world"]["median"]
    assert net < res["all"]["grayness_index"]["median"]
