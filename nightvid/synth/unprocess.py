"""Unprocessing: linear sRGB (or clean display sRGB) -> the camera raw mosaic a sensor would see.

Brooks, Mildenhall, Xue, Chen, Sharlet and Barron, "Unprocessing Images for Learned Raw
Denoising", CVPR 2019: invert each stage of the camera pipeline in reverse order. Here the
stages inverted are nightvid's own, so a round trip through the forward pipeline returns the
input:

==========================  ==================================================================
forward (nightvid.isp)      inverse (this module)
==========================  ==================================================================
lens shading x gain map     :func:`unprocess_scene` divides by the same interpolated map
WB gains = 1 / neutral      x neutral (the sensor sees the scene under its illuminant)
CCM ``srgb_from_camera``    :func:`linear_srgb_to_camera` (its exact inverse)
tone + sRGB encoding        :func:`display_to_linear` (inverse smoothstep, sRGB decoding)
==========================  ==================================================================

Conventions: torch tensors, linear RGB ``(B, 3, H, W)``, mosaic ``(B, 1, H, W)`` with H and W
even, camera planes R, G, B; colour matrices as DNG ``ColorMatrix`` (XYZ -> camera, 3x3).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ..errors import MetadataError, ShapeError
from ..isp.ccm import XYZ_FROM_SRGB, matrix_for_neutral
from ..isp.pack import pack_bayer, unpack_bayer
from ..isp.tone import srgb_eotf, srgb_oetf
from ..types import cfa_offsets


class MetaLike(Protocol):
    """What :func:`unprocess_scene` reads from a :class:`nightvid.types.RawMeta`."""

    @property
    def cfa(self) -> str: ...
    @property
    def as_shot_neutral(self) -> tuple[float, float, float] | None: ...
    @property
    def color_matrix_1(self) -> np.ndarray | None: ...
    @property
    def color_matrix_2(self) -> np.ndarray | None: ...
    @property
    def cct_1(self) -> float | None: ...
    @property
    def cct_2(self) -> float | None: ...
    @property
    def gain_map(self) -> np.ndarray | None: ...


def srgb_to_linear(srgb: Tensor) -> Tensor:
    """IEC 61966-2-1 decoding of sRGB values in [0, 1] (any shape)."""
    return srgb_eotf(srgb)


def linear_to_srgb(lin: Tensor) -> Tensor:
    """IEC 61966-2-1 encoding of linear values, clipped to [0, 1] (any shape)."""
    return srgb_oetf(lin)


def smoothstep(x: Tensor) -> Tensor:
    """The global tone curve of Brooks et al. 2019: ``3x^2 - 2x^3`` on [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def inverse_smoothstep(y: Tensor) -> Tensor:
    """Exact inverse of :func:`smoothstep` on [0, 1]: ``0.5 - sin(asin(1 - 2y) / 3)``.

    >>> x = torch.linspace(0, 1, 5)
    >>> torch.allclose(inverse_smoothstep(smoothstep(x)), x, atol=1e-6)
    True
    """
    y = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * y) / 3.0)


def display_to_linear(srgb: Tensor) -> Tensor:
    """A clean display-referred sRGB image in [0, 1] -> approximately scene-linear sRGB.

    Undoes a global tone curve (smoothstep) and then the sRGB encoding, the inverse of
    ``encode(smoothstep)`` order used by Brooks et al. 2019. Divide 8-bit input by 255 first.
    """
    return srgb_to_linear(inverse_smoothstep(srgb))


def camera_from_srgb(xyz_to_cam: np.ndarray) -> np.ndarray:
    """3x3 linear sRGB -> white-balanced camera RGB: the inverse of ``srgb_from_camera``.

    Rows are normalised to sum to 1, so sRGB white maps to camera (1, 1, 1).

    >>> from nightvid.isp.ccm import srgb_from_camera
    >>> m = np.array([[0.5, -0.1, 0.0], [-0.3, 1.0, 0.2], [-0.1, 0.2, 0.5]])
    >>> np.allclose(camera_from_srgb(m) @ srgb_from_camera(m), np.eye(3))
    True
    """
    cam = np.asarray(xyz_to_cam, np.float64) @ XYZ_FROM_SRGB
    return cam / cam.sum(axis=1, keepdims=True)


def linear_srgb_to_camera(lin_srgb: Tensor, xyz_to_cam: np.ndarray | Tensor) -> Tensor:
    """Linear sRGB -> white-balanced camera RGB.

    Args:
        lin_srgb: (B, 3, H, W) scene-linear sRGB.
        xyz_to_cam: (3, 3) DNG-style XYZ -> camera matrix.
    Returns:
        (B, 3, H, W) camera RGB in which a neutral is (1, 1, 1) x its level; multiply by an
        illuminant's camera neutral to get what the sensor records under that light.
    """
    check_shape(lin_srgb, "lin_srgb", ("B", 3, "H", "W"))
    m = camera_from_srgb(np.asarray(torch.as_tensor(xyz_to_cam).cpu(), np.float64))
    m_t = torch.from_numpy(m).to(lin_srgb)
    return torch.einsum("ij,bjhw->bihw", m_t, lin_srgb)


def mosaic(cam_rgb: Tensor, cfa: str = "RGGB") -> Tensor:
    """Sample camera RGB through a Bayer colour filter array.

    Args:
        cam_rgb: (B, 3, H, W), H and W even.
        cfa: "RGGB", "BGGR", "GRBG" or "GBRG" (row-major 2x2 pattern).
    Returns:
        (B, 1, H, W) in the sensor's own layout: ``pack_bayer(mosaic(x, cfa), cfa)`` gives
        the R, Gr, Gb, B planes.

    >>> x = torch.stack([torch.full((2, 2), v) for v in (1.0, 2.0, 3.0)])[None]
    >>> mosaic(x, "GRBG")[0, 0].tolist()
    [[2.0, 1.0], [3.0, 2.0]]
    """
    check_shape(cam_rgb, "cam_rgb", ("B", 3, "H", "W"))
    if cam_rgb.shape[-2] % 2 or cam_rgb.shape[-1] % 2:
        raise ShapeError(f"cam_rgb: expected even H and W, got {tuple(cam_rgb.shape[-2:])}")
    channel = (0, 1, 1, 2)  # planes R, Gr, Gb, B take camera R, G, G, B
    planes = [cam_rgb[:, c, dy::2, dx::2] for c, (dy, dx) in zip(channel, cfa_offsets(cfa),
                                                                  strict=True)]
    return unpack_bayer(torch.stack(planes, dim=1), cfa)  # (B,4,h,w) -> (B,1,H,W)


def _xyz_to_cam(meta: MetaLike, neutral: np.ndarray) -> np.ndarray:
    """The XYZ -> camera matrix the forward pipeline will choose for ``neutral``."""
    if meta.color_matrix_1 is None and meta.color_matrix_2 is None:
        return np.linalg.inv(XYZ_FROM_SRGB)  # no matrix: the pipeline uses identity
    m, _ = matrix_for_neutral(meta.color_matrix_1, meta.cct_1, meta.color_matrix_2, meta.cct_2,
                              neutral)
    return m


def _divide_gain_map(mos: Tensor, gain_map: np.ndarray, cfa: str) -> Tensor:
    """Inverse of :func:`nightvid.isp.lens_shading.apply_gain_map` on a mosaic."""
    packed = pack_bayer(mos, cfa)
    g = torch.as_tensor(np.asarray(gain_map, np.float32)).to(packed)[None]
    g = F.interpolate(g, size=packed.shape[-2:], mode="bilinear", align_corners=True)
    return unpack_bayer(packed / g, cfa)


def unprocess_scene(
    lin_srgb: Tensor,
    meta_like: MetaLike,
    *,
    illuminant_neutral: tuple[float, float, float] | np.ndarray | None = None,
    exposure_scale: float = 1.0,
    clip: bool = True,
) -> Tensor:
    """Scene-linear sRGB -> the normalised raw mosaic the camera of ``meta_like`` records.

    Steps (the inverse of nightvid's forward stages, in reverse): sRGB -> white-balanced
    camera RGB with the matrix the pipeline will pick for this neutral; times the illuminant's
    camera neutral (the white balance is *not* applied: a sensor sees the scene's colour
    cast); times ``exposure_scale``; Bayer sampling in ``meta_like.cfa``; divided by the lens
    shading gain map when ``meta_like.gain_map`` is set (vignetting); clipped to [0, 1].

    Args:
        lin_srgb: (B, 3, H, W) scene-linear sRGB radiance, H and W even.
        meta_like: a RawMeta (or anything with its colour fields): ``cfa``, colour matrices
            with their CCTs, ``as_shot_neutral``, ``gain_map``.
        illuminant_neutral: camera RGB of a neutral under the scene light (G = 1); defaults
            to ``meta_like.as_shot_neutral``.
        exposure_scale: radiance -> normalised raw value (1.0 maps radiance 1 to white
            before the neutral's channel scaling).
        clip: clip to [0, 1] (sensor saturation). Turn off to darken and add noise later.
    Returns:
        (B, 1, H, W) float mosaic, normalised (0 = black level, 1 = white level).
    Raises:
        MetadataError: no neutral given and none in ``meta_like``.
    """
    check_shape(lin_srgb, "lin_srgb", ("B", 3, "H", "W"))
    neutral = illuminant_neutral if illuminant_neutral is not None else meta_like.as_shot_neutral
    if neutral is None:
        raise MetadataError("unprocess_scene: expected illuminant_neutral or "
                            "meta_like.as_shot_neutral, got neither")
    n = np.asarray(neutral, np.float64)
    n = n / n[1]
    cam = linear_srgb_to_camera(lin_srgb, _xyz_to_cam(meta_like, n))
    scale = torch.from_numpy(n * exposure_scale).to(cam).reshape(1, 3, 1, 1)
    mos = mosaic(cam * scale, meta_like.cfa)
    if meta_like.gain_map is not None:
        mos = _divide_gain_map(mos, meta_like.gain_map, meta_like.cfa)
    return mos.clamp(0.0, 1.0) if clip else mos
