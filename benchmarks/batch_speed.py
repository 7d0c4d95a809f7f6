"""Batch throughput: jobs/s and frames/s of ``nightvid batch`` with 1 and 2 workers, on the
local process pool and on Ray.

The workload is the bundled samples, linked several times into a temporary input folder:
``--photos`` copies of ``samples/night_street.dng`` (1536x1024, one frame each) and
``--clips`` copies of ``samples/night_clip`` (24 DNG frames at 640x360 each), rendered at full
size with the default profile (photos to JPEG, clips to H.264).

Each measurement is the real command in a fresh process (``python -m nightvid batch ...``)
into an empty output folder, timed from outside, so it includes what a user waits for:
interpreter start, imports, the fork server's preload, discovery, and every job. ``jobs/s``
and ``frames/s`` divide the jobs and frames by that wall time.

- Local pool: ``--jobs N``; each job gets CPUs / N torch threads.
- Ray: a local cluster started once with ``ray start --head --num-cpus C`` (as on a real
  cluster, it outlives the command), then ``--ray HOST:PORT --jobs N --cpus-per-job C/N``
  (the address, not ``auto``, so it never uses another cluster on the machine), so the
  threads per job match the pool's. One untimed warm-up run per runner fills the OS caches
  and starts Ray's worker processes, as a running cluster would have them.

Run from the repository root::

    python3 benchmarks/batch_speed.py                      # 6 photos + 2 clips, 1 and 2 workers
    python3 benchmarks/batch_speed.py --photos 2 --clips 1 --runners local --repeat 3

It prints the figures and asserts nothing (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def make_inputs(root: Path, photos: int, clips: int) -> tuple[int, int]:
    """Link the samples into ``root``; returns (jobs, frames)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(photos):
        (root / f"photo_{i:02d}.dng").symlink_to(SAMPLES / "night_street.dng")
    for i in range(clips):
        (root / f"clip_{i:02d}").symlink_to(SAMPLES / "night_clip", target_is_directory=True)
    return photos + clips, photos + 24 * clips


def run_batch(inputs: Path, out: Path, extra: list[str]) -> float:
    """Wall seconds of one ``nightvid batch`` run into a fresh ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "nightvid", "batch", str(inputs), "-o", str(out), "-q", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=RAY_ENV)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"batch failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return wall


RAY_PORT = 6391  # not Ray's default, so the benchmark never joins or stops another cluster
# The benchmark's own loopback cluster: no token (Ray 2.60 enables token auth by default, and a
# driver given an explicit address does not find the token that "ray start" generated).
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def ray_cluster(cpus: int, log: Path) -> subprocess.Popen:
    """Start a local Ray head node of ``cpus`` CPUs in the foreground (``--block``), so that
    terminating this one process stops exactly the Ray processes it started. Its own
    ``--temp-dir`` keeps it out of ``/tmp/ray``, where ``ray_current_cluster`` would make
    a later plain ``ray.init()`` try to join it after it is gone."""
    ray = shutil.which("ray")
    if ray is None:
        raise SystemExit("the ray command is not installed: pip install 'nightvid[scale]'")
    with open(log, "w") as out:
        head = subprocess.Popen([ray, "start", "--head", "--block", f"--port={RAY_PORT}",
                                 f"--num-cpus={cpus}", "--num-gpus=0",
                                 "--include-dashboard=false", "--disable-usage-stats",
                                 f"--temp-dir={log.parent / 'ray'}"],
                                stdout=out, stderr=subprocess.STDOUT, env=RAY_ENV)
    deadline = time.monotonic() + 120
    while "block forever" not in log.read_text():  # printed once the node is up
        if head.poll() is not None or time.monotonic() > deadline:
            head.kill()
            raise SystemExit(f"ray start --head did not come up:\n{log.read_text()}")
        time.sleep(0.5)
    return head


def measure(runner: str, workers: list[int], inputs: Path, out: Path, cpus: int,
            repeat: int) -> list[tuple[int, float]]:
    """(workers, median wall s) per worker count, after one untimed warm-up run."""
    def args(n: int) -> list[str]:
        if runner == "local":
            return ["--jobs", str(n)]
        return [f"--ray=127.0.0.1:{RAY_PORT}", "--jobs", str(n), "--cpus-per-job",
                f"{cpus / n:g}"]

    run_batch(inputs, out, args(max(workers)))  # warm-up: OS caches, Ray workers
    rows = []
    for n in workers:
        walls = [run_batch(inputs, out, args(n)) for _ in range(repeat)]
        rows.append((n, statistics.median(walls)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--clips", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runners", nargs="+", choices=("local", "ray"), default=["local", "ray"])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per row (median)")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    results = []
    with tempfile.TemporaryDirectory(prefix="nightvid-batch-bench-") as tmp:
        inputs, out = Path(tmp) / "in", Path(tmp) / "out"
        jobs, frames = make_inputs(inputs, a.photos, a.clips)
        print(f"workload: {a.photos} photos (1536x1024) + {a.clips} clips (24 x 640x360) = "
              f"{jobs} jobs, {frames} frames; {cpus} CPUs; load average before "
              f"{os.getloadavg()[0]:.2f}")
        print(f"{'runner':<6} {'workers':>7} {'wall s':>8} {'jobs/s':>7} {'frames/s':>9}")
        for runner in a.runners:
            head = ray_cluster(cpus, Path(tmp) / "ray.log") if runner == "ray" else None
            try:
                for n, wall in measure(runner, a.workers, inputs, out, cpus, a.repeat):
                    row = {"runner": runner, "workers": n, "wall_s": round(wall, 2),
                           "jobs_per_s": round(jobs / wall, 3),
                           "frames_per_s": round(frames / wall, 2)}
                    results.append(row)
                    print(f"{runner:<6} {n:>7} {wall:>8.1f} {jobs / wall:>7.3f} "
                          f"{frames / wall:>9.2f}", flush=True)
            finally:
                if head is not None:
                    head.terminate()
                    head.wait(60)
    print(f"load average after {os.getloadavg()[0]:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"jobs": jobs, "frames": frames, "cpus": cpus,
                                            "rows": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
