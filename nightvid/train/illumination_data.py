"""Dark sRGB crops for self-supervised illumination learning (SCI), and the validation frames.

Two sources, both sRGB-encoded ``(3, h, w)`` float32 in [0, 1]:

- **real dark images**: ``../shared/data/lowlight_srgb`` (SCI's easy/medium/difficult test
  images and finetune image, LIME, three LOL inputs). An image stored twice (the same pixels
  under two names: SCI's ``LIME_9.bmp`` is LIME's ``9.bmp``) is kept once, under its first
  name in sorted order, so it cannot sit on both sides of the split.
- **darkened clean frames**: the clean images and clip frames of
  :func:`nightvid.train.data.load_clean`, darkened in sRGB: linear exposure scale ``e``
  (log-uniform in ``[exposure_min, exposure_max]``), re-encoded, raised to ``gamma`` (uniform
  in ``[1, gamma_max]``: under-exposed tones crushed non-linearly, as a phone's tone curve does
  in the dark), plus Gaussian noise of std up to ``noise_max`` and 8-bit quantisation.

Images are kept area-resized so their long side is ``long_side`` (the scale at which the
pipeline runs the net, :func:`nightvid.nets.illumination.illumination_gain`).

**Split**: real images by ``split_of("lowlight_srgb/<folder>/<file>")`` (sha1 rule of
:func:`nightvid.train.data.split_of`); clean ones as in :mod:`nightvid.train.data`.
**Determinism**: sample ``i`` is drawn by ``numpy.random.default_rng((seed, split, i))``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import SourceError
from ..isp.tone import srgb_eotf, srgb_oetf
from ..synth.noise import data_dir
from .data import SynthConfig, load_clean, split_of

__all__ = ["DarkImage", "IllumDataConfig", "IllumSynth", "darken", "dark_bank", "lowlight_images"]

_SPLITS = {"train": 0, "val": 1}
_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class IllumDataConfig:
    """How training crops are drawn (see the module doc)."""

    data: str = ""
    long_side: int = 320
    crop: int = 96
    lowlight_fraction: float = 0.5  # share of real dark images among the samples
    exposure_min: float = 0.02
    exposure_max: float = 0.3
    gamma_max: float = 1.6
    noise_max: float = 0.02
    use_video: bool = True
    video_frames: int = 40
    video_stride: int = 4


@dataclass(frozen=True)
class DarkImage:
    """An sRGB-encoded image (3, h, w) in [0, 1]; ``dark`` False: clean, darkened when drawn."""

    name: str
    srgb: Tensor
    dark: bool


def _resize(x: Tensor, long_side: int) -> Tensor:
    h, w = x.shape[-2:]
    s = min(1.0, long_side / max(h, w))
    if s >= 1.0:
        return x
    # Area-average in linear light, as the pipeline's thumbnail does.
    small = F.interpolate(srgb_eotf(x[None]), size=(round(h * s), round(w * s)), mode="area")
    return srgb_oetf(small)[0]


def lowlight_images(split: str, data: str = "", long_side: int = 320) -> list[DarkImage]:
    """The real dark images of ``split`` (duplicates dropped, see the module doc)."""
    root = (Path(data) if data else data_dir()) / "lowlight_srgb"
    if not root.is_dir():
        raise SourceError(f"{root}: no lowlight_srgb folder (set NIGHTVID_DATA)")
    seen: set[str] = set()
    out = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in _SUFFIXES:
            continue
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise SourceError(f"{p}: not a readable image")
        digest = hashlib.sha1(img.tobytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        name = p.relative_to(root.parent).as_posix()
        if split_of(name) == split:
            rgb = torch.from_numpy(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)
            out.append(DarkImage(name, _resize(rgb.float() / 255.0, long_side), True))
    return out


def dark_bank(cfg: IllumDataConfig, split: str) -> list[DarkImage]:
    """Real dark images and clean frames of ``split`` at ``cfg.long_side``."""
    bank = lowlight_images(split, cfg.data, cfg.long_side)
    for it in load_clean(SynthConfig(data=cfg.data, use_video=cfg.use_video,
                                     video_frames=cfg.video_frames), split):
        step = cfg.video_stride if it.is_video else 1
        for t in range(0, len(it.frames), step):
            x = torch.from_numpy(it.frames[t]).permute(2, 0, 1).float() / 255.0
            bank.append(DarkImage(f"{it.name}#{t}", _resize(x, cfg.long_side), False))
    return bank


def darken(srgb: Tensor, rng: np.random.Generator, cfg: IllumDataConfig) -> Tensor:
    """A clean sRGB image (3, h, w) made dark: exposure, gamma, noise, 8-bit (module doc)."""
    e = math.exp(rng.uniform(math.log(cfg.exposure_min), math.log(cfg.exposure_max)))
    gamma = rng.uniform(1.0, cfg.gamma_max)
    x = srgb_oetf(srgb_eotf(srgb) * e) ** gamma
    sigma = rng.uniform(0.0, cfg.noise_max)
    noise = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    return ((x + sigma * noise).clamp(0.0, 1.0) * 255.0).round() / 255.0


class IllumSynth:
    """Seeded dark crops ``(3, crop, crop)`` of one split (``synth[i]``)."""

    def __init__(self, cfg: IllumDataConfig, split: str = "train", seed: int = 0,
                 bank: list[DarkImage] | None = None) -> None:
        self.cfg, self.split, self.seed = cfg, split, seed
        self.bank = bank if bank is not None else dark_bank(cfg, split)
        c = cfg.crop
        self.real = [b for b in self.bank if b.dark and min(b.srgb.shape[1:]) >= c]
        self.clean = [b for b in self.bank if not b.dark and min(b.srgb.shape[1:]) >= c]
        if not self.real and not self.clean:
            raise SourceError(f"no image of split {split!r} is at least {c} px")

    def __len__(self) -> int:
        return len(self.bank)

    def __getitem__(self, index: int) -> Tensor:
        rng = np.random.default_rng((self.seed, _SPLITS[self.split], index))
        use_real = self.real and (not self.clean or rng.random() < self.cfg.lowlight_fraction)
        pool = self.real if use_real else self.clean
        img = pool[int(rng.integers(len(pool)))]
        _, h, w = img.srgb.shape
        c = self.cfg.crop
        y, x = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
        out = torch.rot90(img.srgb[:, y : y + c, x : x + c], int(rng.integers(4)), dims=(1, 2))
        out = out.flip(2) if rng.random() < 0.5 else out
        return out.contiguous() if img.dark else darken(out, rng, self.cfg)
