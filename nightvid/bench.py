"""``nightvid bench``: time the photo pipeline against LibRaw's own rendering, same process.

Benchmarks are not tests: this prints figures (median of ``repeat`` runs after a warm-up) and
the ratio to the baseline, never asserts on them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import rawpy
import torch

from .api import resolve_overrides
from .config import load_config
from .pipeline import Pipeline
from .runtime import to_uint
from .sinks.images import write_image
from .sources import open_raw

#: The synthetic benchmark raw: 4000x3000 = 12 MP, like a typical APS-C/phone sensor.
BENCH_SIZE = (3000, 4000)


def synthetic_raw(path: Path, size: tuple[int, int] = BENCH_SIZE, seed: int = 7) -> Path:
    """Write a dark, noisy 12 MP night-scene DNG (nightvid's own synthesis) to ``path``."""
    from .synth.samples import make_night_raw  # synthesis is only needed for the bench

    mosaic, meta = make_night_raw(size[0], size[1], seed=seed)
    from .io.dng_write import write_dng

    return write_dng(path, mosaic, meta)


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: first-call allocations, lazy imports, LibRaw tables
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_photo_bench(path: str | Path | None = None, *, size: str = "1920x",
                    profile: str = "default", repeat: int = 5,
                    device: str = "cpu", compile: bool = False) -> dict[str, Any]:
    """Render ``path`` (default: a synthetic 12 MP DNG) to a JPEG and print the figures.

    nightvid's time covers decode + render + JPEG encode + write; the baseline is
    ``rawpy.imread(path).postprocess(half_size=True, use_camera_wb=True)`` (decode + LibRaw's
    half-size render, no resize or encode), as the issue that set this benchmark asks.

    Returns:
        A dict with the median seconds of each side, their ratio and the per-stage breakdown.
    """
    with tempfile.TemporaryDirectory(prefix="nightvid-bench-") as tmp:
        src = Path(path) if path else synthetic_raw(Path(tmp) / "bench_12mp.dng")
        out = Path(tmp) / "out.jpg"
        cfg = load_config(profile, resolve_overrides(size=size, device=device))
        pipe = Pipeline(cfg, compile=compile)

        def ours() -> None:
            mosaic, meta = open_raw(src)
            display, _ = pipe.render(mosaic, meta)
            write_image(to_uint(display, 8), out, cfg.output.jpeg_quality)

        def libraw() -> None:
            with rawpy.imread(str(src)) as raw:
                raw.postprocess(half_size=True, use_camera_wb=True)

        t_ours = _median_s(ours, repeat)
        t_base = _median_s(libraw, repeat)
        mosaic, meta = open_raw(src)
        t0 = time.perf_counter()
        open_raw(src)
        t_decode = time.perf_counter() - t0
        timed = Pipeline(cfg, timings=True, compile=compile)
        timed.render(mosaic, meta)  # compiled kernels are per pipeline: warm this one up too
        _, info = timed.render(mosaic, meta)
        shape = cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape
    report = {
        "input": str(path or "synthetic 12 MP DNG"),
        "mosaic": f"{mosaic.shape[1]}x{mosaic.shape[0]}",
        "output": f"{shape[1]}x{shape[0]} JPEG",
        "profile": profile, "device": str(pipe.device), "compile": compile,
        "threads": torch.get_num_threads(),
        "nightvid_s": t_ours, "libraw_half_size_s": t_base, "ratio": t_ours / t_base,
        "decode_s": t_decode, "stage_ms": info.stage_ms,
    }
    _print_report(report, repeat)
    return report


def _print_report(r: dict[str, Any], repeat: int) -> None:
    print(f"input   {r['input']}  ({r['mosaic']} mosaic -> {r['output']}, profile {r['profile']}, "
          f"{r['device']}, {r['threads']} threads, compile {'on' if r['compile'] else 'off'}, "
          f"median of {repeat})")
    print(f"nightvid (decode+render+JPEG)         {r['nightvid_s'] * 1e3:8.1f} ms")
    print(f"rawpy postprocess(half_size, cam WB)  {r['libraw_half_size_s'] * 1e3:8.1f} ms")
    print(f"ratio nightvid / LibRaw               {r['ratio']:8.3f}"
          f"  ({max(r['ratio'], 1 / r['ratio']):.1f}x "
          f"{'faster' if r['ratio'] < 1 else 'slower'})")
    print(f"  of which decode (LibRaw unpack)     {r['decode_s'] * 1e3:8.1f} ms")
    for name, ms in r["stage_ms"].items():
        print(f"  stage {name:<30}{ms:8.1f} ms")

