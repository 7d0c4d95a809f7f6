"""Stream speed: 4K raw in, 1080p out, per frame and per stage, on the CPU or a GPU.

    python3 benchmarks/stream_speed.py --profiles fast default --compile on off
    python3 benchmarks/stream_speed.py --device cuda --profiles fast default --end-to-end

A synthetic 4K (3840x2160) 14-bit night raw clip (nightvid's own synthesis; a slow pan, so
the temporal filter's motion search does real work) runs through the stream pipeline with the
temporal filter on. For every profile and compile setting it prints:

* ``host``: milliseconds per frame from mosaics already decoded into host memory (upload,
  render, and the display frame brought back to the host as 8-bit, as the encoder wants it);
* ``device``: the same from mosaics already resident on the GPU (CUDA only);
* a per-stage breakdown from a separate pass that synchronises after every stage;
* with ``--end-to-end``: the engine reading a DNG sequence from disk (parallel LibRaw decode)
  and encoding H.264 1080p, frames per second of the whole run.

Figures are medians over the measured frames after ``--warmup`` frames (compilation and
first-call allocations happen there). Nothing is asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nightvid.api import resolve_overrides
from nightvid.config import load_config, parse_set
from nightvid.pipeline import Pipeline
from nightvid.runtime import to_uint
from nightvid.state import StreamState
from nightvid.synth.samples import make_night_raw
from nightvid.types import RawMeta


def make_clip(n_frames: int, height: int, width: int, pan_px: int = 4,
              seed: int = 11) -> tuple[list[np.ndarray], RawMeta]:
    """``n_frames`` crops of one larger synthetic raw, panning ``pan_px`` per frame (even)."""
    margin = pan_px * n_frames
    big, meta = make_night_raw(height + 16, width + margin + 16, seed=seed)
    frames = [np.ascontiguousarray(big[8:8 + height, 8 + i * pan_px: 8 + i * pan_px + width])
              for i in range(n_frames)]
    return frames, meta


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_stream(pipe: Pipeline, frames: list[Any], meta: RawMeta, warmup: int,
                cycles: int = 1) -> list[float]:
    """Milliseconds per frame (after ``warmup``) rendering ``frames`` as one stream, the
    display brought back to the host as 8-bit RGB."""
    st = StreamState(pipe.config.stream)
    times = []
    seq = (frames * (cycles + 1))[: warmup + len(frames) * cycles]
    for i, m in enumerate(seq):
        _sync(pipe.device)
        t0 = time.perf_counter()
        display, _ = pipe.render(m, meta, st)
        to_uint(display, 8)  # .cpu(): the frame is on the host, ready for the encoder
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def stage_breakdown(cfg: Any, device: str, compile: bool, frames: list[Any], meta: RawMeta,
                    warmup: int) -> dict[str, float]:
    pipe = Pipeline(cfg, device=device, timings=True, compile=compile)
    st = StreamState(cfg.stream)
    acc: dict[str, list[float]] = {}
    for i, m in enumerate((frames * 3)[: warmup + len(frames)]):
        _, info = pipe.render(m, meta, st)
        if i >= warmup:
            for k, v in info.stage_ms.items():
                acc.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in acc.items()}


def end_to_end(profile: str, device: str, compile: bool, frames: list[np.ndarray],
               meta: RawMeta, out_size: str, workers: int) -> dict[str, float]:
    from nightvid.engine import Engine
    from nightvid.io.dng_write import write_dng
    from nightvid.sinks.base import open_sink
    from nightvid.sources import open_source

    with tempfile.TemporaryDirectory(prefix="nightvid-e2e-") as tmp:
        folder = Path(tmp) / "clip"
        folder.mkdir()
        for i, m in enumerate(frames):
            write_dng(folder / f"frame_{i:05d}.dng", m, meta)
        overrides = resolve_overrides(size=out_size, device=device)
        overrides["engine.decode_workers"] = workers
        cfg = load_config(profile, overrides)
        engine = Engine(cfg, device=device)
        engine.pipeline.kernels.enabled = compile
        # Warm-up pass (compilation), then the measured pass.
        for label in ("warmup", "measured"):
            with open_source(folder, fps=24) as src, open_sink(
                    Path(tmp) / f"{label}.mp4", fps=src.fps or 24, codec="h264") as sink:
                t0 = time.perf_counter()
                summary = engine.run(src, sink, progress=False)
                wall = time.perf_counter() - t0
        return {"frames": summary.frames, "wall_s": wall, "fps": summary.frames / wall,
                "decode_ms": summary.decode_ms}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--profiles", nargs="+", default=["fast", "default"],
                    help="profiles, each NAME or NAME@key=value,key=value (config overrides), "
                         "e.g. default@denoise.method=net,refine.enabled=true")
    ap.add_argument("--compile", nargs="+", default=["on", "off"], choices=["on", "off"])
    ap.add_argument("--frames", type=int, default=12, help="distinct frames in the clip")
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--cycles", type=int, default=1, help="passes over the clip to time")
    ap.add_argument("--raw-size", default="3840x2160")
    ap.add_argument("--out-size", default="1920x1080")
    ap.add_argument("--end-to-end", action="store_true")
    ap.add_argument("--workers", type=int, default=2, help="decode workers (end to end)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    w, h = (int(v) for v in args.raw_size.split("x"))
    t0 = time.perf_counter()
    frames, meta = make_clip(args.frames, h, w)
    dev = torch.device(args.device)
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
    print(f"# nightvid stream speed: {w}x{h} raw -> {args.out_size}, {len(frames)} frames "
          f"(synthesised in {time.perf_counter() - t0:.1f} s), torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, device {gpu or args.device}")
    print(f"# command: python3 {' '.join(sys.argv)}")
    results: list[dict[str, Any]] = []
    for variant in args.profiles:
        # "NAME" or "NAME@key=value,key=value": a profile with config overrides.
        profile, _, sets = variant.partition("@")
        extra = parse_set(sets.split(",")) if sets else {}
        cfg = load_config(profile, {**resolve_overrides(size=args.out_size, device=args.device),
                                    **extra})
        for comp in args.compile:
            compile = comp == "on"
            row: dict[str, Any] = {"profile": variant, "compile": compile}
            pipe = Pipeline(cfg, device=args.device, compile=compile)
            host = time_stream(pipe, frames, meta, args.warmup, args.cycles)
            row["host_ms"] = statistics.median(host)
            if dev.type == "cuda":
                resident = [torch.from_numpy(f).to(dev) for f in frames]
                pipe = Pipeline(cfg, device=args.device, compile=compile)
                row["device_ms"] = statistics.median(
                    time_stream(pipe, resident, meta, args.warmup, args.cycles))
                del resident
            row["stages_ms"] = stage_breakdown(cfg, args.device, compile, frames, meta,
                                               args.warmup)
            if args.end_to_end:
                row["end_to_end"] = end_to_end(profile, args.device, compile, frames, meta,
                                               args.out_size, args.workers)
            results.append(row)
            _print_row(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _print_row(r: dict[str, Any]) -> None:
    dev = f", device-resident {r['device_ms']:.2f} ms" if "device_ms" in r else ""
    print(f"\nprofile {r['profile']} compile {'on ' if r['compile'] else 'off'}: "
          f"{r['host_ms']:.2f} ms/frame from host memory ({1e3 / r['host_ms']:.1f} fps){dev}")
    stages = r["stages_ms"]
    print("  stages (synchronised): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
          + f"; sum {sum(stages.values()):.2f} ms")
    if "end_to_end" in r:
        e = r["end_to_end"]
        print(f"  end to end (DNG folder -> H.264 mp4): {e['frames']} frames in "
              f"{e['wall_s']:.2f} s = {e['fps']:.1f} fps; decode {e['decode_ms']:.1f} ms/frame "
              "per worker")


if __name__ == "__main__":
    raise SystemExit(main())
