"""CPU precision of the shipped networks: float32 vs bfloat16 autocast, contiguous vs
channels-last, same process, same input (ms per frame, best of N).

    python3 benchmarks/net_precision.py [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from nightvid.nets import load_net
from nightvid.nets.store import model_path


def best_ms(fn, inputs: tuple, repeats: int) -> float:
    fn(*inputs)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*inputs)
        ts.append(time.perf_counter() - t)
    return 1000 * min(ts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = {"denoiser (960x540 packed)": ("raw_denoiser", "denoiser", (1, 4, 540, 960)),
             "refine (1920x1080)": ("refiner", "refine", (1, 3, 1080, 1920))}
    print(f"# torch {torch.__version__}, {args.threads} thread(s), best of {args.repeats}")
    for label, (kind, name, shape) in cases.items():
        net = load_net(model_path(name), kind)
        x = torch.rand(shape) * (0.01 if kind == "raw_denoiser" else 1.0)
        extra = (1e-4, 1e-7) if kind == "raw_denoiser" else ()
        row = {}
        with torch.inference_mode():
            row["fp32"] = best_ms(net, (x, *extra), args.repeats)
            cl = net.to(memory_format=torch.channels_last)
            xc = x.contiguous(memory_format=torch.channels_last)
            row["fp32 channels-last"] = best_ms(cl, (xc, *extra), args.repeats)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                row["bf16 channels-last"] = best_ms(cl, (xc, *extra), args.repeats)
        print(f"{label}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
