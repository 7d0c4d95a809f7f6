"""Render every real raw in the shared data through the full pipeline: colour sanity.

Each raw gets a grey patch painted into its mosaic with the camera's own response to a
neutral (the as-shot neutral, or the colour matrix's response to D65 when there is none).
Rendered with that white balance, through the file's real colour matrices, the patch must come
out neutral: max - min of its mean RGB within 4 % of its mean (a chroma error well below what
a viewer notices on a mid grey). Mean luminance of the whole frame must lie in a sane band.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import cv2
import numpy as np
import pytest

from _helpers.data import require
from nightvid.api import resolve_overrides
from nightvid.config import load_config
from nightvid.isp.ccm import XYZ_FROM_SRGB
from nightvid.pipeline import Pipeline
from nightvid.sources import open_raw
from nightvid.types import RawMeta, cfa_offsets

NEUTRAL_TOL = 0.04
LUMA_BAND = (0.08, 0.65)
BOX = (0.4, 0.6, 0.4, 0.6)  # y0, y1, x0, x1 as fractions of the frame


def camera_neutral(meta: RawMeta) -> np.ndarray:
    """Camera RGB of a neutral: the as-shot neutral, else the matrix's response to D65."""
    if meta.as_shot_neutral is not None:
        return np.asarray(meta.as_shot_neutral, dtype=np.float64)
    m = meta.color_matrix_2 if meta.color_matrix_2 is not None else meta.color_matrix_1
    cam = m @ (XYZ_FROM_SRGB @ np.ones(3))
    return cam / cam[1]


def paint_grey(mosaic: np.ndarray, meta: RawMeta, level: float) -> np.ndarray:
    """Paint the BOX with a neutral of normalised level ``level`` (in camera green)."""
    out = mosaic.copy()
    h, w = mosaic.shape
    y0, y1, x0, x1 = (int(f * n) // 2 * 2 for f, n in zip(BOX, (h, h, w, w), strict=True))
    neutral = camera_neutral(meta)
    span = meta.white_level - np.asarray(meta.black_level)
    chan = {0: 0, 1: 1, 2: 1, 3: 2}  # planes R, Gr, Gb, B -> camera channel
    for plane, (r, c) in enumerate(cfa_offsets(meta.cfa)):
        v = meta.black_level[plane] + level * neutral[chan[plane]] * span[plane]
        out[y0 + r : y1 : 2, x0 + c : x1 : 2] = np.uint16(round(v))
    return out


def render(mosaic, meta, wb_gains, scale=0.5):
    # Sky cooling tints smooth dark regions on purpose: off for the neutrality check.
    over = resolve_overrides(scale=scale, wb=tuple(wb_gains), sky__enabled=False)
    cfg = load_config("default", over)
    display, info = Pipeline(cfg).render(mosaic, meta)
    return display[0].permute(1, 2, 0).numpy(), info


def check_frame(img: np.ndarray, name: str) -> None:
    h, w, _ = img.shape
    y0, y1, x0, x1 = BOX
    # Inner half of the patch: away from the edges the resampling and denoiser blend.
    dy, dx = (y1 - y0) * h / 4, (x1 - x0) * w / 4
    patch = img[int(y0 * h + dy) : int(y1 * h - dy), int(x0 * w + dx) : int(x1 * w - dx)]
    rgb = patch.reshape(-1, 3).mean(0)
    spread = (rgb.max() - rgb.min()) / rgb.mean()
    assert spread < NEUTRAL_TOL, f"{name}: grey patch rendered as {rgb.round(3)}"
    luma = (img @ np.array([0.2126, 0.7152, 0.0722])).mean()
    assert LUMA_BAND[0] < luma < LUMA_BAND[1], f"{name}: mean luma {luma:.3f}"
    assert np.isfinite(img).all()


def _render_checked(path, scale=0.5):
    mosaic, meta = open_raw(path)
    level = float(np.mean((mosaic - np.mean(meta.black_level)) / meta.white_level))
    painted = paint_grey(mosaic, meta, max(level, 0.01))
    img, info = render(painted, meta, 1.0 / camera_neutral(meta), scale)
    check_frame(img, str(path))
    return meta, img, info


def test_nikon_crop():
    meta, img, _ = _render_checked(require("raw/nikon_crop/DSC_1339_768x512_rggb.raw"), 1.0)
    assert img.shape == (512, 768, 3)
    assert meta.cfa == "RGGB" and meta.black_level == (600.0,) * 4


@pytest.mark.parametrize("name", ["bayer_small.png", "bayer_2592_304.pgm"])
def test_n900(name):
    meta, img, _ = _render_checked(require(f"raw/n900/{name}"), 1.0)
    assert meta.cfa == "GRBG"
    assert "as_shot_neutral" in meta.assumed


def test_blackmagic_cinemadng():
    meta, img, _ = _render_checked(require("raw/cinemadng/Blackmagic.dng"), 0.25)
    # rawpy reports an all-zero matrix for this file: the matrices must come from the tags.
    assert meta.color_matrix_1 is not None and np.abs(meta.color_matrix_1).sum() > 0.5
    assert meta.origin["color_matrix_1"] == "dng tag"
    np.testing.assert_allclose(meta.as_shot_neutral, (0.4533, 1.0, 0.53), atol=2e-3)
    assert img.shape == (544, 1032, 3)


def test_as_shot_render_of_blackmagic_is_not_tinted():
    """The plain as-shot render (no painted patch) has balanced channel means."""
    mosaic, meta = open_raw(require("raw/cinemadng/Blackmagic.dng"))
    cfg = load_config("default", resolve_overrides(scale=0.25, wb="as-shot"))
    img = Pipeline(cfg).render(mosaic, meta)[0][0].numpy()
    means = img.reshape(3, -1).mean(1)
    assert (means.max() - means.min()) / means.mean() < 0.35, means


@pytest.mark.parametrize("sidecar", ["nightimaging24_test_canon.json",
                                     "nightimaging24_test_huawei.json"])
def test_npr_png_beside_sidecar(tmp_path, sidecar):
    """An NPR-challenge mosaic: a 16-bit PNG written beside one of the challenge's JSONs."""
    js = tmp_path / "night.json"
    shutil.copy(require(f"raw/npr_metadata/{sidecar}"), js)
    data = json.loads(js.read_text())
    png = tmp_path / "night.png"
    rng = np.random.default_rng(5)
    # A dark textured scene: smooth blobs plus noise, in the sidecar's level range.
    base = cv2.GaussianBlur(rng.random((96, 128)), (0, 0), 6)
    # Large enough that the patch interior lies beyond the chroma denoiser's reach (~32 px).
    field = cv2.resize(base, (512, 384), interpolation=cv2.INTER_CUBIC)
    white = float(np.ravel([data["white_level"]])[0])
    black = 2048.0 if "canon" in sidecar else 256.0
    mosaic = black + (white - black) * (0.01 + 0.04 * field / field.max())
    mosaic += rng.normal(0, 4, mosaic.shape)
    cv2.imwrite(str(png), np.clip(mosaic, 0, 65535).astype(np.uint16))
    meta, img, _ = _render_checked(png, 1.0)
    assert meta.origin["black_level"] == "sidecar"
    assert meta.black_level == (black,) * 4
    assert img.shape[:2] == (384, 512)


def test_npr_fields_parsed():
    """Fraction-encoded matrices and the nested noise profile of the NPR format."""
    src = require("raw/npr_metadata/nightimaging24_test_canon.json")
    from nightvid.sources.sidecar_meta import load_sidecar, meta_from_sidecar

    meta = meta_from_sidecar(load_sidecar(src), src, src.with_suffix(".png"))
    assert meta.cfa == "GBRG"
    assert meta.white_level == 12600
    assert meta.color_matrix_1[0, 0] == pytest.approx(581 / 500)
    assert meta.noise_profile == pytest.approx((0.00010826276035706111, 3.175930183461187e-07))
    assert dataclasses.asdict(meta)["orientation"] == 1
