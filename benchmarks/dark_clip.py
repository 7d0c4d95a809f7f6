"""Make a dark, noisy sRGB clip from a clean one: the input for measuring the live preview.

    python3 benchmarks/dark_clip.py ../shared/data/clean/video/bigbuckbunny.mp4 dark_720p.mp4

Each frame is linearised (sRGB EOTF), scaled by ``--gain`` (a night exposure), given Gaussian
read noise of ``--noise`` (in 8-bit code values after encoding) and re-encoded as H.264 at the
source's size and rate: what a phone or webcam records in the dark, no longer raw.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np


def darken(rgb: np.ndarray, gain: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> the same scene ``gain`` times darker, with read noise."""
    x = rgb.astype(np.float32) / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) * gain
    enc = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    out = enc * 255.0 + rng.normal(0.0, noise, enc.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--gain", type=float, default=0.03, help="linear exposure factor")
    ap.add_argument("--noise", type=float, default=2.0, help="noise sigma, 8-bit codes")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with av.open(str(args.source)) as src, av.open(str(args.output), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream("libx264", rate=vin.average_rate or 24)
        cc = vin.codec_context
        vout.width, vout.height, vout.pix_fmt = cc.width, cc.height, "yuv420p"
        vout.options = {"crf": "18", "preset": "medium"}
        n = 0
        for frame in src.decode(vin):
            dark = darken(frame.to_ndarray(format="rgb24"), args.gain, args.noise, rng)
            for packet in vout.encode(av.VideoFrame.from_ndarray(dark, format="rgb24")):
                dst.mux(packet)
            n += 1
        for packet in vout.encode(None):
            dst.mux(packet)
    print(f"{args.output}: {n} frames, {vout.width}x{vout.height}")


if __name__ == "__main__":
    main()
