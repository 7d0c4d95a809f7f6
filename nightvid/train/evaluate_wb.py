"""Evaluate white-balance estimators side by side on the validation split (same inputs, same run).

**Data**: every validation image and clip frame of :mod:`nightvid.train.wb_data` (images by
hash, clips by time), whole (linearised at short side 256), each under ``per_image`` random
(camera, 2000-8000 K light, exposure, darkening ratio x1..x300 with calibrated noise, noise
averaging n = 1..256) draws, seeded: ``default_rng((seed, 1, image, draw))``.

**Methods**, all on the same camera RGB (the packed planes, G averaged, un-amplified):

- ``net``: the :class:`~nightvid.nets.wb.WBNet` on its thumbnail: the pipeline's automatic
  estimate with ``white_balance.estimator = "net"``;
- ``grayness_index``: the pipeline's automatic estimate with ``estimator = "grayness"``
  (:func:`~nightvid.isp.white_balance.grayness_index`, ``gi_percent`` of
  :class:`~nightvid.config.WhiteBalanceConfig`);
- ``gray_world``: the mean colour;
- ``net+gi`` (reference, not used by the pipeline): the net and the grayness index fused by
  a geometric mean weighted by the net's confidence (:func:`~nightvid.nets.wb.fuse_neutrals`).

**Metric**: recovery angular error in degrees between the estimated and true camera neutral;
median, mean, mean of the best and of the worst 25 % (the colour-constancy convention).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ..config import WhiteBalanceConfig
from ..isp.white_balance import gray_world, grayness_index
from ..nets.wb import WBNet, angular_error_deg, estimate_neutral, fuse_neutrals
from .wb_data import WBDataConfig, WBSample, WBSynth, linear_bank

__all__ = ["evaluate_wb", "format_wb", "summarise", "time_wb", "validation_samples"]

VAL_SHORT_SIDE = 256


def validation_samples(per_image: int = 16, seed: int = 0, data: str = "") -> list[WBSample]:
    """The seeded validation samples (see the module doc), whole images of varying size."""
    cfg = WBDataConfig(data=data)
    synth = WBSynth(cfg, "val", seed, bank=linear_bank(cfg, "val", VAL_SHORT_SIDE))
    out = []
    for j, img in enumerate(synth.bank):
        for k in range(per_image):
            rng = np.random.default_rng((seed, 1, j, k))
            out.append(synth.render(img.lin, rng, img.name))
    return out


def summarise(errors: list[float] | np.ndarray) -> dict[str, float]:
    """median, mean, best-25 % and worst-25 % means of angular errors (degrees), 2 decimals."""
    e = np.sort(np.asarray(errors, np.float64))
    q = max(1, len(e) // 4)
    return {"median": round(float(np.median(e)), 2), "mean": round(float(e.mean()), 2),
            "best25": round(float(e[:q].mean()), 2), "worst25": round(float(e[-q:].mean()), 2)}


def _methods(net: WBNet | None, gi_percent: float) -> dict[str, Callable[[Tensor], Tensor]]:
    m: dict[str, Callable[[Tensor], Tensor]] = {}
    if net is not None:
        m["net"] = lambda x: estimate_neutral(net, x)[0]
    m["grayness_index"] = lambda x: grayness_index(x, gi_percent)
    m["gray_world"] = gray_world
    if net is not None:
        def fused(x: Tensor) -> Tensor:
            n, conf = estimate_neutral(net, x)
            return fuse_neutrals(n, grayness_index(x, gi_percent), conf)
        m["net+gi"] = fused
    return m


@torch.inference_mode()
def evaluate_wb(net: WBNet | None, *, per_image: int = 16, seed: int = 0, data: str = "",
                night_ratio: float = 50.0, log: Callable[[str], None] | None = print) -> dict:
    """Angular errors of the net, net+GI, grayness index and gray world on the validation split.

    Args:
        net: the estimator (None: the classical methods only).
        per_image: random draws per validation image.
        seed, data: draw seed and shared data folder.
        night_ratio: the ``night`` subset holds draws darkened at least this much.
        log: where the table goes (None: silent).
    Returns:
        ``{"n": samples, "n_night": ..., "all": {method: summary}, "night": {method: summary},
        "gi_percent": ...}``, summaries from :func:`summarise`.
    """
    gi_percent = WhiteBalanceConfig().gi_percent
    samples = validation_samples(per_image, seed, data)
    methods = _methods(net.eval() if net is not None else None, gi_percent)
    errs: dict[str, list[float]] = {k: [] for k in methods}
    for s in samples:
        x = s.cam_rgb[None]
        for name, fn in methods.items():
            errs[name].append(float(angular_error_deg(fn(x), s.neutral[None])[0]))
    night = [i for i, s in enumerate(samples) if s.ratio >= night_ratio]
    res = {"n": len(samples), "n_night": len(night), "per_image": per_image, "seed": seed,
           "gi_percent": gi_percent,
           "all": {k: summarise(v) for k, v in errs.items()},
           "night": {k: summarise([v[i] for i in night]) for k, v in errs.items()}}
    if log is not None:
        log(format_wb(res))
    return res


def format_wb(res: dict) -> str:
    """The figures of :func:`evaluate_wb` as a Markdown table."""
    lines = [f"White balance, validation split: {res['n']} samples ({res['n_night']} darkened "
             f">= x50), angular error in degrees", "",
             "| method | median | mean | best 25 % | worst 25 % | night median "
             "| night worst 25 % |",
             "|---|---|---|---|---|---|---|"]
    for k, v in res["all"].items():
        n = res["night"][k]
        lines.append(f"| {k} | {v['median']:.2f} | {v['mean']:.2f} | {v['best25']:.2f} | "
                     f"{v['worst25']:.2f} | {n['median']:.2f} | {n['worst25']:.2f} |")
    return "\n".join(lines)


@torch.inference_mode()
def time_wb(net: WBNet | None, sizes: tuple[tuple[int, int], ...] = ((720, 1280), (1080, 1920)),
            repeats: int = 5) -> dict[str, dict[str, float]]:
    """Best-of-``repeats`` CPU ms per estimate from a (1, 3, h, w) camera-RGB frame per size
    (the thumbnail included), for each method of :func:`evaluate_wb`."""
    gi_percent = WhiteBalanceConfig().gi_percent
    g = torch.Generator().manual_seed(0)
    out: dict[str, dict[str, float]] = {}
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=g) * 0.01
        row = {}
        for name, fn in _methods(net, gi_percent).items():
            fn(x)  # warm-up
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn(x)
                ts.append(time.perf_counter() - t)
            row[name] = round(1000 * min(ts), 2)
        out[f"{h}p"] = row
    return out
