"""Remake nightvid's synthetic sample raws: ``python3 samples/make_samples.py [--out DIR]``.

``night_street.dng``: the "street" night scene (seed 7, 1536x1024) as a Sony A7S2 at ISO 12800
would record it in a short night exposure: camera colour under a warm 3500 K light, lens
vignetting, ELD-calibrated noise, 14-bit, black 512 / white 16383. Beside it
``night_street_reference.png``, the clean scene simply tone mapped (768 wide), to compare.

Everything is seeded and computed on the CPU, so each run writes the same bytes. Nothing is
read from the shared data folder: the constants below were copied from it.
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
from nightvid.synth.noise import load_eld_noise
from nightvid.synth.scene import SceneObject, night_scene
from nightvid.synth.unprocess import unprocess_scene
from nightvid.types import RawMeta

SEED = 7
HEIGHT, WIDTH = 1024, 1536
ISO = 12800
RATIO = 25.0  # the clean exposure (radiance 1.0 -> white) is darkened 25x before the noise
EXPOSURE_S = 1 / 30  # a video frame
#: Sony ILCE-7S / ILCE-7SM2 ColorMatrix (XYZ -> camera, D65), from Adobe DNG Converter as
#: tabulated in LibRaw/dcraw (adobe_coeff, x 1e-4). Checked against the shared data:
#: srgb_from_camera(this) equals, to 1e-7, the "ccm" stored for every Sony A7S2 scene in
#: ../shared/data/noise/sid_eld_metadata/ELD_SonyA7S2.json (and SID_*.json).
SONY_A7S2_XYZ_TO_CAM = np.array([[5838, -1430, -246],
                                 [-3497, 11477, 2297],
                                 [-748, 1885, 5778]], dtype=np.float64) / 1e4
#: CIE 1931 xy of a 3500 K Planckian radiator (warm street light, sodium and LED mixed).
ILLUMINANT_XY = (0.4053, 0.3907)
#: Corner brightness of the lens (f/1.4 wide open): -1.2 EV; red falls off a little faster.
CORNER_FALLOFF = 0.45
PLANE_FALLOFF_POWER = (1.08, 1.0, 1.0, 0.96)  # R, Gr, Gb, B


def illuminant_neutral() -> tuple[float, float, float]:
    """Camera RGB of a neutral under the 3500 K light (G = 1), rounded for DNG rationals."""
    x, y = ILLUMINANT_XY
    xyz = np.array([x / y, 1.0, (1.0 - x - y) / y])
    cam = SONY_A7S2_XYZ_TO_CAM @ xyz
    return tuple(round(float(c / cam[1]), 4) for c in cam)  # type: ignore[return-value]


def vignetting_gain_map(grid: tuple[int, int] = (17, 25)) -> np.ndarray:
    """(4, 17, 25) float32 lens-shading gains (>= 1) on a corner-aligned grid, per plane.

    Falloff ``v = (1 + a r^2)^-2`` (the cos^4 law's shape), r = 1 at the frame corner.
    """
    gh, gw = grid
    yy, xx = np.meshgrid(np.linspace(-1, 1, gh), np.linspace(-1, 1, gw), indexing="ij")
    half_w, half_h = WIDTH / 2, HEIGHT / 2
    r2 = ((xx * half_w) ** 2 + (yy * half_h) ** 2) / (half_w**2 + half_h**2)
    a = CORNER_FALLOFF**-0.5 - 1.0
    v = (1.0 + a * r2) ** -2
    return np.stack([v**-p for p in PLANE_FALLOFF_POWER]).astype(np.float32)


def scene() -> np.ndarray:
    """The clean scene: (H, W, 3) linear sRGB radiance, with a car driving on the right."""
    car = SceneObject(x=0.78 * WIDTH, y=0.965 * HEIGHT, kind="car", facing=1,
                      color=(0.05, 0.12, 0.30))
    return night_scene(HEIGHT, WIDTH, seed=SEED, objects=[car], variant="street")


def render_raw(lin_srgb: np.ndarray) -> tuple[np.ndarray, RawMeta]:
    """Unprocess, vignette, darken and add A7S2 noise: (H, W) uint16 DN and its RawMeta."""
    noise = load_eld_noise("SonyA7S2", iso=ISO, ratio=RATIO)
    meta = RawMeta(
        black_level=(512.0,) * 4, white_level=16383.0, cfa="RGGB",
        as_shot_neutral=illuminant_neutral(), color_matrix_1=SONY_A7S2_XYZ_TO_CAM,
        cct_1=6504.0, noise_profile=noise.profile(), iso=float(ISO), exposure_s=EXPOSURE_S,
        gain_map=vignetting_gain_map(), camera="ILCE-7SM2 synthetic",
        source="samples/make_samples.py",
    )
    lin = torch.from_numpy(lin_srgb).permute(2, 0, 1)[None]  # (H,W,3) -> (1,3,H,W)
    clean = unprocess_scene(lin, meta, exposure_scale=1.0, clip=False)[0, 0].double().numpy()
    dn = noise.apply(clean, np.random.default_rng(SEED))
    return dn.astype(np.uint16), meta


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
    lin = scene()
    mosaic, meta = render_raw(lin)
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
