"""The refinement network and its training: identity at start, seamless tiles, pipeline pairs
with replayed decisions, a short seeded training that learns, the pipeline stage."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from _helpers.train_items import clean_items
from nightvid.config import load_config
from nightvid.nets import load_net, save_net
from nightvid.nets.infer import run_tiled
from nightvid.nets.refine import RefineNet, RefineSpec
from nightvid.pipeline import Pipeline
from nightvid.sources import open_raw
from nightvid.train.data import SynthConfig, SynthDataset
from nightvid.train.pairs import pair_pipelines, render_pair, sample_meta, ssim
from nightvid.train.recipe import load_recipe, recipe_path
from nightvid.train.refine import RefineRecipe, train_refiner

SMOKE = RefineRecipe(name="smoke", widths=(8, 8), blocks=(1, 1), denoisers=("classical",),
                     pool=6, crop=32, steps=80, batch=4, lr=1e-2, lr_min=3e-3, log_every=1000,
                     synth=SynthConfig(crop=32, ratio_min=100.0, ratio_max=300.0))


TINY = RefineSpec((8, 8), (1, 1))


def _random_net():
    torch.manual_seed(0)
    net = RefineNet(TINY).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return net


def test_identity_until_trained_and_tiles_match():
    x = torch.rand(1, 3, 150, 203)
    assert torch.equal(RefineNet()(x), x)
    net = _random_net()
    with torch.no_grad():
        whole = net(x)
        tiled = run_tiled(net, [x], tile=64, overlap=16, align=net.multiple)
    assert (whole - x).abs().mean() > 1e-3
    assert (tiled - whole).abs().max() < 1e-4


def test_pairs_replay_decisions_and_denoising_helps():
    ds = SynthDataset(SMOKE.synth, "train", seed=0, items=clean_items(n=2))
    cams = {c.name: c for c in ds.cameras}
    s = ds.sample(0)
    noisy_pipe, ref_pipe = pair_pipelines()
    bare_pipe, _ = pair_pipelines(overrides={"denoise.enabled": False})
    pair = render_pair(s, sample_meta(s, cams), noisy_pipe, ref_pipe)
    bare = render_pair(s, sample_meta(s, cams), bare_pipe, ref_pipe)
    assert pair.noisy.shape == pair.reference.shape == (3, 32, 32)
    # Same exposure and WB: the means agree far better than the noise would let them differ.
    assert abs(float(pair.noisy.mean() - pair.reference.mean())) < 0.1
    assert ssim(pair.noisy, pair.reference) > ssim(bare.noisy, bare.reference)
    assert ssim(pair.reference, pair.reference) == pytest.approx(1.0)


def test_smoke_training_learns_and_round_trips(tmp_path):
    net, record = train_refiner(SMOKE, log=lambda s: None, items=clean_items(n=3))
    assert record["pool_l1_net"] < 0.97 * record["pool_l1_identity"]  # identity = 1.0x
    path = save_net(net, tmp_path / "r.safetensors")
    back = load_net(path, "refiner")
    x = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(back(x), net(x))
    again, _ = train_refiner(dataclasses.replace(SMOKE, steps=3), log=lambda s: None,
                             items=clean_items(n=3))
    again2, _ = train_refiner(dataclasses.replace(SMOKE, steps=3), log=lambda s: None,
                              items=clean_items(n=3))
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(),
                                                 again2.state_dict().values(), strict=True))


def test_pipeline_refine_stage(tmp_path):
    path = save_net(_random_net(), tmp_path / "r.safetensors")
    street = open_raw("samples/night_street.dng")

    def render(**over):
        cfg = load_config("default", {"output.width": 256, **over})
        return Pipeline(cfg, compile=False).render(*street)[0]

    plain = render()
    refined = render(**{"refine.enabled": True, "refine.model": str(path)})
    half = render(**{"refine.enabled": True, "refine.model": str(path), "refine.strength": 0.5})
    assert refined.shape == plain.shape and 0 <= float(refined.min()) <= float(refined.max()) <= 1
    assert (refined - plain).abs().mean() > 1e-3
    # strength blends linearly where the full correction was not clamped
    inside = (refined > 0) & (refined < 1)
    assert inside.float().mean() > 0.5
    assert torch.allclose(half[inside], ((plain + refined) / 2)[inside], atol=1e-4)


def test_shipped_recipe_loads():
    r = load_recipe(recipe_path("refine"), RefineRecipe)
    assert r.denoisers == ("classical", "denoiser") and r.pool > 0
