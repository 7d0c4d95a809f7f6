"""Colour: camera RGB -> XYZ -> linear sRGB, with the matrix chosen for the scene illuminant.

Matrix maths runs once per frame (or per white-balance refresh) on the host in float64, on 3x3
matrices; only :func:`apply_ccm` touches image tensors. Conventions follow the DNG
specification: ColorMatrix maps XYZ to camera RGB; two matrices calibrated at two illuminants
are interpolated linearly in inverse colour temperature.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._checks import check_shape

#: Linear sRGB (D65) -> XYZ, IEC 61966-2-1.
XYZ_FROM_SRGB = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]]
)
SRGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_SRGB)


def xy_to_cct(x: float, y: float) -> float:
    """Correlated colour temperature (K) from CIE xy (McCamy 1992; good within 2000-12500 K)."""
    n = (x - 0.3320) / (0.1858 - y)
    return float(449.0 * n**3 + 3525.0 * n**2 + 6823.3 * n + 5520.33)


def interpolate_matrix(m1: np.ndarray, t1: float, m2: np.ndarray, t2: float,
                       t: float) -> np.ndarray:
    """DNG interpolation of two matrices by inverse colour temperature, clamped to [t1, t2]."""
    if abs(1 / t1 - 1 / t2) < 1e-9:
        return m1
    w = (1 / t - 1 / t2) / (1 / t1 - 1 / t2)
    w = min(1.0, max(0.0, w))
    return w * m1 + (1 - w) * m2


def matrix_for_neutral(
    cm1: np.ndarray | None,
    t1: float | None,
    cm2: np.ndarray | None,
    t2: float | None,
    neutral: np.ndarray,
) -> tuple[np.ndarray, float]:
    """XYZ->camera matrix for the illuminant whose camera neutral is ``neutral``.

    The illuminant's temperature depends on the matrix and the matrix on the temperature:
    iterate a few times from the mean of the two (converges in 3-4 steps).

    Returns:
        (xyz_to_cam 3x3, cct in K).
    """
    if cm1 is None and cm2 is None:
        raise ValueError("no colour matrix")
    if cm1 is None or cm2 is None or t1 is None or t2 is None:
        m = cm1 if cm1 is not None else cm2
        xyz = np.linalg.solve(m, neutral)
        return m, xy_to_cct(*(xyz[:2] / xyz.sum()))
    m = 0.5 * (cm1 + cm2)
    cct = 5000.0
    for _ in range(6):
        xyz = np.linalg.solve(m, neutral)
        s = xyz.sum()
        cct = xy_to_cct(xyz[0] / s, xyz[1] / s) if s > 0 else 5000.0
        cct = float(np.clip(cct, 1500.0, 15000.0))
        m = interpolate_matrix(cm1, t1, cm2, t2, cct)
    return m, cct


def srgb_from_camera(xyz_to_cam: np.ndarray) -> np.ndarray:
    """3x3 matrix from white-balanced camera RGB to linear sRGB.

    Rows of camera<-sRGB are normalised to sum to 1, so sRGB white (1, 1, 1) maps to camera
    (1, 1, 1): white balance has already made the scene neutral equal in every channel, and
    this matrix then only converts primaries (the approach of dcraw and of Brooks et al. 2019).

    >>> m = srgb_from_camera(np.linalg.inv(XYZ_FROM_SRGB))
    >>> np.allclose(m, np.eye(3))
    True
    """
    cam_from_srgb = xyz_to_cam @ XYZ_FROM_SRGB
    cam_from_srgb = cam_from_srgb / cam_from_srgb.sum(axis=1, keepdims=True)
    return np.linalg.inv(cam_from_srgb)


def apply_ccm(rgb: Tensor, matrix: Tensor) -> Tensor:
    """Apply a 3x3 colour matrix per pixel.

    Args:
        rgb: (B, 3, H, W) linear.
        matrix: (3, 3) or (B, 3, 3), output = matrix @ input.
    Returns:
        (B, 3, H, W).
    """
    check_shape(rgb, "rgb", ("B", 3, "H", "W"))
    m = matrix.to(rgb)
    if m.ndim == 2:
        # einsum (a batched matmul), not a 1x1 convolution: oneDNN's 1x1 conv on the CPU was
        # 15x slower (90 vs 6 ms at 1080p, 2 cores).
        return torch.einsum("ij,bjhw->bihw", m, rgb)
    return torch.einsum("bij,bjhw->bihw", m, rgb)
