"""Synthetic noisy raw video from clean clips, to evaluate temporal filters against ground truth.

:func:`clean_clip` decodes a clean video (any file PyAV opens) or a folder of frames into
display sRGB; :func:`noisy_raw_clip` unprocesses it to a Sony A7S2 raw mosaic (after Brooks
et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019), darkens it and adds ELD's
calibrated noise (Wei et al., CVPR 2020), independently in every frame; :func:`static_mask`
marks where the clean clip does not move, where a temporal filter should leave no flicker.

Arrays are NumPy, time first: clips ``(T, H, W, 3)``, mosaics ``(T, H, W)`` (RGGB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
import torch

from ..errors import ShapeError, SourceError
from ..types import RawMeta
from .noise import load_eld_noise
from .samples import SONY_A7S2_XYZ_TO_CAM, STREET_3500K_XY, illuminant_neutral
from .unprocess import srgb_to_linear, unprocess_scene

__all__ = ["IMAGE_SUFFIXES", "clean_clip", "noisy_raw_clip", "static_mask"]

#: Frame files :func:`clean_clip` reads from a folder (sorted by name).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def _resize(img: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or img.shape[:2] == tuple(size):
        return img
    h, w = size
    shrink = h <= img.shape[0] and w <= img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _read_image(path: Path) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] from an 8- or 16-bit image file."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SourceError(f"{path}: not a readable image")
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)
    return img.astype(np.float32) / np.float32(scale)


def _folder_frames(folder: Path, n_frames: int | None, size: tuple[int, int] | None,
                   ) -> list[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [_resize(_read_image(p), size) for p in files[:n_frames]]


def _video_frames(path: Path, n_frames: int | None, size: tuple[int, int] | None,
                  ) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                if n_frames is not None and len(frames) >= n_frames:
                    break
                rgb = frame.to_ndarray(format="rgb24")  # a fresh array, owned by us
                frames.append(_resize(rgb.astype(np.float32) / np.float32(255.0), size))
    except (av.error.FFmpegError, IndexError) as exc:  # IndexError: no video stream
        raise SourceError(f"{path}: cannot decode video ({exc})") from None
    return frames


def clean_clip(path: str | Path, n_frames: int | None = None,
               size: tuple[int, int] | None = None) -> np.ndarray:
    """The first ``n_frames`` frames of a clean clip as display sRGB.

    Args:
        path: a video file PyAV can decode (e.g. ``clean/video/bikes.mp4``), or a folder of
            frames (PNG, JPEG, BMP, TIFF; 8 or 16 bit), read in name order.
        n_frames: how many frames, from the first; None: all.
        size: (height, width) to resize every frame to (area averaging when shrinking); None
            keeps the clip's size.
    Returns:
        (T, H, W, 3) float32 sRGB (gamma-encoded, as decoded) in [0, 1].
    Raises:
        SourceError: a missing path, an undecodable file, or fewer than ``n_frames`` frames.
    """
    p = Path(path)
    if n_frames is not None and n_frames < 1:
        raise SourceError(f"{p}: n_frames expected >= 1, got {n_frames}")
    if p.is_dir():
        frames = _folder_frames(p, n_frames, size)
    elif p.is_file():
        frames = _video_frames(p, n_frames, size)
    else:
        raise SourceError(f"{p}: no such video file or frame folder")
    if not frames or (n_frames is not None and len(frames) < n_frames):
        raise SourceError(f"{p}: expected {n_frames or 'at least 1'} frames, got {len(frames)}")
    return np.stack(frames)


def _check_clip(clean_srgb: np.ndarray, name: str) -> None:
    if clean_srgb.ndim != 4 or clean_srgb.shape[-1] != 3 or clean_srgb.shape[0] < 1:
        raise ShapeError(f"{name}: expected (T, H, W, 3), got {tuple(clean_srgb.shape)}")


def noisy_raw_clip(
    clean_srgb: np.ndarray,
    *,
    ratio: float = 100.0,
    camera: str = "SonyA7S2",
    iso: float = 3200.0,
    seed: int = 0,
    illuminant_xy: tuple[float, float] = STREET_3500K_XY,
    xyz_to_cam: np.ndarray = SONY_A7S2_XYZ_TO_CAM,
    read_model: Literal["tukey", "gaussian"] = "tukey",
) -> tuple[np.ndarray, np.ndarray, RawMeta]:
    """Turn a clean sRGB clip into the dark, noisy raw clip a camera would record, and its truth.

    Per frame: sRGB decoding -> linear sRGB; the inverse of the colour matrix the pipeline
    will pick (``xyz_to_cam``, Sony A7S2 by default); times the camera neutral of one light
    (``illuminant_xy``, fixed for the whole clip: the inverse white balance); RGGB sampling;
    clipped to [0, 1]: the clean mosaic. Then darkened ``ratio`` x, ELD noise of ``camera`` at
    ``iso`` (Poisson shot, Tukey-lambda read, row noise, 14-bit rounding) drawn from
    ``default_rng([seed, t])``: independent in every frame, and frame t's noise does not
    depend on T.

    Args:
        clean_srgb: (T, H, W, 3) float display sRGB in [0, 1], H and W even.
        ratio: darkening of the noisy exposure relative to the clean one, >= 1.
        camera: ELD calibration for the noise (:func:`load_eld_noise`; the shared JSON when
            present, else the built-in Sony A7S2 constants).
        iso: the noise's gain setting.
        seed: noise seed.
        illuminant_xy: CIE xy of the scene light; its camera neutral is the AsShotNeutral.
        xyz_to_cam: (3, 3) DNG ColorMatrix (XYZ -> camera), stored as ColorMatrix1 (D65).
        read_model: "tukey" (ELD's best fit) or "gaussian".
    Returns:
        ``(noisy, clean, meta)``: noisy (T, H, W) uint16 whole DN, black 512, white 16383;
        clean (T, H, W) float32 normalised mosaics in [0, 1] of the *bright* exposure (so
        ``(noisy - 512) / 15871 * ratio`` estimates ``clean``); and the RawMeta, whose
        ``noise_profile`` (shot, read) is on the normalised [0, 1] range of the dark frames.
    Raises:
        ShapeError: ``clean_srgb`` is not (T, H, W, 3), or H or W is odd.
        ConfigError: ``ratio`` < 1 or another bad noise setting.
        SourceError: no calibration for ``camera``.

    >>> clip = np.full((2, 4, 6, 3), 0.5, np.float32)
    >>> noisy, clean, meta = noisy_raw_clip(clip, ratio=10)
    >>> noisy.shape, noisy.dtype, clean.shape, meta.black_level[0], meta.white_level
    ((2, 4, 6), dtype('uint16'), (2, 4, 6), 512.0, 16383.0)
    """
    clip = np.asarray(clean_srgb)
    _check_clip(clip, "noisy_raw_clip: clean_srgb")
    t_len, h, w = clip.shape[:3]
    if h % 2 or w % 2:
        raise ShapeError(f"noisy_raw_clip: clean_srgb: expected even H and W, got {h}x{w}")
    noise = load_eld_noise(camera, iso=iso, ratio=ratio, read_model=read_model)
    meta = RawMeta(
        black_level=(noise.black_level,) * 4, white_level=noise.white_level, cfa="RGGB",
        as_shot_neutral=illuminant_neutral(illuminant_xy, xyz_to_cam),
        color_matrix_1=np.asarray(xyz_to_cam, np.float64), cct_1=6504.0,
        noise_profile=noise.profile(), iso=float(iso), camera=f"{camera} synthetic",
        source="nightvid.synth.video.noisy_raw_clip",
    )
    noisy = np.empty((t_len, h, w), np.uint16)
    clean = np.empty((t_len, h, w), np.float32)
    for t in range(t_len):
        srgb = torch.from_numpy(np.ascontiguousarray(clip[t], np.float32))
        lin = srgb_to_linear(srgb.permute(2, 0, 1)[None])  # (H,W,3) -> (1,3,H,W)
        mos = unprocess_scene(lin, meta, exposure_scale=1.0, clip=True)[0, 0].numpy()
        clean[t] = mos
        noisy[t] = noise.apply(mos, np.random.default_rng([seed, t])).astype(np.uint16)
    return noisy, clean, meta


def static_mask(clean_srgb: np.ndarray, thresh: float = 0.02, *, radius: int = 0) -> np.ndarray:
    """Where the clean clip is static between consecutive frames (to measure flicker there).

    A pixel is static between frames t and t + 1 when no channel changes by ``thresh`` or
    more; with ``radius`` > 0, also every pixel within that many pixels (a square window) must
    be static, which keeps moving edges and their neighbours out.

    Args:
        clean_srgb: (T, H, W, 3) float clip, T >= 2 (any range: ``thresh`` is in its units).
        thresh: largest change counted as static.
        radius: half-size of the square neighbourhood that must be static too, pixels.
    Returns:
        (T - 1, H, W) bool, True where static.
    Raises:
        ShapeError: ``clean_srgb`` is not (T, H, W, 3) with T >= 2.

    >>> clip = np.zeros((3, 4, 4, 3), np.float32)
    >>> clip[2, 0, 0] = 1.0
    >>> static_mask(clip).sum(axis=(1, 2)).tolist()
    [16, 15]
    """
    clip = np.asarray(clean_srgb)
    _check_clip(clip, "static_mask: clean_srgb")
    if clip.shape[0] < 2:
        raise ShapeError(f"static_mask: clean_srgb: expected T >= 2, got {tuple(clip.shape)}")
    change = np.abs(np.diff(clip.astype(np.float32), axis=0)).max(axis=-1)  # (T-1, H, W)
    static = change < thresh
    if radius > 0:
        kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
        static = np.stack([cv2.erode(s.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
                           for s in static]).astype(bool)
    return static
