"""Temporal filter quality on synthetic noisy raw video with ground truth (issue 4).

    python3 benchmarks/temporal_quality.py [--clip PATH ...] [--frames N] [--size WxH]
                                           [--ratio 100] [--seed 0] [--warmup 4] [--json]

For each clean clip (default: every clip of ``clean/video/`` in the shared data,
``$NIGHTVID_DATA`` or ``<repo>/../shared/data``; missing ones are skipped):

1. :func:`nightvid.synth.video.noisy_raw_clip` unprocesses the clean frames to a Sony A7S2
   RGGB mosaic, darkens it ``ratio`` x and adds ELD-calibrated noise drawn independently in
   every frame. Its clean counterpart is the *same* dark exposure without noise:
   ``clean / ratio * (white - black) + black`` as float DN, with the same metadata.
2. Three renders, each a stream (one :class:`~nightvid.state.StreamState` per run), default
   profile otherwise:

   * **ref**: "the same pipeline run on the clean raw": the same profile with the temporal
     filter off, fed the clean raw with metadata that says it is noise-free (noise profile
     (0, 0)), so the denoiser's thresholds are zero. The denoiser is not an identity even
     then (it suppresses isolated extremes and works on chroma at half resolution), so the
     reference keeps what the pipeline does to any input and the figures measure what noise
     costs. ``--reference ideal`` renders it with the denoiser off instead: that adds the
     denoiser's own detail loss to every error (it caps PSNR at 21-36 dB on these clips at
     these sizes, whatever the noise) and so compresses the gains.
   * **per-frame**: the noisy raw, temporal filter off.
   * **temporal**: the noisy raw, temporal filter on.

   *Global decisions are taken from the reference run.* Every cached estimate of the stream
   state (white-balance gains, amplification, contrast levels, sky mask) is recorded frame by
   frame while rendering the reference and replayed in the two noisy runs, so the three runs
   differ only in their pixels and the figures measure the temporal filter, not how the
   exposure or WB estimators cope with noise (``test_stream_stability.py`` covers those).
   ``--own-decisions`` lets each noisy run estimate its own instead.

Figures, all in the display domain (the pipeline's (1, 3, H, W) sRGB output in [0, 1]), on
frames ``t >= warmup`` (default 4: the filter's memory starts empty and needs a few frames to
fill, which happens once per shot; the all-frames PSNR is printed too):

* **PSNR**: mean over frames of ``10 log10(1 / MSE(frame_t, ref_t))``, all pixels and channels.
* **moving PSNR**: ``10 log10(1 / MSE)`` pooled over the moving pixels of all frames: pixel p of
  frame t is moving when it is *not* in ``static_mask(clean, 0.02)[t - 1]`` (some channel of
  the clean clip changed by 0.02 or more between t - 1 and t). This is where a temporal filter
  would ghost or smear.
* **flicker**: ``F(X) = mean |X_t - X_{t-1}|`` over every channel and every pixel of
  ``static_mask(clean, 0.02, radius=2)[t - 1]`` (static, and static within 2 px), pooled over
  the frame pairs with ``t - 1 >= warmup``; reported relative to the reference's ``F(ref)``
  (1.0 = as steady as the clean render; what is left in ``F(ref)`` is the clip's own small
  changes and compression noise). The criterion: temporal's relative flicker at most half of
  per-frame's.

Issue 4's targets: temporal beats per-frame by >= 2 dB PSNR, at most half its flicker, and is
not worse in moving regions. ``tests/test_temporal_quality.py`` asserts conservative versions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nightvid.config import load_config, parse_set
from nightvid.pipeline import Pipeline
from nightvid.state import StreamState
from nightvid.synth.video import clean_clip, noisy_raw_clip, static_mask
from nightvid.train.pairs import CACHES, Recorder, Replay
from nightvid.types import RawMeta

_REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = tuple(f"clean/video/{c}" for c in (
    "bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4", "realshort.mp4", "frames_640x360"))
def data_dir() -> Path:
    """``$NIGHTVID_DATA``, else ``<repo>/../shared/data`` (the tests' convention)."""
    env = os.environ.get("NIGHTVID_DATA")
    return Path(env) if env else (_REPO.parent / "shared" / "data").resolve()


def render_stream(pipe: Pipeline, mosaics: np.ndarray, meta: RawMeta,
                  setup: Callable[[StreamState], None] | None = None) -> np.ndarray:
    """Render ``mosaics`` (T, H, W) as one stream; returns (T, H, W, 3) float32 display.

    ``setup`` may swap the fresh state's caches for stand-ins (recorders or replays).
    """
    st = StreamState(pipe.config.stream)
    if setup is not None:
        setup(st)
    frames = []
    for mosaic in mosaics:
        display, _ = pipe.render(mosaic, meta, st)
        frames.append(display[0].permute(1, 2, 0).float().cpu().numpy())  # (3,H,W) -> (H,W,3)
    return np.stack(frames)


def psnr(mse: float) -> float:
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


@dataclass
class Figures:
    """Quality of one noisy run against the reference."""

    psnr_db: float
    psnr_all_db: float  # warm-up frames included
    moving_psnr_db: float
    flicker: float  # F(X), display units
    flicker_rel: float  # F(X) / F(ref)


def flicker(x: np.ndarray, mask: np.ndarray, warmup: int) -> float:
    """Mean |x_t - x_{t-1}| over ``mask[t-1]`` (T-1, H, W) and channels, for t - 1 >= warmup."""
    diff = np.abs(np.diff(x, axis=0)).mean(axis=-1)[warmup:]  # (T-1-warmup, H, W)
    m = mask[warmup:]
    return float((diff * m).sum() / max(m.sum(), 1))


def evaluate(x: np.ndarray, ref: np.ndarray, clean_srgb: np.ndarray, warmup: int) -> Figures:
    """Figures of a run ``x`` against ``ref`` (both (T, H, W, 3) display); see the docstring."""
    se = np.square(x - ref).mean(axis=-1)  # (T,H,W) squared error, mean over channels
    per_frame = [psnr(float(s.mean())) for s in se]
    moving = ~static_mask(clean_srgb, 0.02)  # (T-1,H,W): changed between t-1 and t
    mv = moving[max(warmup, 1) - 1:]
    mv_se = se[max(warmup, 1):]
    steady = static_mask(clean_srgb, 0.02, radius=2)
    f_x, f_ref = flicker(x, steady, warmup), flicker(ref, steady, warmup)
    return Figures(
        psnr_db=float(np.mean(per_frame[warmup:])), psnr_all_db=float(np.mean(per_frame)),
        moving_psnr_db=psnr(float((mv_se * mv).sum() / max(mv.sum(), 1))),
        flicker=f_x, flicker_rel=f_x / max(f_ref, 1e-12))


@dataclass
class ClipResult:
    clip: str
    frames: int
    size: tuple[int, int]  # (width, height)
    moving_share: float  # fraction of pixels counted as moving (t >= warmup)
    static_share: float  # fraction counted as steady for the flicker figure
    ref_flicker: float
    runs: dict[str, Figures] = field(default_factory=dict)
    seconds: float = 0.0


def fit_size(shape: tuple[int, int], box: tuple[int, int] = (640, 360)) -> tuple[int, int]:
    """(width, height) of a (h, w) frame shrunk to fit ``box`` (w, h), both even."""
    h, w = shape
    s = min(1.0, box[0] / w, box[1] / h)
    return (max(16, int(w * s) // 2 * 2), max(16, int(h * s) // 2 * 2))


def run_clip(clean_srgb: np.ndarray, *, ratio: float = 100.0, seed: int = 0, warmup: int = 4,
             own_decisions: bool = False, reference: str = "same", profile: str = "default",
             overrides: dict[str, Any] | None = None, name: str = "clip") -> ClipResult:
    """The three renders of one clean clip (T, H, W, 3) and their figures."""
    t0 = time.perf_counter()
    noisy, clean, meta = noisy_raw_clip(clean_srgb, ratio=ratio, seed=seed)
    black, white = meta.black_level[0], meta.white_level
    clean_dn = (clean / ratio * (white - black) + black).astype(np.float32)
    base = {"runtime.device": "cpu", **(overrides or {})}

    def pipe(**kw: Any) -> Pipeline:
        return Pipeline(load_config(profile, {**base, **kw}))

    recorders: dict[str, Recorder] = {}

    def record(st: StreamState) -> None:
        for n in CACHES:
            recorders[n] = Recorder(getattr(st, n))
            setattr(st, n, recorders[n])

    def replay(st: StreamState) -> None:
        for n in CACHES:
            setattr(st, n, Replay(recorders[n].values))

    if reference == "same":
        ref = render_stream(pipe(**{"temporal.enabled": False}), clean_dn,
                            dataclasses.replace(meta, noise_profile=(0.0, 0.0)), record)
    else:
        ref = render_stream(pipe(**{"temporal.enabled": False, "denoise.enabled": False}),
                            clean_dn, meta, record)
    setup = None if own_decisions else replay
    per_frame = render_stream(pipe(**{"temporal.enabled": False}), noisy, meta, setup)
    temporal = render_stream(pipe(**{"temporal.enabled": True}), noisy, meta, setup)
    steady = static_mask(clean_srgb, 0.02, radius=2)
    res = ClipResult(
        clip=name, frames=len(noisy), size=(noisy.shape[2], noisy.shape[1]),
        moving_share=float((~static_mask(clean_srgb, 0.02))[max(warmup, 1) - 1:].mean()),
        static_share=float(steady[warmup:].mean()), ref_flicker=flicker(ref, steady, warmup))
    res.runs["per-frame"] = evaluate(per_frame, ref, clean_srgb, warmup)
    res.runs["temporal"] = evaluate(temporal, ref, clean_srgb, warmup)
    res.seconds = time.perf_counter() - t0
    return res


def table(results: list[ClipResult]) -> str:
    head = (f"{'clip':<22} {'run':<10} {'PSNR dB':>8} {'(all)':>7} {'moving dB':>10} "
            f"{'flicker/ref':>12}")
    lines = [head, "-" * len(head)]
    for r in results:
        for run, f in r.runs.items():
            lines.append(f"{r.clip:<22} {run:<10} {f.psnr_db:8.2f} {f.psnr_all_db:7.2f} "
                         f"{f.moving_psnr_db:10.2f} {f.flicker_rel:12.2f}")
        pf, tf = r.runs["per-frame"], r.runs["temporal"]
        lines.append(f"{'':<22} {'gain':<10} {tf.psnr_db - pf.psnr_db:+8.2f} "
                     f"{tf.psnr_all_db - pf.psnr_all_db:+7.2f} "
                     f"{tf.moving_psnr_db - pf.moving_psnr_db:+10.2f} "
                     f"{tf.flicker_rel / pf.flicker_rel:11.2f}x")
        lines.append(f"{'':<22} ({r.frames} frames {r.size[0]}x{r.size[1]}, moving "
                     f"{100 * r.moving_share:.0f} %, steady {100 * r.static_share:.0f} %, "
                     f"F(ref) {r.ref_flicker:.4f}, {r.seconds:.0f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", action="append", help="clean video file or frame folder "
                    "(repeatable; relative paths are tried in the shared data first)")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", help="WxH (default: the clip fitted into 640x360)")
    ap.add_argument("--ratio", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--reference", choices=("same", "ideal"), default="same",
                    help="same: the pipeline on the clean raw (noise-free metadata); "
                    "ideal: also with the denoiser off")
    ap.add_argument("--own-decisions", action="store_true",
                    help="noisy runs estimate WB/exposure/levels/sky themselves")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every run, e.g. temporal.max_frames=12")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: small frames gain little from more, and a shared "
                    "machine loses a lot)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for c in args.clip or DEFAULT_CLIPS:
        path = Path(c) if Path(c).exists() else data_dir() / c
        if not path.exists():
            print(f"skipped {c}: not found (set NIGHTVID_DATA to the shared data folder)",
                  file=sys.stderr)
            continue
        if args.size:
            w, h = (int(v) for v in args.size.lower().split("x"))
        else:
            probe = clean_clip(path, 1)
            w, h = fit_size(probe.shape[1:3])
        clip = clean_clip(path, args.frames, size=(h, w))
        results.append(run_clip(clip, ratio=args.ratio, seed=args.seed, warmup=args.warmup,
                                own_decisions=args.own_decisions, reference=args.reference,
                                profile=args.profile,
                                overrides=parse_set(args.set), name=path.name))
    cmd = "python3 " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    if args.json:
        print(json.dumps({"command": cmd, "results": [
            {**{k: v for k, v in vars(r).items() if k != "runs"},
             "runs": {k: vars(f) for k, f in r.runs.items()}} for r in results]}, indent=2))
    else:
        print(f"$ {cmd}\n{table(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
