"""Display-domain pairs through the whole pipeline: the render of a noisy synthetic raw and the
*reference* render of its clean raw, with every global decision (white balance, amplification,
contrast levels, sky mask) taken on the clean raw and replayed on the noisy one, so the two
images differ only where noise and its removal made them differ.

The reference runs the same profile with denoising and refinement off (clean input needs
neither). These pairs train the refinement network (:mod:`nightvid.train.refine`) and score
pipeline variants in ``nightvid eval`` (:func:`pipeline_scores`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..config import Config, load_config
from ..isp.pack import unpack_bayer
from ..pipeline import Pipeline
from ..state import StreamState
from ..types import RawMeta
from .data import Sample, SynthDataset
from .evaluate import psnr

__all__ = ["BLACK", "CACHES", "WHITE", "DisplayPair", "Recorder", "Replay", "render_pair",
           "sample_meta", "ssim", "pipeline_scores"]

#: Levels of the synthetic mosaics handed to the pipeline (14-bit, Sony-like black).
BLACK, WHITE = 512.0, 16383.0
#: The stream caches whose decisions are recorded on the clean run and replayed.
CACHES = ("wb", "amp", "levels", "sky")


@dataclass
class DisplayPair:
    """One pair: ``noisy`` and ``reference`` display sRGB (3, h, w) float32 in [0, 1]."""

    noisy: Tensor
    reference: Tensor
    ratio: float


class Recorder:
    """Wraps a stream cache and keeps every value it returns (one per frame)."""

    def __init__(self, cache: Any) -> None:
        self.cache, self.values = cache, []

    def update(self, compute: Callable[[], Tensor]) -> Tensor:
        self.values.append(self.cache.update(compute))
        return self.values[-1]

    def reset(self) -> None:
        self.cache.reset()


class Replay:
    """Stands in for a stream cache: returns recorded values in order, computes none; a
    reset (a cut in the replaying run) must not desynchronise it."""

    def __init__(self, values: list[Tensor]) -> None:
        self.values = list(values)

    def update(self, compute: Callable[[], Tensor]) -> Tensor:
        return self.values.pop(0)

    def reset(self) -> None:
        pass


def sample_meta(s: Sample, cameras: dict[str, Any]) -> RawMeta:
    """The RawMeta a camera would write for synthetic sample ``s``: its colour matrix, the
    illuminant's neutral as shot, the drawn noise profile."""
    cam = cameras[s.camera]
    return RawMeta(black_level=(BLACK,) * 4, white_level=WHITE, cfa="RGGB",
                   as_shot_neutral=s.neutral, color_matrix_1=cam.color_matrix_1,
                   cct_1=6504.0, noise_profile=(s.shot, s.read), camera=s.camera,
                   source=s.source)


def _to_dn(packed: Tensor) -> np.ndarray:
    """(4, h, w) normalised planes -> (2h, 2w) float32 DN mosaic (RGGB)."""
    mosaic = unpack_bayer(packed[None], "RGGB")[0, 0]
    return (mosaic * (WHITE - BLACK) + BLACK).numpy().astype(np.float32)


def render_pair(s: Sample, meta: RawMeta, noisy_pipe: Pipeline, ref_pipe: Pipeline) -> DisplayPair:
    """Render ``s`` noisy with ``noisy_pipe`` and clean with ``ref_pipe`` (decisions replayed).

    Both pipelines should share a profile; ``ref_pipe`` has denoise and refine off. The clean
    mosaic is the long exposure divided by the ratio, so both see the same brightness.
    """
    ref_state = StreamState(ref_pipe.config.stream)
    recorders = {n: Recorder(getattr(ref_state, n)) for n in CACHES}
    for n, r in recorders.items():
        setattr(ref_state, n, r)
    clean_meta = meta.replace(noise_profile=(0.0, 0.0))
    ref, _ = ref_pipe.render(_to_dn(s.clean), clean_meta, ref_state)
    noisy_state = StreamState(noisy_pipe.config.stream)
    for n, r in recorders.items():
        setattr(noisy_state, n, Replay(r.values))
    out, _ = noisy_pipe.render(_to_dn(s.noisy), meta, noisy_state)
    return DisplayPair(out[0].float().cpu(), ref[0].float().cpu(), s.ratio)


def pair_pipelines(profile: str = "default", overrides: dict[str, Any] | None = None,
                   device: str = "cpu") -> tuple[Pipeline, Pipeline]:
    """(noisy pipeline, reference pipeline) for pairs: packed-path output at the mosaic's
    half size (what a 4K raw -> 1080p stream does), temporal filter off (single frames)."""
    base = {"output.scale": 0.5, "temporal.enabled": False, "runtime.device": device,
            "runtime.compile": "off", **(overrides or {})}
    noisy_cfg: Config = load_config(profile, base)
    ref_cfg = load_config(profile, {**base, "denoise.enabled": False, "refine.enabled": False})
    return Pipeline(noisy_cfg), Pipeline(ref_cfg)


def ssim(x: Tensor, y: Tensor) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of
    (3, h, w) images in [0, 1], averaged over channels."""
    import torch.nn.functional as F

    g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    g = (g / g.sum()).to(x)
    win = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t[None], win, groups=3)[0]

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def pipeline_scores(variants: dict[str, dict[str, Any]], ds: SynthDataset, n: int,
                    noise: Any = None, profile: str = "default") -> dict[str, dict[str, float]]:
    """Mean PSNR/SSIM against the reference render for each pipeline variant (config
    overrides), same samples for all, same reference decisions.

    Returns:
        ``{variant: {"psnr": dB, "ssim": s}}``.
    """
    cams = {c.name: c for c in ds.cameras}
    pipes = {k: pair_pipelines(profile, v) for k, v in variants.items()}
    acc = {k: [0.0, 0.0] for k in variants}
    for i in range(n):
        s = ds.sample(i, noise=noise)
        meta = sample_meta(s, cams)
        for k, (noisy_pipe, ref_pipe) in pipes.items():
            pair = render_pair(s, meta, noisy_pipe, ref_pipe)
            acc[k][0] += psnr(pair.noisy, pair.reference)
            acc[k][1] += ssim(pair.noisy.clamp(0, 1), pair.reference.clamp(0, 1))
    return {k: {"psnr": round(v[0] / n, 3), "ssim": round(v[1] / n, 4)} for k, v in acc.items()}
