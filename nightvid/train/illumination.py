"""Train the SCI illumination block (:class:`~nightvid.nets.illumination.IlluminationNet`),
self-supervised, on dark sRGB crops (:mod:`nightvid.train.illumination_data`).

SCI (Ma et al., CVPR 2022) training: ``stages`` passes of the *same* block; stage ``s`` sees
``x_s`` (``x_0 = x``, the dark crop) and gives ``i_s``; the self-calibration module
:class:`Calibrate` (training only) maps ``r_s = clamp(x / i_s, 0, 1)`` to ``x_{s+1} = x +
r_s - sigmoid(g(r_s))``. The loss sums over stages

    fidelity_weight * mean |i_s - x_s|^2  +  smoothness(i_s; guide x_s)

where smoothness (:func:`smoothness`) is SCI's 24-neighbour (5x5) weighted L1 total variation
of ``i_s``, the weights ``exp(-|YCbCr(x_s)_p - YCbCr(x_s)_q|^2 / (2 sigma^2))`` (edges of the
guide may stay edges of the illumination). Adam with SCI's learning rate and weight decay, a
cosine decay to ``lr_min``. Seeded: weights by ``recipe.seed``, crops by index.

Entry points: ``nightvid train illumination`` (:func:`run`), or :func:`train`.
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
import torch.nn.functional as F
from torch import Tensor, nn

from ..nets.illumination import IlluminationNet, IlluminationSpec, count_params
from ..nets.io import save_net
from .illumination_data import IllumDataConfig, IllumSynth
from .recipe import load_recipe, recipe_path
from .schedule import warmup_cosine

__all__ = ["Calibrate", "IllumRecipe", "IllumTrainResult", "run", "sci_loss", "smoothness",
           "train"]


@dataclass(frozen=True)
class IllumRecipe:
    """How the illumination checkpoint is trained (see the module doc)."""

    name: str = "illumination"
    channels: int = 3
    layers: int = 1
    stages: int = 3
    calib_channels: int = 16
    calib_layers: int = 3
    steps: int = 1500
    batch: int = 8
    lr: float = 3e-4
    lr_min: float = 3e-5
    weight_decay: float = 3e-4
    fidelity_weight: float = 1.5
    smooth_sigma: float = 0.1
    seed: int = 0
    workers: int = 0
    threads: int = 1
    log_every: int = 100
    synth: IllumDataConfig = field(default_factory=IllumDataConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class IllumTrainResult:
    """The trained block (eval mode), per-step losses, ms per step, device, wall seconds."""

    net: IlluminationNet
    losses: list[float]
    ms_per_step: float
    device: str
    wall_s: float


class Calibrate(nn.Module):
    """SCI's self-calibration module (training only): ``r -> r - sigmoid(g(r))``, ``g`` a
    3x3 convolution stack with BatchNorm and ``layers`` applications of one shared residual
    pair of convolutions."""

    def __init__(self, channels: int = 16, layers: int = 3) -> None:
        super().__init__()
        c = channels
        self.layers = layers
        self.conv_in = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                                   nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.conv_out = nn.Conv2d(c, 3, 3, padding=1)
        for m in self.modules():  # SCI's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)

    def forward(self, r: Tensor) -> Tensor:
        f = self.conv_in(r)
        for _ in range(self.layers):
            f = f + self.block(f)
        return r - torch.sigmoid(self.conv_out(f))


# BT.601 YCbCr of [0, 1] RGB (the colour space of SCI's smoothness weights).
_YCBCR = torch.tensor([[0.257, 0.504, 0.098], [-0.148, -0.291, 0.439], [0.439, -0.368, -0.071]])
# The 12 distinct neighbour offsets of a 5x5 window (SCI sums each pair in both directions).
_OFFSETS = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2), (2, 1), (1, 2), (2, -1), (1, -2),
            (2, 2), (2, -2))


def _pair(t: Tensor, dy: int, dx: int) -> tuple[Tensor, Tensor]:
    """Views of ``t`` at pixels p and p + (dy, dx), both inside, dy >= 0."""
    h, w = t.shape[-2:]
    a = t[..., : h - dy, max(0, -dx) : w - max(0, dx)]
    b = t[..., dy:, max(0, dx) : w - max(0, -dx)]
    return a, b


def smoothness(guide: Tensor, illum: Tensor, sigma: float) -> Tensor:
    """SCI's edge-aware smoothness of ``illum`` (B, 3, h, w) guided by ``guide`` (B, 3, h, w).

    Sum over the 24 neighbours q of p in a 5x5 window of
    ``mean_p w_pq |i_p - i_q|_1``, ``w_pq = exp(-|Y(g_p) - Y(g_q)|^2 / (2 sigma^2))``.
    """
    y = torch.einsum("ij,bjhw->bihw", _YCBCR.to(guide), guide)
    total = guide.new_zeros(())
    for dy, dx in _OFFSETS:
        ya, yb = _pair(y, dy, dx)
        ia, ib = _pair(illum, dy, dx)
        wgt = torch.exp(-(ya - yb).square().sum(dim=1) / (2.0 * sigma * sigma))
        total = total + 2.0 * (wgt * (ia - ib).abs().sum(dim=1)).mean()
    return total


def sci_loss(net: IlluminationNet, calib: Calibrate, x: Tensor, recipe: IllumRecipe) -> Tensor:
    """The summed stage losses of SCI for a batch ``x`` (B, 3, h, w) (module doc)."""
    inp = x
    loss = x.new_zeros(())
    for _ in range(recipe.stages):
        i = net(inp)
        loss = loss + recipe.fidelity_weight * F.mse_loss(i, inp) \
            + smoothness(inp, i, recipe.smooth_sigma)
        inp = x + calib((x / i).clamp(0.0, 1.0))
    return loss


def train(recipe: IllumRecipe, *, device: str = "cpu", synth: IllumSynth | None = None,
          log: Callable[[str], None] = print) -> IllumTrainResult:
    """Train an :class:`IlluminationNet` by ``recipe`` (its calibration module is dropped).

    Runs on ``recipe.threads`` CPU threads (restored afterwards), as
    :func:`nightvid.train.wb.train` does.
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
    net = IlluminationNet(IlluminationSpec(recipe.channels, recipe.layers)).to(device)
    calib = Calibrate(recipe.calib_channels, recipe.calib_layers).to(device)
    synth = synth or IllumSynth(recipe.synth, "train", seed=recipe.seed)
    params = [*net.parameters(), *calib.parameters()]
    opt = torch.optim.Adam(params, lr=recipe.lr, betas=(0.9, 0.999),
                           weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, recipe))
    batches = torch.utils.data.BatchSampler(range(recipe.steps * recipe.batch), recipe.batch,
                                            drop_last=False)
    loader = torch.utils.data.DataLoader(_Crops(synth), batch_sampler=batches,
                                         num_workers=recipe.workers)
    log(f"train {recipe.name}: {count_params(net)} params (+{count_params(calib)} in the "
        f"calibration module, training only), {recipe.steps} steps x {recipe.batch} crops of "
        f"{recipe.synth.crop}^2 from {len(synth.real)} dark + {len(synth.clean)} clean images "
        f"on {device}")
    losses: list[float] = []
    t0 = time.perf_counter()
    net.train()
    calib.train()
    for step, x in enumerate(loader):
        loss = sci_loss(net, calib, x.to(device), recipe)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % recipe.log_every == 0 or step + 1 == recipe.steps:
            recent = losses[-recipe.log_every:]
            ms = 1000 * (time.perf_counter() - t0) / (step + 1)
            log(f"  step {step + 1}/{recipe.steps}  loss {sum(recent) / len(recent):.5f}  "
                f"lr {sched.get_last_lr()[0]:.2e}  {ms:.0f} ms/step")
    ms_per_step = 1000 * (time.perf_counter() - t0) / max(1, len(losses))
    return IllumTrainResult(net.eval(), losses, ms_per_step, device,
                            time.perf_counter() - t_start)


class _Crops(torch.utils.data.Dataset):
    def __init__(self, synth: IllumSynth) -> None:
        self.synth = synth

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, i: int) -> Tensor:
        return self.synth[i]


def load_illum_recipe(path: str | Path, **overrides: Any) -> IllumRecipe:
    """An :class:`IllumRecipe` from TOML (``configs/train/illumination.toml``)."""
    recipe: IllumRecipe = load_recipe(path, cls=IllumRecipe, **overrides)
    return recipe


def run(args: argparse.Namespace) -> int:
    """``nightvid train illumination``: train, evaluate against the global gain, save + card.

    Reads the common ``nightvid train`` options (``--config``, ``--steps``, ``--batch``,
    ``--workers``, ``--device``, ``--out``, ``--threads``); ``--eval 0`` skips the evaluation.
    """
    from .evaluate_illumination import evaluate_illumination
    from .small_cards import write_illumination_card

    t_command = time.perf_counter()
    path = Path(args.config) if getattr(args, "config", None) else recipe_path(args.name)
    recipe = load_illum_recipe(path, steps=getattr(args, "steps", None),
                               batch=getattr(args, "batch", None),
                               workers=getattr(args, "workers", None),
                            threads=getattr(args, "threads", None))
    device = getattr(args, "device", None) or "cpu"
    torch.set_num_threads(recipe.threads)  # evaluation and timings too (the card says so)
    result = train(recipe, device=device)
    net = result.net.to("cpu")
    figures = evaluate_illumination(net, data=recipe.synth.data) \
        if getattr(args, "eval", 1) else {}
    out = Path(args.out) if getattr(args, "out", None) else Path("models") / \
        f"{recipe.name}.safetensors"
    save_net(net, out, recipe=recipe.to_dict(), recipe_file=str(path), device=device,
             ms_per_step=round(result.ms_per_step, 2), figures=figures)
    card = write_illumination_card(out, recipe, result, figures, time.perf_counter() - t_command)
    print(f"saved {out} and {card} ({result.wall_s:.0f} s)")
    return 0
