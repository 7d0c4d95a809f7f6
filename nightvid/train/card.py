"""Raw-denoiser model cards: a JSON record and a Markdown page beside the checkpoint
(:func:`~nightvid.train.small_cards.card_paths`).

The card states the data, the recipe (enough to re-run it), parameters, FLOPs per megapixel,
measured quality (validation PSNR against the baselines, same run) and speed (ms per
960x540 packed frame for each method, same process), and the nightvid version and date.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..nets.denoiser import count_params, flops_per_mpix
from .data import __doc__ as _DATA_DOC  # noqa: F401  (kept for readers: the split rule)
from .evaluate import NLM_H_PER_SIGMA, time_methods
from .small_cards import _env, card_paths, write_card

__all__ = ["SIZE_720P", "card_record", "refresh_card", "write_denoiser_card"]

#: Packed size of a 4K raw rendered to 720p (the 1080p one is time_methods' default).
SIZE_720P = (360, 640)

DATA_TEXT = (
    "Synthetic pairs from ../shared/data/clean ({sources}): "
    "unprocessed (inverse smoothstep tone + sRGB gamma, inverse XYZ->camera matrix of one of "
    "15 real cameras: 11 fitted from measured spectral sensitivities, 3 from raw sidecars, "
    "Adobe's Sony A7S2), colour cast of a random 2000-8000 K illuminant, RGGB mosaic, "
    "darkened x1..x300 (log-uniform{dark}), noise from ELD calibrations (5 cameras, Tukey read, "
    "row, 14-bit) or darktable profiles (Poisson-Gaussian). Split: images by sha1(name) % 100 < 20 "
    "-> validation; clips by time (last quarter -> validation)."
)


def _dark_text(synth: Any) -> str:
    if not synth.dark_fraction:
        return ""
    return (f"; {synth.dark_fraction:.0%} of draws from x{synth.dark_ratio:g}.."
            f"x{synth.ratio_max:g}")


def card_record(ckpt: Path, recipe: Any, result: Any, figures: dict,
                timing_device: str = "cpu") -> dict:
    """The card as a dict (what the JSON file holds)."""
    net = result.net.to("cpu")
    tail = result.losses[-50:]
    speed = time_methods(net) if timing_device == "cpu" else {}
    speed_720 = time_methods(net, size=SIZE_720P) if timing_device == "cpu" else {}
    return {
        "checkpoint": ckpt.name,
        "net": "raw_denoiser",
        "spec": net.spec.to_dict(),
        "params": count_params(net),
        "gflops_per_mpix_packed": round(flops_per_mpix(net) / 1e9, 3),
        "gflops_per_mpix_mosaic": round(flops_per_mpix(net) / 4e9, 3),
        "data": DATA_TEXT.format(sources="CBSD68 and McMaster images, and 5 clean video clips"
                                 if recipe.synth.use_video else
                                 "CBSD68 and McMaster images; no video frames",
                                 dark=_dark_text(recipe.synth)),
        "recipe": recipe.to_dict(),
        "training": {"device": result.device, "ms_per_step": round(result.ms_per_step, 1),
                     "steps": len(result.losses),
                     "final_loss": round(sum(tail) / max(1, len(tail)), 5)},
        "validation": figures,
        "speed_ms_960x540_packed": {**_env(), **speed},
        "speed_ms_640x360_packed": {**_env(), **speed_720},
        "baselines": {"opencv_nlm_h_per_sigma": NLM_H_PER_SIGMA},
        "nightvid_version": __version__,
        "date": datetime.date.today().isoformat(),
        "reproduce": f"nightvid train {recipe.name}",
    }


def write_denoiser_card(ckpt: str | Path, recipe: Any, result: Any, figures: dict) -> Path:
    """Write the checkpoint's card; returns the Markdown path."""
    ckpt = Path(ckpt)
    rec = card_record(ckpt, recipe, result, figures)
    return write_card(ckpt, rec, _markdown(rec))


def _markdown(rec: dict) -> str:
    lines = [f"# {rec['checkpoint']}: raw denoiser (packed Bayer, noise-aware)", "",
             f"- parameters: {rec['params']:,}",
             f"- FLOPs: {rec['gflops_per_mpix_packed']} G per packed MPix "
             f"({rec['gflops_per_mpix_mosaic']} G per mosaic MPix)",
             f"- architecture: {rec['spec']}",
             f"- reproduce: `{rec['reproduce']}` (recipe below; {rec['training']['steps']} steps,"
             f" {rec['training']['ms_per_step']} ms/step on {rec['training']['device']})",
             f"- nightvid {rec['nightvid_version']}, trained {rec['date']}"
             + (f", evaluated {rec['evaluated']}" if "evaluated" in rec else ""),
             "", "## Data", "",
             rec["data"], ""]
    val = rec["validation"]
    if val:
        methods = list(val["mean"])
        lines += ["## Validation: linear-raw PSNR (dB), Sony A7S2 ELD noise", "",
                  f"{val['n']} crops per condition; amplified raw clipped to [0, 1].", "",
                  "| condition | " + " | ".join(methods) + " |",
                  "|---" * (len(methods) + 1) + "|"]
        for cond, row in {**val["conditions"], "mean": val["mean"]}.items():
            lines.append(f"| {cond} | " + " | ".join(f"{row[m]:.2f}" for m in methods) + " |")
        lines.append("")
    lines += ["## Speed (ms per packed frame, best of 3, methods one after another in one "
              "process; OpenCV given torch's thread count)", ""]
    for key, label in (("speed_ms_960x540_packed", "960x540 packed (1080p output)"),
                       ("speed_ms_640x360_packed", "640x360 packed (720p output)")):
        sp = rec.get(key)
        if sp:
            lines += [f"{label}:", "", "| " + " | ".join(f"{k}" for k in sp) + " |",
                      "|---" * len(sp) + "|",
                      "| " + " | ".join(str(v) for v in sp.values()) + " |", ""]
    lines += ["## Recipe", "", "```json", json.dumps(rec["recipe"], indent=2), "```", ""]
    return "\n".join(lines)


def refresh_card(ckpt: str | Path, figures: dict, speed: dict, speed_720: dict) -> Path:
    """Rewrite a checkpoint's card with new validation figures and timings (``nightvid eval
    --update-cards``), keeping its data, recipe and training record; returns the .md path."""
    rec = json.loads(card_paths(ckpt)[0].read_text())
    rec.update(validation=figures, speed_ms_960x540_packed={**_env(), **speed},
               speed_ms_640x360_packed={**_env(), **speed_720},
               evaluated=datetime.date.today().isoformat())
    return write_card(ckpt, rec, _markdown(rec))
