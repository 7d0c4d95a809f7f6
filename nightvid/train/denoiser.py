"""Train the raw denoiser: a teacher on synthetic pairs, then a compact student distilled from it.

Loss: a per-sample weighted L1, ``w * (out - clean)`` (:func:`sample_weights`): ``w = ratio``
measures errors on the *amplified* linear raw (the evaluation's PSNR, ELD/SID convention);
``w = 1 / noise std`` counts every noise level alike. The student adds
``distill_weight * L1(w * (out - teacher_out))``.

Everything is seeded: the weights by ``recipe.seed``, the batches by sample index
(batch ``k`` holds samples ``k*batch .. k*batch+batch-1`` of the training split), so a run is
reproducible on the same device (floating-point reductions can differ across devices).

Entry point: :func:`main` (``nightvid train denoiser-teacher|denoiser``), or :func:`train`.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..nets.denoiser import DenoiserSpec, RawDenoiser, count_params
from ..nets.io import load_denoiser, save_denoiser
from .data import SynthDataset, collate
from .recipe import DenoiserRecipe, load_recipe, recipe_path
from .schedule import SpikeGuard, warmup_cosine

__all__ = ["TrainResult", "main", "print_now", "sample_weights", "train", "weighted_l1"]


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the network, per-step losses and the time per step."""

    net: RawDenoiser
    losses: list[float]
    ms_per_step: float
    device: str


def print_now(line: str) -> None:
    """Print and flush: training logs are often redirected to a file and read while it runs."""
    print(line, flush=True)


#: Brings the noise-weighted loss to the amplified one's scale (gradient clipping is at 1).
NOISE_LOSS_SCALE = 0.05


def sample_weights(b: dict[str, Tensor], weighting: str) -> Tensor:
    """Per-sample loss weights (B,): ``"ratio"`` amplifies errors by the darkening ratio (as
    the output is displayed); ``"noise"`` divides them by the sample's own noise std at its
    mean level, so a lit window at ISO 6400 (100 e-, SNR 10) counts as much as a x300 shadow
    (under "ratio" it weighs ~5x less, and the student learnt to leave such noise alone)."""
    if weighting == "ratio":
        return b["ratio"]
    if weighting != "noise":
        raise ValueError(f"weighting must be 'ratio' or 'noise', not {weighting!r}")
    level = b["clean"].mean(dim=(1, 2, 3)).clamp_min(0.0)
    return NOISE_LOSS_SCALE / (b["shot"] * level + b["read"]).sqrt()


def weighted_l1(out: Tensor, target: Tensor, w: Tensor) -> Tensor:
    """Mean ``|w * (out - target)|`` over a batch (B, 4, h, w), w (B,)."""
    return (w.reshape(-1, 1, 1, 1) * (out - target)).abs().mean()


class _Pairs(torch.utils.data.Dataset):
    """Index -> collated-ready sample dict (for DataLoader workers)."""

    def __init__(self, ds: SynthDataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, i: int) -> Any:
        return self.ds.sample(i)


def _loader(ds: SynthDataset, recipe: DenoiserRecipe, start: int) -> Any:
    idx = range(start * recipe.batch, recipe.steps * recipe.batch)
    batches = torch.utils.data.BatchSampler(idx, recipe.batch, drop_last=False)
    return torch.utils.data.DataLoader(_Pairs(ds), batch_sampler=batches, collate_fn=collate,
                                       num_workers=recipe.workers,
                                       persistent_workers=False)


def train(recipe: DenoiserRecipe, *, device: str = "cpu", dataset: SynthDataset | None = None,
          log: Callable[[str], None] = print_now) -> TrainResult:
    """Train a :class:`RawDenoiser` by ``recipe``.

    Args:
        recipe: the seeded recipe (``recipe.teacher`` set: distillation).
        device: "cpu" or "cuda".
        dataset: the training split (default: built from ``recipe.synth``).
        log: where progress lines go.
    Returns:
        A :class:`TrainResult` (the net in eval mode on ``device``).
    """
    # Subnormal floats (tiny gradients late in training) are very slow on x86 CPUs; flushing
    # them costs nothing. (A 2-thread teacher run on the busy 2-core CPU slowed from 80 ms to
    # 3 s per step; 1 thread ran at 120-160 ms on the same load.)
    torch.set_flush_denormal(True)
    torch.manual_seed(recipe.seed)
    spec = DenoiserSpec(recipe.widths, recipe.blocks, recipe.separable, mean_block=0,
                        level_block=recipe.level_block)
    net = RawDenoiser(spec).to(device)
    teacher = load_denoiser(recipe.teacher, device) if recipe.teacher else None
    if teacher is not None:  # its raw output: the student trains without the mean step too
        teacher.spec = dataclasses.replace(teacher.spec, mean_block=0)
    ds = dataset or SynthDataset(recipe.synth, "train", seed=recipe.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, recipe))
    log(f"train {recipe.name}: {count_params(net)} params, {recipe.steps} steps x "
        f"{recipe.batch} crops of {recipe.synth.crop}^2 on {device}"
        + (f", teacher {recipe.teacher}" if teacher else ""))
    losses: list[float] = []
    guard = SpikeGuard(net, opt, log=log)
    t0 = time.perf_counter()
    net.train()
    for step, batch in enumerate(_loader(ds, recipe, 0)):
        b = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        out = net(b["noisy"], b["shot"], b["read"])
        w = sample_weights(b, recipe.weighting)
        loss = weighted_l1(out, b["clean"], w)
        if teacher is not None:
            with torch.no_grad():
                t_out = teacher(b["noisy"], b["shot"], b["read"])
            loss = loss + recipe.distill_weight * weighted_l1(out, t_out, w)
        value = float(loss.detach())
        if guard.accept(step, value):
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            guard.stepped()
            losses.append(value)
        sched.step()  # the schedule follows the data, skipped spikes included
        if (step + 1) % recipe.log_every == 0 or step + 1 == recipe.steps:
            recent = losses[-recipe.log_every:]
            ms = 1000 * (time.perf_counter() - t0) / (step + 1)
            log(f"  step {step + 1}/{recipe.steps}  loss {sum(recent) / max(1, len(recent)):.5f}  "
                f"lr {sched.get_last_lr()[0]:.2e}  {ms:.0f} ms/step")
    ms_per_step = 1000 * (time.perf_counter() - t0) / max(1, recipe.steps)
    net.spec = dataclasses.replace(spec, mean_block=recipe.mean_block)
    return TrainResult(net.eval(), losses, ms_per_step, device)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nightvid train", description="Train a raw denoiser.")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``nightvid train denoiser-teacher|denoiser``."""
    p.add_argument("name", choices=["denoiser-teacher", "denoiser"], help="recipe to run")
    p.add_argument("--config", help="recipe TOML (default configs/train/<name>.toml)")
    p.add_argument("--steps", type=int, help="override the recipe's steps")
    p.add_argument("--batch", type=int, help="override the recipe's batch size")
    p.add_argument("--workers", type=int, help="data-loader processes")
    p.add_argument("--teacher", help="teacher checkpoint (student recipe)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", help="checkpoint path (default models/<name>.safetensors)")
    p.add_argument("--eval", type=int, default=16, metavar="N",
                   help="validation crops per (ratio, ISO) for the model card (0: skip)")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    """Train by the parsed arguments, save the checkpoint and its model card; exit code 0."""
    from .card import write_denoiser_card
    from .evaluate import evaluate_denoiser

    if args.threads:
        torch.set_num_threads(args.threads)
    path = Path(args.config) if args.config else recipe_path(args.name)
    recipe = load_recipe(path, steps=args.steps, batch=args.batch, workers=args.workers,
                         teacher=args.teacher)
    result = train(recipe, device=args.device)
    out = Path(args.out) if args.out else Path("models") / f"{recipe.name}.safetensors"
    figures = evaluate_denoiser(result.net, n_images=args.eval, device=args.device) \
        if args.eval else {}
    save_denoiser(result.net, out, recipe=recipe.to_dict(), recipe_file=str(path),
                  ms_per_step=result.ms_per_step, device=args.device, figures=figures)
    card = write_denoiser_card(out, recipe, result, figures)
    print(f"saved {out} and {card}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``nightvid train denoiser-teacher|denoiser [--steps N] [--device cuda] [--out PATH]``."""
    return run(_parser().parse_args(argv))
if __name__ == "__main__":
    raise SystemExit(main())
