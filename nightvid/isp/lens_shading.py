"""Lens shading (vignetting) correction from a gain map or a flat-field calibration frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape


def apply_gain_map(packed: Tensor, gain_map: Tensor) -> Tensor:
    """Multiply each plane by its smooth gain map, bilinearly interpolated to the plane size.

    Args:
        packed: (B, 4, h, w) linear.
        gain_map: (4, gh, gw) or (B, 4, gh, gw) gains >= 1 typically; grid points span the
            frame corner to corner (first point at the top-left sample, last at bottom-right).
    Returns:
        (B, 4, h, w).
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    g = gain_map.to(packed)
    if g.ndim == 3:
        g = g[None]
    g = F.interpolate(g, size=packed.shape[-2:], mode="bilinear", align_corners=True)
    return packed * g


def gain_map_from_flat_field(flat: Tensor, grid: tuple[int, int] = (17, 25)) -> Tensor:
    """Gain map that flattens a (black-corrected) flat-field frame.

    Args:
        flat: (1, 4, h, w) or (4, h, w) linear packed planes of a uniformly lit target.
        grid: (gh, gw) points of the returned map.
    Returns:
        (4, gh, gw) float32 gains; the brightest point of each plane gets gain 1.
    """
    f = (flat if flat.ndim == 4 else flat[None])[0].float()  # (4, h, w)
    # Vignetting is smooth: fit a degree-6 bivariate polynomial per plane to an area-averaged
    # copy (averaging removes noise and target texture), then evaluate it on the corner-aligned
    # grid. A fit, unlike resampling, has no bias at the borders, where the falloff is steepest.
    ah, aw = min(48, f.shape[-2]), min(64, f.shape[-1])
    small = F.interpolate(f[None], size=(ah, aw), mode="area")[0].double()  # (4, ah, aw)
    # Area cells are centred at (i + 0.5) / n of the frame; the grid spans sample 0 to h - 1.
    h, w = f.shape[-2:]
    ys = ((torch.arange(ah) + 0.5) * h / ah - 0.5) / max(h - 1, 1)
    xs = ((torch.arange(aw) + 0.5) * w / aw - 0.5) / max(w - 1, 1)
    basis = _poly_basis(*torch.meshgrid(ys.double(), xs.double(), indexing="ij"))  # (ah*aw, k)
    coef = torch.linalg.lstsq(basis, small.reshape(4, -1).T).solution  # (k, 4)
    gy, gx = torch.meshgrid(torch.linspace(0, 1, grid[0], dtype=torch.float64),
                            torch.linspace(0, 1, grid[1], dtype=torch.float64), indexing="ij")
    smooth = (_poly_basis(gy, gx) @ coef).T.reshape(4, *grid)
    peak = smooth.amax(dim=(-2, -1), keepdim=True)
    return (peak / smooth.clamp_min(peak * 1e-3)).to(torch.float32)


def _poly_basis(y: Tensor, x: Tensor, degree: int = 6) -> Tensor:
    """Monomials y^i x^j, i + j <= degree, of centred coordinates: (N, k)."""
    y, x = (2 * y - 1).flatten(), (2 * x - 1).flatten()
    return torch.stack([y**i * x**j for i in range(degree + 1) for j in range(degree + 1 - i)],
                       dim=1)
