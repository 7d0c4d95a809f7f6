"""Synthetic white-balance samples: camera-RGB thumbnails of clean images under random lights.

Each sample takes a random crop of a clean image or clip frame (``../shared/data/clean``,
linearised once: inverse smoothstep tone and sRGB decoding), area-resizes it to ``side`` x
``side``, rotates/flips it, and "unprocesses" it exactly as :mod:`nightvid.train.data` does
(:func:`~nightvid.synth.unprocess.unprocess_scene`): the inverse colour matrix of one of the
real cameras of :func:`~nightvid.train.cameras.camera_bank`, the colour cast of a random
2000-8000 K illuminant (:func:`~nightvid.train.cameras.sample_illuminant`), an exposure
scale, RGGB mosaic; then darkens it by a ratio (x1..x300) with calibrated noise
(:func:`~nightvid.train.noise_profiles.sample_noise`: ELD or darktable profiles) and packs
it. The pipeline estimates white balance on a thumbnail of the *cleaned* (temporally filtered,
denoised) planes, whose noise is far below one raw sample's: the noise residual is divided by
``sqrt(n)``, ``n`` drawn log-uniformly in ``[avg_min, avg_max]`` (the number of raw samples a
thumbnail pixel averages; 1 = the raw noise itself, the worst case).

The target is the illuminant's camera neutral (unit norm). Many lights, cameras and ratios
are drawn for every image, so a few hundred clean images give unlimited samples.

**Split**: the images and clip frames of :func:`nightvid.train.data.load_clean` (images by
``sha1(name)``, clips by time: the last quarter of each clip is validation).
**Determinism**: sample ``i`` is drawn by ``numpy.random.default_rng((seed, split, i))``.

Tensors: ``cam_rgb`` ``(3, h, w)`` float32 linear camera RGB (R, mean of the two G, B planes),
black-subtracted, normalised to white = 1, un-amplified (may be < 0: noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..isp.pack import pack_bayer
from ..isp.white_balance import packed_to_cam_rgb
from ..synth.unprocess import display_to_linear, unprocess_scene
from .cameras import CameraColor, camera_bank, sample_illuminant
from .data import SynthConfig, load_clean
from .noise_profiles import apply_noise, sample_noise

__all__ = ["LinearImage", "WBDataConfig", "WBSample", "WBSynth", "linear_bank"]

_SPLITS = {"train": 0, "val": 1}


@dataclass(frozen=True)
class WBDataConfig:
    """How white-balance samples are drawn.

    Attributes:
        data: the shared data folder ("" = :func:`nightvid.synth.noise.data_dir`).
        side: display-pixel side of a training crop after resizing (the packed thumbnail is
            ``side / 2``).
        crop_min: smallest crop side as a fraction of the image's short side.
        bank_side: short side at which the linearised clean images are kept in memory.
        ratio_min, ratio_max: darkening ratio, log-uniform.
        avg_min, avg_max: noise averaging ``n`` (see the module doc), log-uniform.
        exposure_min: clean exposure scale, log-uniform in [exposure_min, 1].
        eld_fraction: ELD cameras vs darktable profiles.
        use_video, video_frames, video_stride: clip frames (every ``stride``-th of the first
            ``video_frames``; neighbours are near duplicates).
    """

    data: str = ""
    side: int = 128
    crop_min: float = 0.5
    bank_side: int = 192
    ratio_min: float = 1.0
    ratio_max: float = 300.0
    avg_min: float = 1.0
    avg_max: float = 256.0
    exposure_min: float = 0.25
    eld_fraction: float = 0.6
    use_video: bool = True
    video_frames: int = 40
    video_stride: int = 4


@dataclass(frozen=True)
class LinearImage:
    """A clean frame, linear sRGB ``(3, h, w)`` float32, with its name (``item#frame``)."""

    name: str
    lin: Tensor


@dataclass
class WBSample:
    """One sample: the thumbnail and the truth (see the module doc for units)."""

    cam_rgb: Tensor  # (3, h, w)
    neutral: Tensor  # (3,) unit norm
    ratio: float
    averaged: float
    camera: str
    noise: str
    cct: float
    source: str


def linear_bank(cfg: WBDataConfig, split: str, short_side: int | None = None) -> list[LinearImage]:
    """Every clean frame of ``split`` linearised, area-resized to ``short_side`` (never up)."""
    side = short_side or cfg.bank_side
    items = load_clean(SynthConfig(data=cfg.data, use_video=cfg.use_video,
                                   video_frames=cfg.video_frames), split)
    out = []
    for it in items:
        step = cfg.video_stride if it.is_video else 1
        for t in range(0, len(it.frames), step):
            disp = torch.from_numpy(it.frames[t]).permute(2, 0, 1)[None].float() / 255.0
            lin = display_to_linear(disp)  # linearise first: averaging is right in linear light
            h, w = lin.shape[-2:]
            s = min(1.0, side / min(h, w))
            if s < 1.0:
                lin = F.interpolate(lin, size=(round(h * s), round(w * s)), mode="area")
            out.append(LinearImage(f"{it.name}#{t}", lin[0].contiguous()))
    return out


class WBSynth:
    """Seeded white-balance samples of one split (``synth[i]`` is sample ``i``).

    Args:
        cfg: sampling settings.
        split: "train" or "val".
        seed: base seed.
        bank: linear images (default: :func:`linear_bank`), e.g. for tests.
    """

    def __init__(self, cfg: WBDataConfig, split: str = "train", seed: int = 0,
                 bank: list[LinearImage] | None = None) -> None:
        self.cfg, self.split, self.seed = cfg, split, seed
        self.bank = bank if bank is not None else linear_bank(cfg, split)
        self.cameras: list[CameraColor] = camera_bank(cfg.data or None)

    def __len__(self) -> int:
        return len(self.bank)

    def __getitem__(self, index: int) -> WBSample:
        rng = np.random.default_rng((self.seed, _SPLITS[self.split], index))
        img = self.bank[int(rng.integers(len(self.bank)))]
        return self.render(img.lin, rng, img.name, crop=True)

    def render(self, lin: Tensor, rng: np.random.Generator, name: str = "",
               crop: bool = False) -> WBSample:
        """Unprocess ``lin`` (3, h, w) under a random camera, light, exposure and noise.

        Args:
            lin: linear sRGB.
            rng: the random source (all draws come from it).
            name: where it came from.
            crop: random crop, resize to ``side`` and rotate/flip (training); else the whole
                image, cropped to even size.
        """
        c = self.cfg
        x = self._crop(lin, rng) if crop else lin[:, : lin.shape[1] // 2 * 2,
                                                  : lin.shape[2] // 2 * 2]
        cam = self.cameras[int(rng.integers(len(self.cameras)))]
        neutral, cct = sample_illuminant(rng, cam.color_matrix_1)
        exposure = math.exp(rng.uniform(math.log(c.exposure_min), 0.0))
        mos = unprocess_scene(x[None], cam, illuminant_neutral=neutral, exposure_scale=exposure)
        draw = sample_noise(rng, ratio_range=(c.ratio_min, c.ratio_max),
                            eld_fraction=c.eld_fraction, data=c.data or None)
        clean = mos[:, 0].numpy() / draw.ratio
        noisy = apply_noise(mos[:, 0].numpy(), draw, rng)
        n = math.exp(rng.uniform(math.log(c.avg_min), math.log(c.avg_max)))
        noisy = clean + (noisy - clean) / math.sqrt(n)  # a thumbnail pixel averages n samples
        packed = pack_bayer(torch.from_numpy(noisy.astype(np.float32))[:, None], "RGGB")
        target = torch.as_tensor(neutral, dtype=torch.float32)
        return WBSample(packed_to_cam_rgb(packed)[0], target / target.norm(), draw.ratio, n,
                        cam.name, draw.source, cct, name)

    def _crop(self, lin: Tensor, rng: np.random.Generator) -> Tensor:
        """A random square crop, area-resized to ``side``, rotated and maybe flipped."""
        _, h, w = lin.shape
        size = max(8, int(min(h, w) * rng.uniform(self.cfg.crop_min, 1.0)))
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        out = lin[None, :, y : y + size, x : x + size]
        side = self.cfg.side
        out = F.interpolate(out, size=(side, side), mode="area" if size >= side else "bilinear")
        out = torch.rot90(out[0], int(rng.integers(4)), dims=(1, 2))
        return out.flip(2) if rng.random() < 0.5 else out
