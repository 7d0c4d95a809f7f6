"""Model cards: where every checkpoint's card lives (:func:`card_paths`) and the one writer
(:func:`write_card`); the white-balance and illumination cards' content.

Each card states the data, the recipe, parameters, FLOPs, CPU milliseconds at 720p and 1080p
(measured in the training process right after training), the validation figures of the same
run, the command that reproduces the checkpoint, the nightvid version and the date.
"""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path
from typing import Any

import torch

from .. import __version__

__all__ = ["card_paths", "illumination_markdown", "wb_markdown", "write_card",
           "write_illumination_card", "write_wb_card"]

WB_DATA = (
    "Camera-RGB thumbnails synthesised from ../shared/data/clean (CBSD68, McMaster and every "
    "4th of the first 40 frames of the 5 clean clips; training split by sha1(name) % 100 >= 20 "
    "for images, the first three quarters of each clip): random crop (50-100 % of the short "
    "side) resized to 128^2, rotated/flipped, unprocessed (inverse smoothstep + sRGB gamma, "
    "inverse XYZ->camera matrix of one of 15 real cameras, colour cast of a random 2000-8000 K "
    "illuminant with a small tint, exposure 0.25-1), RGGB mosaic, darkened x1..x300 with ELD or "
    "darktable noise, the noise residual divided by sqrt(n), n = 1..256 (a thumbnail pixel "
    "averages many cleaned samples), packed, G averaged: 64x64 thumbnails. Target: the "
    "illuminant's camera neutral."
)

ILLUMINATION_DATA = (
    "Self-supervised (no targets): 64x64 crops, rotated/flipped, of (a) the real dark sRGB "
    "images of ../shared/data/lowlight_srgb (SCI easy/medium/difficult/finetune, LIME, LOL; "
    "duplicates dropped; training split by sha1(name) % 100 >= 20) and (b) the clean images and "
    "every 4th of the first 40 frames of the 5 clean clips (training split), darkened in sRGB: "
    "linear exposure x0.02..x0.3, gamma 1..1.6 on the encoded values, Gaussian noise std "
    "0..0.02, 8-bit quantisation; half of the crops from each. All images area-resized (in "
    "linear light) to a long side of 320 px, near the scale at which the pipeline runs the "
    "block (a thumbnail of long side 256)."
)


def _timing(rec: dict) -> str:
    tr = rec["training"]
    out = (f"{tr['steps']} steps, {tr['ms_per_step']} ms/step, training {tr['wall_s']:.0f} s "
           f"wall on {tr['device']} with {rec['recipe']['threads']} thread(s)")
    if tr.get("command_wall_s"):
        out += f"; the whole command with evaluation {tr['command_wall_s']:.0f} s"
    return out + ", on a 2-core CPU shared with other jobs"


def _env() -> dict[str, Any]:
    return {"cpu_threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine()}


def card_paths(ckpt: str | Path) -> tuple[Path, Path]:
    """``(<name>.card.json, <name>.card.md)`` beside ``<name>.safetensors`` (not
    ``<name>.json``: that is how nightvid names a raw file's metadata sidecar)."""
    ckpt = Path(ckpt)
    stem = ckpt.with_suffix("").name
    return ckpt.with_name(f"{stem}.card.json"), ckpt.with_name(f"{stem}.card.md")


def write_card(ckpt: str | Path, rec: dict, markdown: str) -> Path:
    """Write ``rec`` and ``markdown`` as the checkpoint's card (:func:`card_paths`); returns
    the Markdown path."""
    js, md = card_paths(ckpt)
    js.write_text(json.dumps(rec, indent=2) + "\n")
    md.write_text(markdown)
    return md


def write_wb_card(ckpt: str | Path, recipe: Any, result: Any, figures: dict,
                  command_s: float | None = None) -> Path:
    """The white-balance estimator's card (speed measured here, on the CPU); ``command_s``:
    the wall seconds of the whole ``nightvid train`` run so far (training and evaluation)."""
    from ..nets.wb import count_params, flops_per_mpix
    from .evaluate_wb import time_wb

    net = result.net.to("cpu").eval()
    t = net.spec.thumb
    rec = {
        "checkpoint": Path(ckpt).name, "net": net.KIND, "spec": net.spec.to_dict(),
        "params": count_params(net),
        "mflops_per_mpix_thumbnail": round(flops_per_mpix(net) / 1e6, 1),
        "mflops_per_frame": round(flops_per_mpix(net) * t * t / 1e12, 3),
        "data": WB_DATA, "recipe": recipe.to_dict(),
        "training": {"device": result.device, "steps": len(result.losses),
                     "ms_per_step": round(result.ms_per_step, 1),
                     "wall_s": round(result.wall_s, 1),
                     "command_wall_s": None if command_s is None else round(command_s, 1),
                     "final_loss_deg": round(sum(result.losses[-100:]) /
                                             max(1, len(result.losses[-100:])), 3)},
        "validation": figures,
        "speed_cpu_ms": {**_env(), **time_wb(net)},
        "nightvid_version": __version__, "date": datetime.date.today().isoformat(),
        "reproduce": f"nightvid train {recipe.name}",
    }
    return write_card(ckpt, rec, wb_markdown(rec))


def write_illumination_card(ckpt: str | Path, recipe: Any, result: Any, figures: dict,
                            command_s: float | None = None) -> Path:
    """The SCI illumination block's card (speed from ``figures``, measured on the CPU)."""
    from ..nets.illumination import count_params, flops_per_mpix

    net = result.net.to("cpu").eval()
    rec = {
        "checkpoint": Path(ckpt).name, "net": net.KIND, "spec": net.spec.to_dict(),
        "params": count_params(net),
        "mflops_per_mpix": round(flops_per_mpix(net) / 1e6, 1),
        "mflops_per_frame_256x144": round(flops_per_mpix(net) * 256 * 144 / 1e12, 2),
        "data": ILLUMINATION_DATA, "recipe": recipe.to_dict(),
        "training": {"device": result.device, "steps": len(result.losses),
                     "ms_per_step": round(result.ms_per_step, 1),
                     "wall_s": round(result.wall_s, 1),
                     "command_wall_s": None if command_s is None else round(command_s, 1),
                     "final_loss": round(sum(result.losses[-100:]) /
                                         max(1, len(result.losses[-100:])), 5)},
        "validation": figures, "env": _env(),
        "nightvid_version": __version__, "date": datetime.date.today().isoformat(),
        "reproduce": f"nightvid train {recipe.name}",
    }
    return write_card(ckpt, rec, illumination_markdown(rec))


def wb_markdown(rec: dict) -> str:
    """The white-balance card's Markdown from its JSON record."""
    from .evaluate_wb import format_wb

    t = rec["spec"]["thumb"]
    sp = rec["speed_cpu_ms"]
    methods = list(sp["720p"])
    lines = [
        f"# {rec['checkpoint']}: white-balance estimator (FC4-style, confidence-weighted)", "",
        f"- parameters: {rec['params']:,}",
        f"- FLOPs: {rec['mflops_per_mpix_thumbnail']} M per thumbnail MPix; the thumbnail is "
        f"{t} px on its long side whatever the frame size: {rec['mflops_per_frame']} MFLOP "
        "per estimate",
        f"- architecture: {rec['spec']}",
        f"- reproduce: `{rec['reproduce']}` ({_timing(rec)})",
        f"- nightvid {rec['nightvid_version']}, {rec['date']}", "", "## Data", "", WB_DATA, "",
    ]
    if rec["validation"]:
        lines += ["## Validation", "", format_wb(rec["validation"]), "",
                  "`net` is the pipeline's automatic estimate with `white_balance.estimator = "
                  "\"net\"`, `grayness_index` its automatic estimate with `estimator = "
                  "\"grayness\"` (either is then fused with the as-shot neutral when there is "
                  "one); `net+gi` (the two fused by the net's confidence) is a reference the "
                  "pipeline does not use: it measured worse than the net alone.", ""]
    lines += [f"## CPU ms per estimate ({sp['cpu_threads']} thread(s), {sp['cpu']}; camera-RGB "
              "frame in, thumbnail included)", "",
              "| size | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(str(sp[k][m]) for m in methods) + " |"
              for k in ("720p", "1080p")]
    lines += ["", "## Recipe", "", "```json", json.dumps(rec["recipe"], indent=2), "```", ""]
    return "\n".join(lines)


def illumination_markdown(rec: dict) -> str:
    """The illumination card's Markdown from its JSON record."""
    from .evaluate_illumination import format_illumination

    lines = [
        f"# {rec['checkpoint']}: SCI illumination block (RGB path)", "",
        f"- parameters: {rec['params']:,} (the self-calibration module of training is not "
        "shipped)",
        f"- FLOPs: {rec['mflops_per_mpix']} M per MPix of the block's input; the pipeline runs it "
        f"on a thumbnail of long side 256 ({rec['mflops_per_frame_256x144']} MFLOP for a 16:9 "
        "frame, whatever its size)",
        f"- architecture: {rec['spec']}",
        f"- reproduce: `{rec['reproduce']}` ({_timing(rec)})",
        "- use: `illumination.method = \"sci\"` (RGB path), `illumination.strength` blends it",
        f"- nightvid {rec['nightvid_version']}, {rec['date']}", "", "## Data", "",
        ILLUMINATION_DATA, "",
    ]
    if rec["validation"]:
        lines += ["## Validation and speed (same run; `global` = the same pipeline without the "
                  "illumination stage; `sci` at illumination.strength = "
                  f"{rec['validation'].get('strength', '?')}, the default)", "",
                  format_illumination(rec["validation"]), ""]
    lines += ["## Recipe", "", "```json", json.dumps(rec["recipe"], indent=2), "```", ""]
    return "\n".join(lines)
