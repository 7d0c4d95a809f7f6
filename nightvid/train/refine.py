"""Train the RGB refinement network on pipeline pairs (:mod:`nightvid.train.pairs`).

Data: ``pool`` pairs of training-split samples, each rendered twice by the ``profile``
pipeline (packed path, half size): the noisy synthetic raw (its denoiser cycling through
``denoisers``, so the refiner sees what each leaves behind) and the clean raw with the same
decisions and no denoising. The net learns ``noisy render -> reference render``. The pool is
rendered once (single-threaded: small tensors run fastest on one thread); batches are seeded
random ``crop`` x ``crop`` windows of it, flipped and rotated (free in the display domain).
Loss: L1. Adam with a cosine schedule (as the denoiser).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..nets.denoiser import count_params
from ..nets.io import save_net
from ..nets.refine import RefineNet, RefineSpec
from ..nets.store import model_path
from .data import CleanItem, SynthConfig, SynthDataset
from .denoiser import print_now
from .pairs import pair_pipelines, pipeline_scores, render_pair, sample_meta
from .recipe import load_recipe, recipe_path
from .schedule import warmup_cosine
from .small_cards import write_card

__all__ = ["RefineRecipe", "render_pool", "train_refiner"]


@dataclass(frozen=True)
class RefineRecipe:
    """How the refiner checkpoint is trained (``configs/train/refine.toml``)."""

    name: str = "refine"
    widths: tuple[int, ...] = (16, 32)
    blocks: tuple[int, ...] = (2, 3)
    profile: str = "default"
    denoisers: tuple[str, ...] = ("classical",)  # "classical" and/or a raw denoiser model name
    pool: int = 1200
    crop: int = 96
    steps: int = 3000
    batch: int = 16
    lr: float = 2e-3
    lr_min: float = 2e-5
    seed: int = 3
    log_every: int = 100
    synth: SynthConfig = field(default_factory=lambda: SynthConfig(crop=128, use_video=False))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _overrides(denoiser: str) -> dict[str, Any]:
    if denoiser == "classical":
        return {"denoise.method": "classical"}
    return {"denoise.method": "net", "denoise.model": denoiser}


def render_pool(recipe: RefineRecipe, split: str, n: int, seed: int,
                log: Callable[[str], None] = print_now,
                items: list[CleanItem] | None = None) -> tuple[Tensor, Tensor]:
    """``n`` pairs of ``split``: (inputs, references), each (n, 3, h, w) float16.
    ``items``: clean sources (default: the shared data's split)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = SynthDataset(recipe.synth, split, seed=seed, items=items)
        cams = {c.name: c for c in ds.cameras}
        pipes = [pair_pipelines(recipe.profile, _overrides(d)) for d in recipe.denoisers]
        xs, ys = [], []
        t0 = time.perf_counter()
        for i in range(n):
            s = ds.sample(i)
            noisy_pipe, ref_pipe = pipes[i % len(pipes)]
            pair = render_pair(s, sample_meta(s, cams), noisy_pipe, ref_pipe)
            xs.append(pair.noisy.clamp(0, 1).half())
            ys.append(pair.reference.clamp(0, 1).half())
            if (i + 1) % 200 == 0:
                log(f"  rendered {i + 1}/{n} {split} pairs ({time.perf_counter() - t0:.0f} s)")
    finally:
        torch.set_num_threads(threads)
    return torch.stack(xs), torch.stack(ys)


def _batch(x: Tensor, y: Tensor, rng: np.random.Generator, size: int,
           crop: int) -> tuple[Tensor, Tensor]:
    idx = rng.integers(len(x), size=size)
    h, w = x.shape[-2:]
    bx, by = [], []
    for i in idx:
        top, left = int(rng.integers(h - crop + 1)), int(rng.integers(w - crop + 1))
        a = x[i, :, top:top + crop, left:left + crop].float()
        b = y[i, :, top:top + crop, left:left + crop].float()
        k = int(rng.integers(4))
        a, b = torch.rot90(a, k, (1, 2)), torch.rot90(b, k, (1, 2))
        if rng.random() < 0.5:
            a, b = a.flip(2), b.flip(2)
        bx.append(a)
        by.append(b)
    return torch.stack(bx), torch.stack(by)


def train_refiner(recipe: RefineRecipe, device: str = "cpu",
                  log: Callable[[str], None] = print_now,
                  items: list[CleanItem] | None = None) -> tuple[RefineNet, dict[str, Any]]:
    """Render the pool, train, return (net in eval mode, training record)."""
    torch.set_flush_denormal(True)  # subnormals are slow on x86 (see denoiser.train)
    torch.manual_seed(recipe.seed)
    t0 = time.perf_counter()
    x, y = render_pool(recipe, "train", recipe.pool, recipe.seed, log, items)
    render_s = time.perf_counter() - t0
    spec = RefineSpec((recipe.widths[0], recipe.widths[1]), (recipe.blocks[0], recipe.blocks[1]))
    net = RefineNet(spec).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, recipe))
    rng = np.random.default_rng(recipe.seed)
    log(f"train {recipe.name}: {count_params(net)} params, {recipe.steps} steps x "
        f"{recipe.batch} crops of {recipe.crop}^2 from {recipe.pool} pairs on {device}")
    losses: list[float] = []
    t1 = time.perf_counter()
    net.train()
    for step in range(recipe.steps):
        bx, by = _batch(x, y, rng, recipe.batch, recipe.crop)
        bx, by = bx.to(device), by.to(device)
        loss = (net(bx) - by).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % recipe.log_every == 0:
            ms = 1000 * (time.perf_counter() - t1) / (step + 1)
            log(f"  step {step + 1}/{recipe.steps}  loss {np.mean(losses[-recipe.log_every:]):.5f}"
                f"  {ms:.0f} ms/step")
    with torch.no_grad():  # how far the net moved the pool towards the references
        fit = [float((net.eval()(x[i:i + 8].float().to(device)) - y[i:i + 8].float().to(device))
                     .abs().mean()) for i in range(0, len(x), 8)]
    record = {"pool_l1_identity": round(float((x.float() - y.float()).abs().mean()), 5),
              "pool_l1_net": round(float(np.mean(fit)), 5),
              "losses_first_last": [round(float(np.mean(losses[:10])), 5),
                                     round(float(np.mean(losses[-10:])), 5)],
              "render_pool_s": round(render_s, 1),
              "ms_per_step": round(1000 * (time.perf_counter() - t1) / recipe.steps, 1),
              "final_loss": round(float(np.mean(losses[-100:])), 5), "device": device}
    return net.eval(), record


def evaluate_refiner(model: str | Path, recipe: RefineRecipe, n: int = 24) -> dict[str, Any]:
    """PSNR/SSIM against the reference render on validation crops (x100 and x300, Sony A7S2),
    pipeline with and without the refiner, for each denoiser of the recipe."""
    from ..synth.noise import load_eld_noise
    from .noise_profiles import eld_draw

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = SynthDataset(recipe.synth, "val", seed=0)
        out: dict[str, Any] = {}
        for ratio in (100.0, 300.0):
            draw = eld_draw(load_eld_noise("SonyA7S2", iso=3200, ratio=ratio))
            variants = {}
            for d in recipe.denoisers:
                variants[f"{d}"] = _overrides(d)
                variants[f"{d}+refine"] = {**_overrides(d), "refine.enabled": True,
                                           "refine.model": str(model)}
            out[f"x{ratio:g}"] = pipeline_scores(variants, ds, n, noise=draw,
                                                 profile=recipe.profile)
    finally:
        torch.set_num_threads(threads)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="recipe TOML (default configs/train/refine.toml)")
    p.add_argument("--steps", type=int, help="override the recipe's steps")
    p.add_argument("--pool", type=int, help="override the number of rendered pairs")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", help="checkpoint path (default models/refine.safetensors)")
    p.add_argument("--eval", type=int, default=24, metavar="N",
                   help="validation crops per ratio for the model card (0: skip)")


def run(args: argparse.Namespace) -> int:
    """``nightvid train refine``: train, save the checkpoint, evaluate, write its card."""
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    path = Path(args.config) if args.config else recipe_path("refine")
    recipe = load_recipe(path, RefineRecipe, steps=args.steps, batch=args.batch,
                         pool=getattr(args, "pool", None))
    net, record = train_refiner(recipe, args.device)
    out = Path(args.out) if args.out else model_path(recipe.name)
    save_net(net, out, recipe=recipe.to_dict(), recipe_file=str(path), training=record)
    figures = evaluate_refiner(out, recipe, args.eval) if args.eval else {}
    save_net(net, out, recipe=recipe.to_dict(), recipe_file=str(path), training=record,
             figures=figures)
    print(f"saved {out} and {write_refine_card(out, net, recipe, record, figures)}")
    return 0


def speed_ms(net: RefineNet, sizes: tuple[tuple[int, int], ...] = ((720, 1280), (1080, 1920)),
             repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` CPU ms per frame at each (h, w), channels-last, this process."""
    out = {}
    net = net.to(memory_format=torch.channels_last)
    for h, w in sizes:
        x = torch.rand(1, 3, h, w).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            net(x)
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                net(x)
                ts.append(time.perf_counter() - t)
        out[f"{h}p"] = round(1000 * min(ts), 1)
    return out


def write_refine_card(out: Path, net: RefineNet, recipe: RefineRecipe, record: dict,
                      figures: dict) -> Path:
    """The checkpoint's card (:func:`~nightvid.train.small_cards.card_paths`); returns the .md
    path."""
    import datetime
    import json

    from .. import __version__
    from ..nets.flops import conv_flops

    net = net.cpu().eval()
    rec = {"checkpoint": out.name, "net": RefineNet.KIND, "spec": net.spec.to_dict(),
           "params": count_params(net),
           "gflops_per_mpix": round(conv_flops(net, torch.zeros(1, 3, 512, 512)) /
                                    (512 * 512) * 1e6 / 1e9, 3),
           "recipe": recipe.to_dict(), "training": record, "validation": figures,
           "cpu_ms": {"threads": torch.get_num_threads(), **speed_ms(net)},
           "nightvid_version": __version__, "date": datetime.date.today().isoformat(),
           "reproduce": f"nightvid train {recipe.name}"}
    lines = [f"# {out.name}: RGB refinement network (display sRGB, residual)", "",
             f"- parameters: {rec['params']:,}",
             f"- FLOPs: {rec['gflops_per_mpix']} G per output MPix",
             f"- CPU ms (channels-last, {rec['cpu_ms']['threads']} threads): "
             f"720p {rec['cpu_ms'].get('720p')}, 1080p {rec['cpu_ms'].get('1080p')}",
             f"- reproduce: `{rec['reproduce']}` ({recipe.pool} rendered pairs in "
             f"{record['render_pool_s']} s, {recipe.steps} steps at {record['ms_per_step']} "
             f"ms/step on {record['device']})",
             f"- nightvid {rec['nightvid_version']}, {rec['date']}", "", "## Data", "",
             "Pairs rendered by the pipeline itself (nightvid.train.pairs): training-split "
             "synthetic raws (see models/denoiser.card.md for the synthesis) rendered noisy, with "
             f"the denoiser(s) {', '.join(recipe.denoisers)}, and clean with the same white "
             "balance, exposure, contrast and sky decisions and no denoising; the net maps the "
             "first to the second.", ""]
    if figures:
        lines += ["## Validation: PSNR (dB) / SSIM against the clean render", "",
                  "Sony A7S2 ELD noise at ISO 3200, validation split, "
                  f"{recipe.synth.crop * 2}^2 raw crops.", "",
                  "| ratio | variant | PSNR | SSIM |", "|---|---|---|---|"]
        for ratio, rows in figures.items():
            for k, v in rows.items():
                lines.append(f"| {ratio} | {k} | {v['psnr']:.2f} | {v['ssim']:.4f} |")
        lines.append("")
    lines += ["## Recipe", "", "```json", json.dumps(rec["recipe"], indent=2), "```", ""]
    return write_card(out, rec, "\n".join(lines))
