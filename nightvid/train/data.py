"""Synthetic (dark noisy raw, clean raw) pairs from clean sRGB images and video clips.

Each sample "unprocesses" a crop of a clean display-referred image (Brooks et al., CVPR 2019,
through :mod:`nightvid.synth.unprocess`): inverse tone curve and sRGB gamma, the inverse
colour matrix of a camera drawn from :func:`~nightvid.train.cameras.camera_bank`, the colour
cast of a random illuminant (inverse white balance), RGGB mosaic; then darkens it by a ratio
(x1..x300) and adds calibrated noise (:mod:`nightvid.train.noise_profiles`).

**Split.** Images: validation when ``int(sha1(name)[:8], 16) % 100 < 20`` for ``name`` like
``"images/CBSD68/101085.png"`` (the name relative to ``clean/``; ~20 %). Video clips: the
frames loaded from each clip are split in time, the last quarter is validation (a video
named by hash would put all five clips on one side). ``split_of(name)`` states it in code.

**Determinism.** Sample ``i`` of a split is drawn by ``numpy.random.default_rng((seed,
split, i))``: the same seed and index always give the same arrays, in any order or process.

Tensors: packed Bayer ``(4, h, w)`` (R, Gr, Gb, B), float32, black-subtracted, normalised;
``clean`` is the darkened truth (the long exposure / ratio), in the same units as ``noisy``.
Clip samples have a leading time axis ``(T, 4, h, w)``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, SourceError
from ..isp.pack import pack_bayer
from ..synth.noise import data_dir
from ..synth.unprocess import display_to_linear, unprocess_scene
from .cameras import CameraColor, camera_bank, sample_illuminant
from .noise_profiles import NoiseDraw, apply_noise, sample_noise

__all__ = ["CleanItem", "Sample", "SynthConfig", "SynthDataset", "collate", "split_of"]

_IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
_SPLITS = {"train": 0, "val": 1}


@dataclass(frozen=True)
class SynthConfig:
    """How samples are drawn. Sizes in packed pixels (the display crop is twice as big)."""

    data: str = ""  # the shared data folder; "" = nightvid.synth.noise.data_dir()
    crop: int = 64  # packed h = w of a sample
    ratio_min: float = 1.0
    ratio_max: float = 300.0
    dark_fraction: float = 0.0  # share of ratios drawn from [dark_ratio, ratio_max] instead
    dark_ratio: float = 30.0
    eld_fraction: float = 0.6  # ELD cameras vs darktable profiles
    row_noise: bool = True
    quantisation: bool = True
    exposure_min: float = 0.25  # clean exposure scale, log-uniform in [min, 1]
    video_frames: int = 40  # frames loaded per clip (first N)
    use_video: bool = True


@dataclass(frozen=True)
class CleanItem:
    """A clean source: one image (T = 1) or the loaded frames of a clip, uint8 RGB."""

    name: str
    frames: np.ndarray  # (T, H, W, 3) uint8
    is_video: bool


@dataclass
class Sample:
    """One synthetic pair (see the module doc for units)."""

    noisy: Tensor  # (4, h, w) or (T, 4, h, w)
    clean: Tensor  # same shape: clean / ratio
    shot: float
    read: float
    ratio: float
    camera: str
    noise: str
    neutral: tuple[float, float, float]
    source: str
    extras: dict = field(default_factory=dict)  # exposure scale, illuminant cct


def split_of(name: str, val_percent: int = 20) -> str:
    """``"val"`` or ``"train"`` for a clean image named relative to ``clean/``.

    >>> split_of("images/CBSD68/101085.png") in ("train", "val")
    True
    """
    return "val" if int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 100 < val_percent \
        else "train"


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SourceError(f"{path}: not a readable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _read_video(path: Path, n: int) -> np.ndarray:
    frames = []
    try:
        with av.open(str(path)) as c:
            for fr in c.decode(video=0):
                if len(frames) >= n:
                    break
                frames.append(fr.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as exc:
        raise SourceError(f"{path}: cannot decode video ({exc})") from None
    return np.stack(frames)


def load_clean(cfg: SynthConfig, split: str) -> list[CleanItem]:
    """The clean items of ``split`` in name order (images by hash, clips by time)."""
    root = (Path(cfg.data) if cfg.data else data_dir()) / "clean"
    if not root.is_dir():
        raise SourceError(f"{root}: no clean data folder (set NIGHTVID_DATA)")
    items = []
    for p in sorted((root / "images").rglob("*")):
        name = p.relative_to(root).as_posix()
        if p.suffix.lower() in _IMAGE_SUFFIXES and split_of(name) == split:
            items.append(CleanItem(name, _read_image(p)[None], False))
    if cfg.use_video:
        for p in sorted((root / "video").iterdir()):
            if p.is_dir():
                files = sorted(f for f in p.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES)
                clip = np.stack([_read_image(f) for f in files[: cfg.video_frames]])
            elif p.suffix.lower() in (".mp4", ".mkv", ".mov", ".avi"):
                clip = _read_video(p, cfg.video_frames)
            else:
                continue
            cut = int(math.ceil(0.75 * len(clip)))
            part = clip[:cut] if split == "train" else clip[cut:]
            if len(part):
                items.append(CleanItem(p.relative_to(root).as_posix(), part, True))
    return items


class SynthDataset:
    """Seeded synthetic pairs of one split. ``ds[i]`` is sample ``i`` (a single frame).

    Args:
        cfg: sampling settings.
        split: "train" or "val".
        seed: base seed.
        items: clean items (default: :func:`load_clean`), e.g. for tests.
    """

    def __init__(self, cfg: SynthConfig, split: str = "train", seed: int = 0,
                 items: list[CleanItem] | None = None) -> None:
        if split not in _SPLITS:
            raise ConfigError(f"split: expected train or val, got {split!r}")
        self.cfg, self.split, self.seed = cfg, split, seed
        self.items = items if items is not None else load_clean(cfg, split)
        if not self.items:
            raise SourceError(f"{cfg.data or data_dir()}: no clean images in split {split!r}")
        self.cameras: list[CameraColor] = camera_bank(cfg.data or None)

    def __len__(self) -> int:
        """Number of distinct clean frames (sampling with any index is allowed)."""
        return sum(len(it.frames) for it in self.items)

    def __getitem__(self, index: int) -> Sample:
        return self.sample(index)

    def sample(self, index: int, frames: int = 1, noise: NoiseDraw | None = None) -> Sample:
        """Sample ``index``: ``frames`` > 1 gives consecutive frames of a clip (T, 4, h, w).

        Args:
            index: any int >= 0.
            frames: clip length. Items with fewer frames, or smaller than the display crop
                (``2 * cfg.crop``), are skipped, so every sample has the same size.
            noise: a fixed noise setting (evaluation); None draws one.
        """
        rng = np.random.default_rng((self.seed, _SPLITS[self.split], index, frames))
        side = 2 * self.cfg.crop
        pool = [it for it in self.items if len(it.frames) >= frames
                and min(it.frames.shape[1:3]) >= side]  # equal-size crops batch together
        if not pool:
            raise ConfigError(f"frames: no clean item has {frames} frames of >= {side} px")
        item = pool[int(rng.integers(len(pool)))] if self.split == "train" \
            else pool[index % len(pool)]
        t0 = int(rng.integers(len(item.frames) - frames + 1))
        disp = self._crop(item.frames[t0 : t0 + frames], rng)  # (T, 2c, 2c, 3) uint8
        cam = self.cameras[int(rng.integers(len(self.cameras)))]
        neutral, cct = sample_illuminant(rng, cam.color_matrix_1)
        exposure = math.exp(rng.uniform(math.log(self.cfg.exposure_min), 0.0))
        lin = display_to_linear(torch.from_numpy(disp).permute(0, 3, 1, 2).float() / 255.0)
        mos = unprocess_scene(lin, cam, illuminant_neutral=neutral, exposure_scale=exposure)
        draw = noise or sample_noise(
            rng, ratio_range=(self.cfg.ratio_min, self.cfg.ratio_max),
            eld_fraction=self.cfg.eld_fraction, row_noise=self.cfg.row_noise,
            quantisation=self.cfg.quantisation, data=self.cfg.data or None,
            dark=(self.cfg.dark_fraction, self.cfg.dark_ratio))
        noisy = torch.from_numpy(apply_noise(mos[:, 0].numpy(), draw, rng))[:, None]
        noisy_p, clean_p = pack_bayer(noisy, "RGGB"), pack_bayer(mos, "RGGB") / draw.ratio
        if frames == 1:
            noisy_p, clean_p = noisy_p[0], clean_p[0]
        return Sample(noisy_p.float(), clean_p.float(), draw.shot, draw.read, draw.ratio,
                      cam.name, draw.source, tuple(float(v) for v in neutral),
                      f"{item.name}#{t0}", {"exposure": exposure, "cct": cct})

    def _crop(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random (train) or central (val) square crop, flipped/rotated when training."""
        _, h, w, _ = frames.shape
        size = 2 * self.cfg.crop
        if self.split == "train":
            y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        else:
            y, x = (h - size) // 2, (w - size) // 2
        out = frames[:, y : y + size, x : x + size]
        if self.split == "train":
            out = np.rot90(out, int(rng.integers(4)), axes=(1, 2))
            if rng.random() < 0.5:
                out = out[:, :, ::-1]
        return np.ascontiguousarray(out)


def collate(samples: list[Sample]) -> dict[str, Tensor]:
    """Stack samples of equal size into a batch: noisy, clean (B, 4, h, w); shot, read,
    ratio (B,)."""
    return {
        "noisy": torch.stack([s.noisy for s in samples]),
        "clean": torch.stack([s.clean for s in samples]),
        "shot": torch.tensor([s.shot for s in samples], dtype=torch.float32),
        "read": torch.tensor([s.read for s in samples], dtype=torch.float32),
        "ratio": torch.tensor([s.ratio for s in samples], dtype=torch.float32),
    }
