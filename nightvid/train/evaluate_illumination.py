"""Evaluate the SCI illumination stage against the global gain alone (same pipeline, same run).

Two pipelines differ only in ``illumination.method`` (``global`` vs ``sci``, default profile
otherwise, CPU) and render the same frames through :meth:`nightvid.pipeline.Pipeline.render_rgb`:

- **real dark images** (``../shared/data/lowlight_srgb``, no ground truth; the validation split
  and all of them): no-reference figures of the rendered output, averaged over images:
  ``brightness`` (mean BT.709 luma, 8-bit levels), ``shadows`` (mean output luma where the
  input's luma is in its darkest quarter), ``noise`` (robust std of horizontal neighbour
  differences of the output luma / sqrt 2, 8-bit levels: fine-scale noise plus texture) and
  ``cast`` (angle in degrees between the output's mean linear RGB and grey).
- **darkened clean validation frames** (:func:`nightvid.train.illumination_data.darken`, seeded,
  long side 640): PSNR and SSIM (luma, 11x11 Gaussian window, sigma 1.5) of the rendered
  output against the clean frame; and, to isolate the illumination stage from the rest of the
  pipeline's look, ``oracle`` figures: the darkened frame in linear light times the local gain
  (ones for ``global``), times the least-squares best global gain against the clean frame.
- **speed**: best-of-3 CPU ms of ``render_rgb`` for a dark 720p and 1080p frame, and of the
  illumination stage alone (:func:`~nightvid.nets.illumination.illumination_gain`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import IlluminationConfig, load_config
from ..isp.tone import luma, srgb_eotf, srgb_oetf
from ..nets.illumination import IlluminationNet, illumination_gain
from ..nets.io import save_net
from ..pipeline import Pipeline
from .evaluate import psnr
from .illumination_data import IllumDataConfig, dark_bank, darken, lowlight_images

__all__ = ["evaluate_illumination", "format_illumination", "no_reference", "ssim",
           "time_illumination"]

METHODS = ("global", "sci")


def ssim(x: Tensor, y: Tensor) -> float:
    """SSIM of the BT.709 luma of (1, 3, H, W) images in [0, 1] (Wang et al. 2004 constants)."""
    a, b = luma(x.clamp(0, 1)).double(), luma(y.clamp(0, 1)).double()
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    k = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]
    mu_a, mu_b = F.conv2d(a, k), F.conv2d(b, k)
    va, vb = F.conv2d(a * a, k) - mu_a**2, F.conv2d(b * b, k) - mu_b**2
    cov = F.conv2d(a * b, k) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return float(m.mean())


def no_reference(out: Tensor, inp: Tensor) -> dict[str, float]:
    """Brightness, shadows, noise and cast of a display output (1, 3, H, W) rendered from the
    sRGB input (1, 3, H, W), both in [0, 1] (module doc)."""
    y_out, y_in = luma(out)[0, 0], luma(inp)[0, 0]
    dark = y_in <= torch.quantile(y_in.flatten()[::7], 0.25)
    d = (y_out[:, 1:] - y_out[:, :-1]).flatten()
    mad = (d - d.median()).abs().median()
    mean_lin = srgb_eotf(out).mean(dim=(0, 2, 3)).double()
    cos = mean_lin.sum() / (mean_lin.norm() * 3**0.5)
    return {"brightness": 255 * float(y_out.mean()), "shadows": 255 * float(y_out[dark].mean()),
            "noise": 255 * float(1.4826 * mad / 2**0.5),
            "cast": float(torch.rad2deg(torch.acos(cos.clamp(-1, 1))))}


def _to_tensor(img: np.ndarray) -> Tensor:
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0  # (H,W,3)->(1,3,H,W)


def _to_u8(x: Tensor) -> np.ndarray:
    return (x[0].clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()


def _oracle(dark: Tensor, clean: Tensor, gain: Tensor | None) -> Tensor:
    """Linear dark frame x local gain x the least-squares best global gain, sRGB-encoded."""
    lin, ref = srgb_eotf(dark), srgb_eotf(clean)
    lin = lin * gain if gain is not None else lin
    k = (lin * ref).sum() / (lin * lin).sum().clamp_min(1e-12)
    return srgb_oetf(lin * k)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0]}


@torch.inference_mode()
def evaluate_illumination(net: IlluminationNet, *, data: str = "", seed: int = 0,
                          long_side: int = 640,
                          log: Callable[[str], None] | None = print) -> dict:
    """The figures of the module doc for ``net`` vs the global gain alone.

    Returns:
        ``{"lowlight_val": {method: figures}, "lowlight_all": ..., "darkened_val":
        {method: {"psnr", "ssim", "oracle_psnr", "oracle_ssim"}}, "n_...": counts,
        "speed_cpu_ms": ...}``.
    """
    strength = IlluminationConfig().strength
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = save_net(net, Path(tmp) / "illumination.safetensors")
        pipes = {m: Pipeline(load_config("default", {
            "runtime.device": "cpu", "illumination.method": m,
            "illumination.model": str(ckpt)})) for m in METHODS}
        res: dict = {"strength": strength, "cpu_threads": torch.get_num_threads()}
        val_names = {im.name for im in lowlight_images("val", data, 10**6)}
        rows: dict[str, dict[str, list]] = {m: {"val": [], "all": []} for m in METHODS}
        imgs = lowlight_images("train", data, 10**6) + lowlight_images("val", data, 10**6)
        for im in imgs:
            u8 = _to_u8(im.srgb[None])
            for m, p in pipes.items():
                fig = no_reference(p.render_rgb(u8)[0], _to_tensor(u8))
                rows[m]["all"].append(fig)
                if im.name in val_names:
                    rows[m]["val"].append(fig)
        res["lowlight_val"] = {m: _mean(rows[m]["val"]) for m in METHODS}
        res["lowlight_all"] = {m: _mean(rows[m]["all"]) for m in METHODS}
        res["n_lowlight_val"], res["n_lowlight_all"] = len(val_names), len(imgs)
        res["darkened_val"], res["n_darkened_val"] = _darkened(pipes, net, data, seed,
                                                                long_side, strength)
        res["speed_cpu_ms"] = time_illumination(net, pipes)
    if log is not None:
        log(format_illumination(res))
    return res


def _darkened(pipes: dict[str, Pipeline], net: IlluminationNet, data: str, seed: int,
              long_side: int, strength: float) -> tuple[dict, int]:
    cfg = IllumDataConfig(data=data, long_side=long_side, video_stride=5)
    frames = [b for b in dark_bank(cfg, "val") if not b.dark]
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    for j, fr in enumerate(frames):
        clean = fr.srgb[None, :, : fr.srgb.shape[1] // 2 * 2, : fr.srgb.shape[2] // 2 * 2]
        dark = _to_tensor(_to_u8(darken(clean[0], np.random.default_rng((seed, 7, j)), cfg)[None]))
        gain = illumination_gain(net, srgb_eotf(dark), strength)
        for m, p in pipes.items():
            out = p.render_rgb(_to_u8(dark))[0]
            orc = _oracle(dark, clean, gain if m == "sci" else None)
            rows[m].append({"psnr": psnr(out, clean), "ssim": ssim(out, clean),
                            "oracle_psnr": psnr(orc, clean), "oracle_ssim": ssim(orc, clean)})
    return {m: _mean(r) for m, r in rows.items()}, len(frames)


def time_illumination(net: IlluminationNet, pipes: dict[str, Pipeline],
                      sizes: tuple[tuple[int, int], ...] = ((720, 1280), (1080, 1920)),
                      repeats: int = 3) -> dict[str, dict[str, float]]:
    """Best-of-``repeats`` CPU ms: ``render_rgb`` per method and the illumination stage."""
    g = torch.Generator().manual_seed(0)
    out: dict[str, dict[str, float]] = {}
    for h, w in sizes:
        img = (torch.rand(h, w, 3, generator=g) * 60).to(torch.uint8).numpy()
        lin = srgb_eotf(_to_tensor(img))
        jobs: dict[str, Callable[[], object]] = {
            f"render_{m}": (lambda p=p, img=img: p.render_rgb(img)) for m, p in pipes.items()}
        jobs["illumination_stage"] = lambda lin=lin: illumination_gain(net, lin)
        row = {}
        for name, fn in jobs.items():
            fn()  # warm-up (and the checkpoint load)
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            row[name] = round(1000 * min(ts), 1)
        out[f"{h}p"] = row
    return out


def format_illumination(res: dict) -> str:
    """The figures of :func:`evaluate_illumination` as Markdown tables."""
    lines = []
    for key, title in (("lowlight_val", f"real dark images, validation split "
                                        f"({res['n_lowlight_val']})"),
                       ("lowlight_all", f"real dark images, all ({res['n_lowlight_all']})")):
        lines += [f"No-reference, {title}: output brightness / shadows / noise (8-bit levels), "
                  "cast (degrees)", "", "| method | brightness | shadows | noise | cast |",
                  "|---|---|---|---|---|"]
        lines += [f"| {m} | {v['brightness']:.1f} | {v['shadows']:.1f} | {v['noise']:.2f} | "
                  f"{v['cast']:.2f} |" for m, v in res[key].items()]
        lines.append("")
    lines += [f"Darkened clean validation frames ({res['n_darkened_val']}): rendered output vs "
              "clean, and oracle exposure", "",
              "| method | PSNR (dB) | SSIM | oracle PSNR (dB) | oracle SSIM |",
              "|---|---|---|---|---|"]
    lines += [f"| {m} | {v['psnr']:.2f} | {v['ssim']:.4f} | {v['oracle_psnr']:.2f} | "
              f"{v['oracle_ssim']:.4f} |" for m, v in res["darkened_val"].items()]
    sp = res["speed_cpu_ms"]
    cols = list(sp["720p"])
    lines += ["", f"CPU ms ({res.get('cpu_threads', '?')} thread(s)), best of 3", "",
              "| size | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(str(v[c]) for c in cols) + " |" for k, v in sp.items()]
    return "\n".join(lines)
