"""``nightvid eval``: every learned part against its classical baselines, all in one process,
on the validation split (figures for the README and the model cards).

Sections:

- ``denoiser``: linear-raw PSNR of the raw denoiser(s) vs OpenCV's fastNlMeans and nightvid's
  classical wavelet denoiser at the same point of the pipeline (Sony A7S2 ELD noise, x100 and
  x300), and each method's ms per 960x540 packed frame (a 4K raw rendered to 1080p).
- ``wb``: angular error of the WB estimator vs grayness index and gray world.
- ``pipeline``: display PSNR/SSIM of whole-pipeline variants (classical only, network
  denoiser, + refinement) against the clean render with the same decisions.
- ``illumination``: the SCI illumination net vs the global gain on the RGB path.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from ..nets.store import model_path

__all__ = ["add_parser", "run"]

SECTIONS = ("denoiser", "wb", "pipeline", "illumination")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("eval", help="score the networks against classical baselines",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("-n", type=int, default=16, help="validation crops per condition (16)")
    p.add_argument("--denoiser", default="denoiser", help="raw denoiser model (name or path)")
    p.add_argument("--teacher", default="denoiser-teacher",
                   help="also score this denoiser (name or path; skipped when missing)")
    p.add_argument("--refine", default="refine", help="refinement model")
    p.add_argument("--wb", default="wb", help="white-balance estimator model")
    p.add_argument("--illumination", default="illumination", help="illumination model")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--update-cards", action="store_true",
                   help="rewrite the denoisers' model cards with these figures")
    p.set_defaults(func=run)
    return p


def _print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    print(f"\n{title}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r)
              + " |")


def eval_denoiser(args: argparse.Namespace) -> dict[str, Any]:
    from ..nets.io import load_denoiser
    from .card import SIZE_720P, refresh_card
    from .evaluate import evaluate_denoiser, time_methods

    out: dict[str, Any] = {}
    nets = {"net": model_path(args.denoiser)}
    if args.teacher and model_path(args.teacher).is_file():
        nets["teacher"] = model_path(args.teacher)
    for label, path in nets.items():
        net = load_denoiser(path)
        figs = evaluate_denoiser(net, n_images=args.n)
        speed = time_methods(net)
        speed_720 = time_methods(net, size=SIZE_720P)
        out[label] = {"checkpoint": str(path), **figs, "ms_960x540": speed,
                      "ms_640x360": speed_720}
        if getattr(args, "update_cards", False):
            print(f"updated {refresh_card(path, figs, speed, speed_720)}")
        methods = list(figs["mean"])
        rows = [[c, *(r[m] for m in methods)] for c, r in figs["conditions"].items()]
        rows.append(["mean", *(figs["mean"][m] for m in methods)])
        _print_table(f"raw denoiser {path.name}: linear-raw PSNR (dB), {figs['n']} crops per "
                     "condition", ["condition", *methods], rows)
        print(f"ms per 960x540 packed frame (same process, {torch.get_num_threads()} threads): "
              + ", ".join(f"{k} {v}" for k, v in speed.items()))
        print("ms per 640x360 packed frame (720p output): "
              + ", ".join(f"{k} {v}" for k, v in speed_720.items()))
        gain = figs["mean"]["net"] - figs["mean"]["opencv_nlm"]
        bf16 = (f" (bf16: {speed['opencv_nlm'] / speed['net_bf16']:.1f}x)"
                if "net_bf16" in speed else "")
        print(f"{label} vs fastNlMeans: {gain:+.2f} dB, {speed['opencv_nlm'] / speed['net']:.1f}x "
              f"faster{bf16}")
    return out


def eval_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    from ..synth.noise import load_eld_noise
    from .data import SynthConfig, SynthDataset
    from .noise_profiles import eld_draw
    from .pairs import pipeline_scores

    net = {"denoise.method": "net", "denoise.model": str(model_path(args.denoiser))}
    variants = {"classical": {}, "net denoiser": net,
                "net denoiser + refine": {**net, "refine.enabled": True,
                                          "refine.model": str(model_path(args.refine))},
                "classical + refine": {"refine.enabled": True,
                                       "refine.model": str(model_path(args.refine))}}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 256^2 crops: one thread is fastest
    out: dict[str, Any] = {}
    try:
        ds = SynthDataset(SynthConfig(crop=128, use_video=False), "val", seed=0)
        for ratio in (100.0, 300.0):
            draw = eld_draw(load_eld_noise("SonyA7S2", iso=3200, ratio=ratio))
            out[f"x{ratio:g}"] = pipeline_scores(variants, ds, args.n, noise=draw)
    finally:
        torch.set_num_threads(threads)
    rows = [[k, *(out[r][k][m] for r in out for m in ("psnr", "ssim"))] for k in variants]
    _print_table(f"whole pipeline (default profile) vs the clean render, {args.n} validation "
                 "crops of 256^2 raw, Sony A7S2 ISO 3200",
                 ["variant", *(f"{r} {m}" for r in out for m in ("PSNR", "SSIM"))], rows)
    return out


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    figures: dict[str, Any] = {}
    for section in args.sections:
        if section == "denoiser":
            figures["denoiser"] = eval_denoiser(args)
        elif section == "pipeline":
            figures["pipeline"] = eval_pipeline(args)
        elif section == "wb":
            from ..nets.io import load_net
            from .evaluate_wb import evaluate_wb, time_wb

            net = load_net(model_path(args.wb), "wb_estimator")
            print(f"\nwhite balance {model_path(args.wb).name}: angular error (degrees)")
            figures["wb"] = evaluate_wb(net, per_image=args.n)
            figures["wb"]["cpu_ms"] = time_wb(net)
            print("CPU ms per estimate: " + json.dumps(figures["wb"]["cpu_ms"]))
        elif section == "illumination":
            from ..nets.io import load_net
            from .evaluate_illumination import evaluate_illumination

            net = load_net(model_path(args.illumination), "illumination")
            print(f"\nillumination {model_path(args.illumination).name} vs the global gain "
                  "(RGB path)")
            figures["illumination"] = evaluate_illumination(net)
    print(f"\nnightvid eval: {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0
