"""Evaluate raw denoisers side by side: the network, OpenCV's fastNlMeans and nightvid's classical
wavelet denoiser, all at the same point of the pipeline (packed, un-amplified, black-subtracted
raw with its noise profile), on the validation split with Sony A7S2 (ELD) noise.

**Metric.** Linear-raw PSNR of the amplified result, ``clip(ratio * x, 0, 1)`` against the
clean long exposure ``clip(ratio * clean, 0, 1)``, peak 1: the convention of SID/ELD.

**The OpenCV baseline, made fair.** fastNlMeans assumes constant Gaussian noise on 8-bit
values, so each frame goes through the generalised Anscombe transform of its own profile
(unit noise everywhere), is scaled so its maximum is 255 (noise std ``g`` grey levels), and
every packed plane is denoised with ``cv2.fastNlMeansDenoising`` (template 7, search 21) at
``h = NLM_H_PER_SIGMA * g``; back through the asymptotically unbiased inverse transform
(Makitalo & Foi 2011: ``x = shot (z^2/4 - 1/8) - read/shot``). NLM_H_PER_SIGMA was picked
from {0.6, 0.8, 1.0, 1.2, 1.5} on training-split crops (see :func:`tune_nlm`).

Timings are wall-clock ms in this process, one after another on the same input, OpenCV given
as many threads as torch (``cv2.setNumThreads(torch.get_num_threads())``): per 960x540
packed frame (a 1080p output from a 4K raw) with :func:`time_methods`. On a CPU with native
bfloat16 the network also runs as ``net_bf16`` (bf16 autocast: what the pipeline runs there).
The network runs with channels-last weights and input, as in the pipeline.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from ..config import DenoiseConfig
from ..isp.denoise import denoise_packed
from ..nets.denoiser import RawDenoiser, gat
from ..nets.infer import cpu_has_bf16
from ..synth.noise import load_eld_noise
from .data import SynthConfig, SynthDataset
from .noise_profiles import eld_draw

__all__ = ["NLM_H_PER_SIGMA", "evaluate_denoiser", "nlm_denoise", "psnr", "time_methods",
           "tune_nlm"]

NLM_H_PER_SIGMA = 1.0

Method = Callable[[Tensor, float, float], Tensor]


def psnr(x: Tensor, ref: Tensor) -> float:
    """PSNR in dB, peak 1, of values clipped to [0, 1]."""
    mse = float(((x.clamp(0, 1) - ref.clamp(0, 1)) ** 2).mean())
    return 10.0 * float(np.log10(1.0 / max(mse, 1e-12)))


def nlm_denoise(packed: Tensor, shot: float, read: float,
                h_per_sigma: float | None = None) -> Tensor:
    """fastNlMeans on each packed plane in the variance-stabilised, 8-bit domain (module doc).

    Args:
        packed: (B, 4, h, w) un-amplified linear raw.
        shot, read: its noise profile.
        h_per_sigma: filter strength in noise sigmas (default :data:`NLM_H_PER_SIGMA`).
    """
    hps = NLM_H_PER_SIGMA if h_per_sigma is None else h_per_sigma
    s = torch.tensor(max(shot, read**0.5 / 100.0)).reshape(1, 1, 1, 1)
    r = torch.tensor(read).reshape(1, 1, 1, 1)
    z = gat(packed.detach().cpu().float(), s, r)
    out = torch.empty_like(z)
    # As many threads as torch has: timings compare methods on equal CPU resources.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(torch.get_num_threads())
    try:
        _nlm_planes(z, out, hps)
    finally:
        cv2.setNumThreads(threads)
    x = s * (out * out / 4.0 - 0.125) - r / s
    return x.to(packed)


def _nlm_planes(z: Tensor, out: Tensor, hps: float) -> None:
    for b in range(z.shape[0]):
        g = 255.0 / max(float(z[b].max()), 1e-6)
        u8 = (z[b] * g).round().clamp(0, 255).to(torch.uint8).numpy()
        den = [cv2.fastNlMeansDenoising(np.ascontiguousarray(p), None, hps * g, 7, 21)
               for p in u8]
        out[b] = torch.from_numpy(np.stack(den).astype(np.float32) / g)


def _classical(packed: Tensor, shot: float, read: float) -> Tensor:
    c = DenoiseConfig()
    return denoise_packed(packed, shot, read, strength=c.strength,
                          chroma_strength=c.chroma_strength, levels=c.levels)


def _methods(net: RawDenoiser | None, device: str) -> dict[str, Method]:
    m: dict[str, Method] = {"noisy": lambda x, s, r: x, "classical": _classical,
                            "opencv_nlm": nlm_denoise}
    if net is not None:
        # Channels-last weights and input, as the pipeline runs it (1.5x faster on this CPU).
        cl = copy.deepcopy(net).to(device, memory_format=torch.channels_last)

        def run_net(x: Tensor, s: float, r: float) -> Tensor:
            with torch.inference_mode():
                return cl(x.to(device, memory_format=torch.channels_last), s, r).cpu()
        m["net"] = run_net
        if device == "cpu" and cpu_has_bf16():
            # What the pipeline runs on this CPU (runtime.cpu_bf16 = "auto").
            def run_bf16(x: Tensor, s: float, r: float) -> Tensor:
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                    return cl(x.contiguous(memory_format=torch.channels_last), s, r).float()
            m["net_bf16"] = run_bf16
    return m


def evaluate_denoiser(net: RawDenoiser | None, *, ratios: Sequence[float] = (100.0, 300.0),
                      isos: Sequence[float] = (1600.0, 6400.0), n_images: int | None = None,
                      crop: int = 128, seed: int = 0, device: str = "cpu",
                      data: str = "") -> dict:
    """PSNR (and ms per MPix) of the net vs the baselines on the validation split.

    Args:
        net: the denoiser, or None for the baselines only.
        ratios, isos: the grid of Sony A7S2 (ELD, Tukey read noise) conditions.
        n_images: validation crops per condition (None: one per validation item).
        crop: packed crop size.
        seed, data: dataset seed and shared data folder.
    Returns:
        ``{"conditions": {"x100 iso1600": {method: psnr}}, "mean": {method: psnr},
        "ms_per_mpix": {method: ms}, "n": crops per condition}``.
    """
    ds = SynthDataset(SynthConfig(data=data, crop=crop), "val", seed=seed)
    n = n_images or len(ds.items)
    methods = _methods(net, device)
    conds: dict[str, dict[str, float]] = {}
    secs = dict.fromkeys(methods, 0.0)
    mpix = 0.0
    for ratio in ratios:
        for iso in isos:
            draw = eld_draw(load_eld_noise("SonyA7S2", iso=iso, ratio=ratio, data=data or None))
            acc = dict.fromkeys(methods, 0.0)
            for i in range(n):
                s = ds.sample(i, noise=draw)
                x, ref = s.noisy[None], s.clean[None]
                mpix += x.shape[-1] * x.shape[-2] / 1e6
                for name, fn in methods.items():
                    t = time.perf_counter()
                    y = fn(x, s.shot, s.read)
                    secs[name] += time.perf_counter() - t
                    acc[name] += psnr(ratio * y, ratio * ref)
            conds[f"x{ratio:g} iso{iso:g}"] = {k: round(v / n, 3) for k, v in acc.items()}
    mean = {k: round(float(np.mean([c[k] for c in conds.values()])), 3) for k in methods}
    return {"conditions": conds, "mean": mean, "n": n,
            "ms_per_mpix": {k: round(1000 * v / mpix, 2) for k, v in secs.items()}}


def time_methods(net: RawDenoiser | None, size: tuple[int, int] = (540, 960), repeats: int = 3,
                 device: str = "cpu") -> dict[str, float]:
    """Best-of-``repeats`` ms per (1, 4, *size) packed frame of each method, same input."""
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 4, *size, generator=g) * 0.003
    model = load_eld_noise("SonyA7S2", iso=3200, ratio=100)
    shot, read = model.profile()
    noisy = clean + torch.randn(clean.shape, generator=g) * (shot * clean + read).sqrt()
    out = {}
    for name, fn in _methods(net, device).items():
        if name == "noisy":
            continue
        fn(noisy, shot, read)  # warm-up
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            y = fn(noisy, shot, read)
            if device != "cpu":
                float(y.sum())  # wait for the device
            ts.append(time.perf_counter() - t)
        out[name] = round(1000 * min(ts), 1)
    return out


def tune_nlm(n_images: int = 8, hs: Sequence[float] = (0.6, 0.8, 1.0, 1.2, 1.5),
             seed: int = 1) -> dict[float, float]:
    """Mean PSNR of fastNlMeans per ``h_per_sigma`` on training crops (x100 and x300,
    ISO 1600/6400 Sony A7S2): how :data:`NLM_H_PER_SIGMA` was chosen."""
    ds = SynthDataset(SynthConfig(crop=128), "train", seed=seed)
    res = dict.fromkeys(hs, 0.0)
    k = 0
    for ratio in (100.0, 300.0):
        for iso in (1600.0, 6400.0):
            draw = eld_draw(load_eld_noise("SonyA7S2", iso=iso, ratio=ratio))
            for i in range(n_images):
                s = ds.sample(i, noise=draw)
                k += 1
                for h in hs:
                    y = nlm_denoise(s.noisy[None], s.shot, s.read, h)
                    res[h] += psnr(ratio * y, ratio * s.clean[None])
    return {h: round(v / k, 3) for h, v in res.items()}
