"""Training: recipes from TOML, a short smoke run (loss decreases), distillation, the CLI hook."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
import torch

from _helpers.train_items import clean_items
from nightvid.errors import ConfigError
from nightvid.nets import count_params, load_denoiser, save_denoiser
from nightvid.train.data import SynthConfig, SynthDataset
from nightvid.train.denoiser import NOISE_LOSS_SCALE, sample_weights, train, weighted_l1
from nightvid.train.recipe import DenoiserRecipe, load_recipe, recipe_path

SMOKE = DenoiserRecipe(name="smoke", widths=(8, 16), blocks=(1, 1), steps=40, batch=4, lr=3e-3,
                       lr_min=1e-3, seed=0, log_every=1000,
                       synth=SynthConfig(crop=32, ratio_min=50.0, ratio_max=300.0))


@pytest.fixture(scope="module")
def ds():
    return SynthDataset(SMOKE.synth, "train", seed=0, items=clean_items(n=4))


class TestRecipes:
    @pytest.mark.parametrize("name", ["denoiser-teacher", "denoiser"])
    def test_shipped_recipes_load(self, name):
        r = load_recipe(recipe_path(name))
        assert r.name == name and r.steps > 0 and isinstance(r.widths, tuple)

    def test_student_recipe_within_budget(self):
        from nightvid.nets import DenoiserSpec, RawDenoiser

        r = load_recipe(recipe_path("denoiser"))
        assert count_params(RawDenoiser(DenoiserSpec(r.widths, r.blocks, r.separable))) <= 150_000
        assert r.teacher.endswith("denoiser-teacher.safetensors")

    def test_unknown_key(self, tmp_path):
        p = tmp_path / "r.toml"
        p.write_text('name = "x"\n[synth]\ncrop_size = 3\n')
        with pytest.raises(ConfigError, match=r"synth\.crop_size.*r\.toml"):
            load_recipe(p)

    def test_wrong_type(self, tmp_path):
        p = tmp_path / "r.toml"
        p.write_text('steps = "many"\n')
        with pytest.raises(ConfigError, match="steps"):
            load_recipe(p)

    def test_overrides(self):
        assert load_recipe(recipe_path("denoiser"), steps=7, batch=None).steps == 7


class TestLossWeights:
    BATCH = {"ratio": torch.tensor([10.0, 300.0]), "shot": torch.tensor([4e-4, 1e-5]),
             "read": torch.tensor([1e-6, 1e-7]),
             "clean": torch.stack([torch.full((4, 8, 8), 0.04), torch.full((4, 8, 8), 0.001)])}

    def test_ratio_weights_are_the_ratios(self):
        assert torch.equal(sample_weights(self.BATCH, "ratio"), self.BATCH["ratio"])

    def test_noise_weights_divide_by_the_noise_std(self):
        w = sample_weights(self.BATCH, "noise")
        sigma = torch.tensor([(4e-4 * 0.04 + 1e-6) ** 0.5, (1e-5 * 0.001 + 1e-7) ** 0.5])
        assert torch.allclose(w, NOISE_LOSS_SCALE / sigma)
        # An error of one noise std costs NOISE_LOSS_SCALE whatever the level.
        err = sigma.reshape(2, 1, 1, 1).expand(2, 4, 8, 8)
        assert weighted_l1(err, torch.zeros_like(err), w).item() == pytest.approx(NOISE_LOSS_SCALE)

    def test_unknown_weighting(self):
        with pytest.raises(ValueError, match="weighting"):
            sample_weights(self.BATCH, "psnr")


class TestSmokeTraining:
    def test_loss_decreases_and_seeded(self, ds):
        res = train(SMOKE, dataset=ds, log=lambda s: None)
        first, last = sum(res.losses[:5]) / 5, sum(res.losses[-5:]) / 5
        assert last < 0.9 * first
        again = train(dataclasses.replace(SMOKE, steps=3), dataset=ds, log=lambda s: None)
        again2 = train(dataclasses.replace(SMOKE, steps=3), dataset=ds, log=lambda s: None)
        assert again.losses == again2.losses

    def test_distillation_and_round_trip(self, ds, tmp_path):
        teacher = train(dataclasses.replace(SMOKE, steps=2), dataset=ds, log=lambda s: None)
        path = save_denoiser(teacher.net, tmp_path / "t.safetensors")
        student = train(dataclasses.replace(SMOKE, steps=2, teacher=str(path)), dataset=ds,
                        log=lambda s: None)
        assert len(student.losses) == 2
        x = torch.rand(1, 4, 16, 16) * 0.01
        with torch.no_grad():
            assert torch.equal(load_denoiser(path)(x, 1e-4, 1e-7), teacher.net(x, 1e-4, 1e-7))

    def test_noise_weighting_trains(self, ds):
        res = train(dataclasses.replace(SMOKE, weighting="noise"), dataset=ds, log=lambda s: None)
        # Starts at ~0.8 noise std (the identity), per sample alike: a steady, smaller fall.
        assert 0.03 < sum(res.losses[:5]) / 5 < 0.045
        assert sum(res.losses[-5:]) < 0.98 * sum(res.losses[:5])

    def test_mean_step_saved_not_trained(self, ds):
        """Training runs without the local-mean step; the returned (saved) net has it."""
        res = train(dataclasses.replace(SMOKE, steps=1, mean_block=16), dataset=ds,
                    log=lambda s: None)
        assert res.net.spec.mean_block == 16
        raw = dataclasses.replace(res.net.spec, mean_block=0)
        assert train(dataclasses.replace(SMOKE, steps=1, mean_block=0), dataset=ds,
                     log=lambda s: None).net.spec == raw
        # Same seed, same data: the weights do not depend on the saved mean step.
        again = train(dataclasses.replace(SMOKE, steps=1, mean_block=0), dataset=ds,
                      log=lambda s: None)
        assert all(torch.equal(a, b) for a, b in zip(res.net.state_dict().values(),
                                                      again.net.state_dict().values(),
                                                      strict=True))


class TestCliHook:
    def test_add_parser(self):
        from nightvid.train.cli import add_parser, run

        top = argparse.ArgumentParser(prog="nightvid")
        sub = top.add_subparsers(dest="command")
        add_parser(sub)
        args = top.parse_args(["train", "denoiser", "--steps", "5", "--device", "cpu"])
        assert args.func is run and args.steps == 5 and args.name == "denoiser"
