"""What the preview shows: the original beside the enhanced frame, and the HUD bar.

All host-side, on ``(H, W, 3)`` uint8 display RGB (the sinks' layout): the preview converts the
enhanced frame to integers on the device once and composes at display size, which costs a few
milliseconds at preview sizes.

The *original* of a raw frame is the mosaic as it is, with no gain, white balance or tone: the
R, mean G and B planes at half resolution, sRGB-encoded. That is what the sensor saw, so the
split screen shows what nightvid adds.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch

from ..isp.orientation import apply_orientation
from ..types import RawMeta, cfa_offsets

View = Literal["split", "side", "enhanced", "original"]
VIEWS: tuple[View, ...] = ("split", "side", "enhanced", "original")

HUD_LINE_PX = 18  # height of one HUD text line
_DIVIDER = 128  # grey of the split line: neither half's brightness
_LUT_SIZE = 4096
_FONT, _FONT_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.42


def _srgb_lut() -> np.ndarray:
    """Linear [0, 1] in 4096 steps -> 8-bit sRGB (IEC 61966-2-1)."""
    x = np.linspace(0.0, 1.0, _LUT_SIZE)
    enc = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(enc * 255).astype(np.uint8)


_SRGB = _srgb_lut()


def fit(img: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, 3) to ``size_wh`` (area when shrinking, bilinear when enlarging)."""
    w, h = size_wh
    if img.shape[1] == w and img.shape[0] == h:
        return img
    shrink = img.shape[1] > w
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def original_display(data: np.ndarray, meta: RawMeta | None,
                     size_wh: tuple[int, int]) -> np.ndarray:
    """The frame as captured, at display size ``size_wh``: (h, w, 3) uint8 sRGB.

    Args:
        data: (H, W, 3) uint8/uint16 display RGB (RGB path), or an (H, W) mosaic in sensor DN.
        meta: the mosaic's metadata (None for RGB).
        size_wh: (width, height) of the enhanced frame it is shown beside.
    """
    if meta is None:
        rgb = data if data.dtype == np.uint8 else (data >> 8).astype(np.uint8)
        return fit(rgb, size_wh)
    planes = [data[r::2, c::2].astype(np.float32) for r, c in cfa_offsets(meta.cfa)]
    black = meta.black_level
    scale = [1.0 / max(meta.white_level - b, 1e-6) for b in black]
    lin = [(p - b) * s for p, b, s in zip(planes, black, scale, strict=True)]
    cam = np.stack([lin[0], (lin[1] + lin[2]) * 0.5, lin[3]], axis=-1)  # (H/2, W/2, 3)
    idx = np.clip(cam * (_LUT_SIZE - 1) + 0.5, 0, _LUT_SIZE - 1).astype(np.int32)
    rgb = _SRGB[idx]
    if meta.orientation != 1:  # the enhanced frame is upright: turn the original the same way
        t = torch.from_numpy(rgb).permute(2, 0, 1)[None]  # (h,w,3) -> (1,3,h,w)
        rgb = apply_orientation(t, meta.orientation)[0].permute(1, 2, 0).contiguous().numpy()
    return fit(rgb, size_wh)


def compose(original: np.ndarray, enhanced: np.ndarray, view: View) -> np.ndarray:
    """Before/after at the same size: ``split`` (left half original, right half enhanced, a
    grey line between), ``side`` (side by side, twice as wide), or one of them alone."""
    if view == "enhanced":
        return enhanced
    if view == "original":
        return original
    if view == "side":
        return np.hstack([original, enhanced])
    out = enhanced.copy()
    half = out.shape[1] // 2
    out[:, :half] = original[:, :half]
    out[:, max(half - 1, 0): half + 1] = _DIVIDER
    return out


def wrap(groups: list[list[str]], width: int) -> list[str]:
    """Pack each group's items into lines that fit ``width`` pixels (a group starts a line)."""
    lines: list[str] = []
    for items in groups:
        line = ""
        for item in items:
            trial = f"{line}  {item}" if line else item
            if line and cv2.getTextSize(trial, _FONT, _FONT_SCALE, 1)[0][0] > width - 12:
                lines.append(line)
                trial = item
            line = trial
        if line:
            lines.append(line)
    return lines


def with_hud(image: np.ndarray, groups: list[list[str]]) -> np.ndarray:
    """``image`` with a dark bar of text below it (the picture itself stays uncovered); each
    group of items starts a new line and wraps to the image's width."""
    w = image.shape[1]
    lines = wrap(groups, w)
    bar = np.full((HUD_LINE_PX * len(lines) + 6, w, 3), 24, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(bar, text, (6, HUD_LINE_PX * (i + 1)), _FONT, _FONT_SCALE, (235, 235, 235),
                    1, cv2.LINE_AA)
    return np.vstack([image, bar])
