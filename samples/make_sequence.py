"""Remake nightvid's synthetic raw clip: ``python3 samples/make_sequence.py [--out DIR]``.

Writes ``night_clip/frame_0000.dng`` .. ``frame_0023.dng``: 24 CinemaDNG-style frames, 640x360,
12-bit packed, FrameRate 24/1, TimeCodes from 01:00:00:00, made by
:func:`nightvid.synth.samples.make_night_sequence` (seed 11): a street under 3500 K light with
a pan and a car crossing, cut at frame 16 to a harbour under 5000 K; Sony A7S2 noise (ELD) at
ISO 6400, the clean exposure darkened 6x, independent in every frame. Beside them
``night_clip/clip.json``: the cut index, each shot's light and each frame's ground truth.

Everything is seeded and computed on the CPU, so each run writes the same bytes (the script
prints a digest of the folder). Nothing is read from the shared data folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from nightvid.io.dng_write import write_dng
from nightvid.synth.samples import make_night_sequence, smpte_time_code

N_FRAMES, HEIGHT, WIDTH = 24, 360, 640
SEED = 11
FPS = 24
START = (1, 0, 0, 0)  # time code of frame 0: 01:00:00:00
BITS = 12


def _tc_text(code: bytes) -> str:
    """``HH:MM:SS:FF`` of an 8-byte SMPTE time code (BCD frames, seconds, minutes, hours)."""
    f, s, m, h = (f"{b >> 4}{b & 15}" for b in code[:4])
    return f"{h}:{m}:{s}:{f}"


def write_clip(out: Path) -> tuple[list[Path], dict[str, Any]]:
    """Write the frames and ``clip.json`` into ``out`` (created); return the files and JSON."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    frames: list[dict[str, Any]] = []
    shots: dict[int, dict[str, Any]] = {}
    cut, meta = -1, None
    for mosaic, meta, info in make_night_sequence(N_FRAMES, HEIGHT, WIDTH, seed=SEED):
        code = smpte_time_code(info.index, FPS, START)
        path = write_dng(out / f"frame_{info.index:04d}.dng", mosaic, meta, bits=BITS,
                         frame_rate=Fraction(FPS, 1), time_code=code)
        files.append(path)
        row = dataclasses.asdict(info)
        cut = row.pop("cut_index")
        frames.append({"file": path.name, "time_code": _tc_text(code), **row})
        shot = shots.setdefault(info.shot, {
            "shot": info.shot, "first_frame": info.index, "variant": info.variant,
            "illuminant_cct": info.illuminant_cct, "illuminant_xy": list(info.illuminant_xy),
            "as_shot_neutral": list(meta.as_shot_neutral or ())})
        shot["last_frame"] = info.index
    if meta is None:
        raise RuntimeError("make_night_sequence yielded no frames")
    clip = {
        "what": "nightvid synthetic raw clip (samples/make_sequence.py)",
        "frames": N_FRAMES, "width": WIDTH, "height": HEIGHT, "fps": FPS, "bits": BITS,
        "black_level": meta.black_level[0], "white_level": meta.white_level, "cfa": meta.cfa,
        "cut_index": cut,
        "noise": {"camera": "Sony A7S2 (ELD calibration)", "iso": meta.iso,
                  "noise_profile": list(meta.noise_profile or ())},
        "shots": list(shots.values()),
        "per_frame": frames,
    }
    js = out / "clip.json"
    js.write_text(json.dumps(clip, indent=1) + "\n")
    return [*files, js], clip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    torch.set_num_threads(1)  # the same reduction order on every machine
    files, clip = write_clip(args.out / "night_clip")
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files) - 1} frames + clip.json, cut at frame {clip['cut_index']}, "
          f"{size / 1e6:.2f} MB ({size / 2**20:.2f} MiB), sha256 of the folder "
          f"{digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
