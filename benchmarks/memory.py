"""Peak memory of a long stream against a short one: does the engine's memory stay bounded?

Issue criterion: "Peak RSS for a 1,000-frame clip within 10 % of a 100-frame one". Each clip
runs end to end (source -> Engine.run -> H.264 .mp4, temporal filter on, default profile) in a
fresh Python process, so imports, allocator arenas and caches start equal; the peak is that
process's ``ru_maxrss``, read by the parent with ``os.wait4``. The clip is synthetic and made
lazily, frame by frame, by a small :class:`~nightvid.sources.base.FrameSource`: a dark, noisy
Sony-A7S2-like street (``nightvid.synth.samples.make_night_raw``) panned back and forth, with
fresh noise in every frame and a scene cut every 300 frames (to another scene), so motion,
the temporal filter, the caches and the cut detector all work as on real footage.

Run from the repository root (1,000 frames at 640x360 take a few minutes on 2 CPU cores)::

    python3 benchmarks/memory.py                     # N = 100 and 1000 at 640x360
    python3 benchmarks/memory.py --frames 50 200 --size 320x180 --set denoise.levels=3

It prints the measured figures and asserts nothing (benchmarks are not tests). Besides the peak,
each child samples its current RSS every 50 written frames; the fitted slope (MiB per 100
frames, with its standard error) points at a leak long before the peak ratio does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

PAN_PX = 24  # pan amplitude in pixels (even: keeps the CFA phase)
PAN_PERIOD = 96  # frames per back-and-forth pan
CUT_EVERY = 300  # frames between scene cuts
SAMPLE_EVERY = 50  # frames between RSS samples


def _rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _synthetic_clip(n: int, width: int, height: int) -> Any:
    """A FrameSource of ``n`` frames generated on demand (see the module docstring)."""
    from nightvid.sources.base import FrameSource
    from nightvid.synth.samples import make_night_raw
    from nightvid.types import Frame

    class SyntheticClip(FrameSource):
        fps = Fraction(24)
        time_base = Fraction(1, 24)
        path = Path(f"synthetic:{n}x{width}x{height}")

        def __init__(self) -> None:
            # Two scenes (a cut alternates them), with room for the pan.
            self.scenes = [make_night_raw(height + 2 * PAN_PX, width + 2 * PAN_PX, seed=s)
                           for s in (7, 3)]

        def __len__(self) -> int:
            return n

        def loaders(self) -> Iterator[Callable[[], Frame]]:
            for i in range(n):
                yield partial(self._load, i)

        def _load(self, i: int) -> Frame:
            base, meta = self.scenes[(i // CUT_EVERY) % 2]
            phase = abs((i % PAN_PERIOD) / (PAN_PERIOD / 2) - 1.0)  # triangle wave 1 -> 0 -> 1
            dx = 2 * round(phase * PAN_PX)  # even offsets keep the CFA phase
            dy = 2 * round(phase * PAN_PX / 4)
            crop = base[dy: dy + height, dx: dx + width].astype(np.float32)
            # Fresh Poisson-Gaussian noise on top of the scene's own, so frames differ.
            rng = np.random.default_rng(i)
            black, white = meta.black_level[0], meta.white_level
            shot, read = meta.noise_profile or (1e-4, 1e-6)
            x = np.clip((crop - black) / (white - black), 0.0, None)
            sigma = np.sqrt(shot * x + read) * (white - black)
            noisy = crop + sigma * rng.standard_normal(crop.shape, dtype=np.float32)
            mosaic = np.clip(np.rint(noisy), 0, white).astype(np.uint16)
            return Frame(data=mosaic, pts=i, time_base=self.time_base,
                         meta=meta.replace(timestamp_s=i / 24.0), index=i)

    return SyntheticClip()


class _SamplingSink:
    """Delegates to a sink and records (frames written, current RSS MiB) every few frames."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.samples: list[tuple[int, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)

    def write(self, display: np.ndarray, pts: int | None = None) -> None:
        self.sink.write(display, pts)
        if self.sink.frames_written % SAMPLE_EVERY == 0:
            self.samples.append((self.sink.frames_written, round(_rss_mb(), 1)))

    def close(self) -> None:
        self.sink.close()


def child(frames: int, width: int, height: int, sets: list[str]) -> None:
    """Render one synthetic clip to an .mp4 and print a JSON line of what happened."""
    from nightvid.config import load_config, parse_set
    from nightvid.engine import Engine
    from nightvid.sinks.base import open_sink

    cfg = load_config("default", parse_set(sets))
    src = _synthetic_clip(frames, width, height)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        rss_before = _rss_mb()
        t0 = time.perf_counter()
        sink = _SamplingSink(open_sink(out, fps=src.fps))
        # Per-stage timings like process_stream (the CLI path) records them.
        summary = Engine(cfg, timings=True).run(src, sink, progress=False)
        wall = time.perf_counter() - t0
        size_mb = out.stat().st_size / 2**20
    print(json.dumps({
        "frames": summary.frames, "wall_s": round(wall, 2), "fps": round(summary.fps, 2),
        "rss_before_run_mb": round(rss_before, 1), "rss_end_mb": round(_rss_mb(), 1),
        "self_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "samples": sink.samples, "mp4_mb": round(size_mb, 2), "cuts": summary.cuts,
    }))


def _trend(samples: list[list[float]]) -> str:
    """Least-squares RSS growth in MiB per 100 frames over all samples, with its standard
    error: a leak shows as a slope well outside the error long before the peak ratio moves."""
    if len(samples) < 4:
        return "n/a (fewer than 4 samples)"
    x, y = np.array([p[0] for p in samples], float), np.array([p[1] for p in samples], float)
    slope, icpt = np.polyfit(x, y, 1)
    res = y - (slope * x + icpt)
    err = np.sqrt((res**2).sum() / (len(x) - 2) / ((x - x.mean()) ** 2).sum())
    return f"{slope * 100:+.2f} +- {err * 100:.2f} MiB/100 frames (samples {y.min():.0f}-" \
           f"{y.max():.0f} MiB)"


def measure(frames: int, args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    """Run one child; its peak RSS comes from the kernel's accounting (wait4)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--frames", str(frames),
           "--size", args.size] + [a for s in args.set for a in ("--set", s)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"memory.py: child for {frames} frames failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["maxrss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    return cmd, result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--size", default="640x360", help="raw mosaic WxH (even)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, as on the CLI")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    if args.child:
        child(args.frames[0], w, h, args.set)
        return 0
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"clip: synthetic {w}x{h} raw (RGGB, 14-bit), pan +-{PAN_PX}px every {PAN_PERIOD} "
          f"frames, a cut every {CUT_EVERY}; -> H.264 .mp4, default profile, temporal on"
          + (f", --set {' '.join(args.set)}" if args.set else ""))
    rows = []
    for n in args.frames:
        cmd, r = measure(n, args)
        rows.append((n, r))
        print(f"  child: {shlex.join(cmd)}")
        print(f"  {r['frames']:>5} frames  peak RSS {r['maxrss_mb']:7.1f} MiB  (before run "
              f"{r['rss_before_run_mb']:.1f}, at end {r['rss_end_mb']:.1f})  wall {r['wall_s']:.1f}"
              f" s ({r['fps']:.2f} fps)", flush=True)
        print(f"    RSS trend: {_trend(r['samples'])}")
        if r["samples"]:
            print("    RSS MiB every", SAMPLE_EVERY, "frames:",
                  " ".join(f"{m:.0f}" for _, m in r["samples"]), flush=True)
    print("\nframes  peak RSS MiB  ratio to first  wall s")
    base = rows[0][1]["maxrss_mb"]
    for n, r in rows:
        print(f"{n:>6}  {r['maxrss_mb']:12.1f}  {r['maxrss_mb'] / base:14.3f}  {r['wall_s']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
