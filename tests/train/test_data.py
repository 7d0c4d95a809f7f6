"""Synthesis: determinism, shapes, split, colour round trip, noise statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _helpers.data import require
from _helpers.train_items import clean_items
from nightvid.isp.ccm import srgb_from_camera
from nightvid.synth.noise import load_eld_noise
from nightvid.synth.unprocess import display_to_linear, unprocess_scene
from nightvid.train.cameras import camera_bank, planckian_xy, sample_illuminant
from nightvid.train.data import SynthConfig, SynthDataset, collate, load_clean, split_of
from nightvid.train.noise_profiles import apply_noise, eld_draw, sample_noise

CFG = SynthConfig(crop=32)


@pytest.fixture(scope="module")
def ds():
    return SynthDataset(CFG, "train", seed=7, items=clean_items())


class TestSynthDataset:
    def test_same_seed_same_sample(self, ds):
        a, b = ds.sample(5), SynthDataset(CFG, "train", seed=7, items=clean_items()).sample(5)
        assert torch.equal(a.noisy, b.noisy) and torch.equal(a.clean, b.clean)
        assert (a.shot, a.read, a.ratio, a.camera) == (b.shot, b.read, b.ratio, b.camera)

    def test_order_independent(self, ds):
        first = ds.sample(3).noisy
        ds.sample(9)
        assert torch.equal(ds.sample(3).noisy, first)

    def test_dark_fraction_reaches_samples(self):
        dark = SynthDataset(SynthConfig(crop=32, dark_fraction=1.0, dark_ratio=50.0), "train",
                            seed=7, items=clean_items())
        assert all(dark.sample(i).ratio >= 50.0 for i in range(6))

    def test_other_seed_or_index_differs(self, ds):
        other = SynthDataset(CFG, "train", seed=8, items=clean_items())
        assert not torch.equal(ds.sample(5).noisy, other.sample(5).noisy)
        assert not torch.equal(ds.sample(5).noisy, ds.sample(6).noisy)

    @pytest.mark.parametrize("index", [0, 1, 2])
    def test_shapes_and_ranges(self, ds, index):
        s = ds.sample(index)
        assert s.noisy.shape == s.clean.shape == (4, 32, 32)
        assert s.noisy.dtype == torch.float32
        assert 1.0 <= s.ratio <= 300.0 and s.shot > 0 and s.read > 0
        assert float(s.clean.min()) >= 0 and float(s.clean.max()) <= 1.0 / s.ratio + 1e-6

    def test_clip_sample(self):
        ds = SynthDataset(CFG, "train", seed=1, items=clean_items(n=2, frames=6))
        s = ds.sample(0, frames=4)
        assert s.noisy.shape == (4, 4, 32, 32)
        # independent noise per frame, same camera and light
        assert not torch.equal(s.noisy[0] - s.clean[0], s.noisy[1] - s.clean[1])

    def test_collate(self, ds):
        b = collate([ds.sample(i) for i in range(3)])
        assert b["noisy"].shape == (3, 4, 32, 32) and b["ratio"].shape == (3,)

    def test_noise_matches_profile(self, ds):
        s = ds.sample(2, noise=eld_draw(load_eld_noise("SonyA7S2", iso=3200, ratio=100)))
        resid = (s.noisy - s.clean).flatten()
        var = float(s.shot * s.clean.clamp_min(0).mean() + s.read)
        assert 0.7 < float(resid.var()) / var < 1.4


class TestColour:
    def test_unprocess_then_process_round_trip(self):
        """Unprocess with a bank camera and a random light, then WB + CCM: back to linear sRGB."""
        rng = np.random.default_rng(0)
        # constant over each 2x2 Bayer cell, so demosaicking is exact
        lin = display_to_linear(torch.rand(1, 3, 4, 4) * 0.8)
        lin = lin.repeat_interleave(2, -1).repeat_interleave(2, -2)  # (1,3,4,4) -> (1,3,8,8)
        for cam in camera_bank()[:6]:
            neutral, _ = sample_illuminant(rng, cam.color_matrix_1)
            mos = unprocess_scene(lin, cam, illuminant_neutral=neutral, clip=False)
            p = torch.nn.functional.pixel_unshuffle(mos, 2)[0].double()  # (4,4,4) R Gr Gb B
            cam_rgb = torch.stack([p[0], (p[1] + p[2]) / 2, p[3]]) / torch.tensor(
                neutral).reshape(3, 1, 1)
            m = torch.from_numpy(srgb_from_camera(cam.color_matrix_1))
            back = torch.einsum("ij,jhw->ihw", m, cam_rgb)
            assert torch.allclose(back, lin[0, :, ::2, ::2].double(), atol=1e-5)

    def test_planckian(self):
        x, y = planckian_xy(2856)  # illuminant A
        assert abs(x - 0.4476) < 2e-3 and abs(y - 0.4074) < 2e-3

    def test_spectral_matrix_close_to_adobe(self):
        require("spectral/sony_ilce-7sm2_380_780_5.json")
        bank = {c.name: c.color_matrix_1 for c in camera_bank()}
        assert len(bank) >= 12
        from nightvid.synth.unprocess import camera_from_srgb

        fit = camera_from_srgb(bank["spectral:sony_ilce-7sm2"])
        adobe = camera_from_srgb(bank["builtin:sony_a7s2"])
        assert np.abs(fit - adobe).max() < 0.15


class TestNoise:
    def test_sample_noise_seeded(self):
        a = sample_noise(np.random.default_rng(4))
        b = sample_noise(np.random.default_rng(4))
        assert a == b

    def test_dark_fraction_zero_keeps_stream(self):
        plain = [sample_noise(np.random.default_rng(s)) for s in range(20)]
        off = [sample_noise(np.random.default_rng(s), dark=(0.0, 30.0)) for s in range(20)]
        assert plain == off

    def test_dark_fraction_shifts_ratios(self):
        rng = np.random.default_rng(3)
        ratios = np.array([sample_noise(rng, dark=(0.5, 30.0)).ratio for _ in range(400)])
        assert ratios.min() >= 1.0 and ratios.max() <= 300.0
        # Log-uniform over [1, 300] puts 40 % at x30 or above; half drawn from [30, 300] gives 70 %.
        assert 0.62 < float((ratios >= 30.0).mean()) < 0.78
        always = [sample_noise(np.random.default_rng(s), dark=(1.0, 30.0)).ratio for s in range(50)]
        assert min(always) >= 30.0

    def test_apply_noise_unamplified(self):
        clean = np.full((64, 64), 0.3)
        draw = eld_draw(load_eld_noise("SonyA7S2", iso=800, ratio=100))
        y = apply_noise(clean, draw, np.random.default_rng(0))
        assert abs(float(y.mean()) - 0.003) < 3e-4


class TestSplit:
    def test_split_rule(self):
        assert split_of("images/CBSD68/101085.png") == split_of("images/CBSD68/101085.png")
        names = [f"images/x/{i}.png" for i in range(1000)]
        frac = sum(split_of(n) == "val" for n in names) / 1000
        assert 0.15 < frac < 0.25

    def test_real_split_disjoint(self):
        require("clean/images/CBSD68")
        cfg = SynthConfig(use_video=False)
        tr, va = load_clean(cfg, "train"), load_clean(cfg, "val")
        names_tr, names_va = {i.name for i in tr}, {i.name for i in va}
        assert names_tr.isdisjoint(names_va) and len(names_va) >= 10
        assert all(split_of(n) == "val" for n in names_va)
