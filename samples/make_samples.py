"""Remake nightvid's synthetic sample raws: ``python3 samples/make_samples.py [--out DIR]``.

``night_street.dng``: the "street" night scene (seed 7, 1536x1024) as a Sony A7S2 at ISO 12800
would record it in a short night exposure: camera colour under a warm 3500 K light, lens
vignetting, ELD-calibrated noise, 14-bit, black 512 / white 16383. Beside it
``night_street_reference.png``, the clean scene simply tone mapped (768 wide), to compare.

The recipe lives in :mod:`nightvid.synth.samples` (``make_night_raw``), so the benchmark and
tests can make the same kind of raw at any size. Everything is seeded and computed on the CPU,
so each run writes the same bytes. Nothing is read from the shared data folder: the camera
constants were copied from it.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import cv2
import numpy as np
import torch

from nightvid.io.dng_write import write_dng
from nightvid.isp.tone import srgb_oetf, tone_curve
from nightvid.synth.samples import make_night_raw, night_photo_scene

SEED = 7
HEIGHT, WIDTH = 1024, 1536


def reference_png(lin_srgb: np.ndarray, width: int = 768) -> np.ndarray:
    """(h, 768, 3) uint8 BGR: the clean scene, x4 exposure, extended Reinhard, sRGB."""
    h = round(lin_srgb.shape[0] * width / lin_srgb.shape[1])
    small = cv2.resize(lin_srgb, (width, h), interpolation=cv2.INTER_AREA)
    lin = torch.from_numpy(small).permute(2, 0, 1)[None] * 4.0
    disp = srgb_oetf(tone_curve(lin, white_point=16.0))[0].permute(1, 2, 0).numpy()
    return np.round(disp[..., ::-1] * 255.0).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    torch.set_num_threads(1)  # the same reduction order on every machine
    mosaic, meta = make_night_raw(HEIGHT, WIDTH, seed=SEED)
    lin = night_photo_scene(HEIGHT, WIDTH, seed=SEED)  # the same clean scene, for the PNG
    dng = write_dng(args.out / "night_street.dng", mosaic, meta, bits=14)
    png = args.out / "night_street_reference.png"
    cv2.imwrite(str(png), reference_png(lin), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    norm = (mosaic.astype(np.float64) - 512.0) / (16383.0 - 512.0)
    print(f"raw mean {100 * norm.mean():.2f} % of range, saturated "
          f"{100 * np.mean(mosaic == 16383):.3f} %, neutral {meta.as_shot_neutral}")
    for p in (dng, png):
        digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        print(f"{p.name}: {p.stat().st_size / 1e6:.2f} MB sha256 {digest}")


if __name__ == "__main__":
    main()
