"""Train the white-balance estimator (:class:`~nightvid.nets.wb.WBNet`) on synthetic illuminants.

Loss: the mean recovery angular error (degrees) between the net's unit-norm neutral and the
true camera neutral of each sample (:mod:`nightvid.train.wb_data`). AdamW, 2 % linear
warm-up then a cosine decay to ``lr_min``.

Everything is seeded: the weights by ``recipe.seed``, the samples by index (batch ``k`` holds
samples ``k * batch .. k * batch + batch - 1``), so a run is reproducible on the same device
whatever the number of data-loader workers.

Entry points: ``nightvid train wb`` (:func:`run`), or :func:`train`.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..isp.exposure import thumbnail
from ..nets.io import save_net
from ..nets.wb import WBNet, WBSpec, angular_error_deg, count_params
from .recipe import load_recipe, recipe_path
from .schedule import warmup_cosine
from .wb_data import WBDataConfig, WBSample, WBSynth

__all__ = ["WBRecipe", "WBTrainResult", "collate_wb", "run", "train"]


@dataclass(frozen=True)
class WBRecipe:
    """How the white-balance checkpoint is trained.

    Attributes:
        name: checkpoint name (``models/<name>.safetensors``).
        widths, extra, thumb: the architecture (:class:`~nightvid.nets.wb.WBSpec`).
        steps, batch, lr, lr_min, weight_decay: AdamW with warm-up and cosine decay.
        seed: seeds the weights and the sample stream.
        workers: data-loader processes (0 = in the training process).
        log_every: steps between log lines.
        synth: how samples are drawn.
    """

    name: str = "wb"
    widths: tuple[int, ...] = (16, 32, 32)
    extra: int = 1
    thumb: int = 64
    steps: int = 3000
    batch: int = 32
    lr: float = 3e-3
    lr_min: float = 3e-5
    weight_decay: float = 1e-4
    seed: int = 0
    workers: int = 0
    threads: int = 1
    log_every: int = 100
    synth: WBDataConfig = field(default_factory=WBDataConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class WBTrainResult:
    """The trained net (eval mode), per-step losses (degrees), ms per step, device, wall s."""

    net: WBNet
    losses: list[float]
    ms_per_step: float
    device: str
    wall_s: float


class _Samples(torch.utils.data.Dataset):
    def __init__(self, synth: WBSynth, thumb: int) -> None:
        self.synth, self.thumb = synth, thumb

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        s: WBSample = self.synth[i]
        return thumbnail(s.cam_rgb[None], self.thumb)[0], s.neutral


def collate_wb(items: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Stack (thumbnail (3, t, t), neutral (3,)) pairs into (B, 3, t, t), (B, 3)."""
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


def train(recipe: WBRecipe, *, device: str = "cpu", synth: WBSynth | None = None,
          log: Callable[[str], None] = print) -> WBTrainResult:
    """Train a :class:`WBNet` by ``recipe``.

    Args:
        recipe: the seeded recipe.
        device: "cpu" or "cuda".
        synth: the training samples (default: built from ``recipe.synth``).
        log: where progress lines go.

    Runs on ``recipe.threads`` CPU threads (restored afterwards): on a busy 2-core machine one
    thread was 8x faster per step than two, and a fixed count keeps float reductions, hence
    the weights, the same from run to run.
    """
    t_start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train(recipe, device, synth, log, t_start)
    finally:
        torch.set_num_threads(threads)


def _train(recipe: Any, device: str, synth: Any, log: Callable[[str], None],
           t_start: float) -> Any:
    torch.manual_seed(recipe.seed)
    net = WBNet(WBSpec(recipe.widths, recipe.extra, recipe.thumb)).to(device)
    synth = synth or WBSynth(recipe.synth, "train", seed=recipe.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, recipe))
    batches = torch.utils.data.BatchSampler(range(recipe.steps * recipe.batch), recipe.batch,
                                            drop_last=False)
    loader = torch.utils.data.DataLoader(_Samples(synth, recipe.thumb), batch_sampler=batches,
                                         collate_fn=collate_wb, num_workers=recipe.workers)
    log(f"train {recipe.name}: {count_params(net)} params, {recipe.steps} steps x "
        f"{recipe.batch} thumbnails of {recipe.thumb}^2 from {len(synth.bank)} clean frames "
        f"on {device}")
    losses: list[float] = []
    t0 = time.perf_counter()
    net.train()
    for step, (x, target) in enumerate(loader):
        loss = angular_error_deg(net(x.to(device)), target.to(device)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % recipe.log_every == 0 or step + 1 == recipe.steps:
            recent = losses[-recipe.log_every:]
            ms = 1000 * (time.perf_counter() - t0) / (step + 1)
            log(f"  step {step + 1}/{recipe.steps}  angular error {sum(recent) / len(recent):.3f}"
                f" deg  lr {sched.get_last_lr()[0]:.2e}  {ms:.0f} ms/step")
    ms_per_step = 1000 * (time.perf_counter() - t0) / max(1, len(losses))
    return WBTrainResult(net.eval(), losses, ms_per_step, device, time.perf_counter() - t_start)


def load_wb_recipe(path: str | Path, **overrides: Any) -> WBRecipe:
    """A :class:`WBRecipe` from TOML (``configs/train/wb.toml``), overrides applied last."""
    recipe: WBRecipe = load_recipe(path, cls=WBRecipe, **overrides)
    return recipe


def run(args: argparse.Namespace) -> int:
    """``nightvid train wb``: train, evaluate on the validation split, save checkpoint + card.

    Reads the common ``nightvid train`` options: ``--config``, ``--steps``, ``--batch``,
    ``--workers``, ``--device``, ``--out``, ``--threads``; ``--eval N`` sets the validation
    draws per image (0 skips the evaluation).
    """
    from .evaluate_wb import evaluate_wb
    from .small_cards import write_wb_card

    t_command = time.perf_counter()
    path = Path(args.config) if getattr(args, "config", None) else recipe_path(args.name)
    recipe = load_wb_recipe(path, steps=getattr(args, "steps", None),
                            batch=getattr(args, "batch", None),
                            workers=getattr(args, "workers", None),
                            threads=getattr(args, "threads", None))
    device = getattr(args, "device", None) or "cpu"
    torch.set_num_threads(recipe.threads)  # evaluation and timings too (the card says so)
    result = train(recipe, device=device)
    net = result.net.to("cpu")
    n_eval = 16 if getattr(args, "eval", None) is None else args.eval
    figures = evaluate_wb(net, per_image=n_eval, data=recipe.synth.data) if n_eval else {}
    out = Path(args.out) if getattr(args, "out", None) else Path("models") / \
        f"{recipe.name}.safetensors"
    save_net(net, out, recipe=recipe.to_dict(), recipe_file=str(path), device=device,
             ms_per_step=round(result.ms_per_step, 2), figures=figures)
    card = write_wb_card(out, recipe, result, figures, time.perf_counter() - t_command)
    print(f"saved {out} and {card} ({result.wall_s:.0f} s)")
    return 0
