"""Demosaicing: Malvar-He-Cutler for full resolution, plane averaging for half resolution.

Malvar, He and Cutler, "High-quality linear interpolation for demosaicing of Bayer-patterned
color images", ICASSP 2004: bilinear interpolation corrected by the Laplacian of the channel
that is present, as four fixed 5x5 filters. Here they run as one convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ._consts import on
from .pack import pack_bayer, unpack_bayer

# The four MHC filters (times 8): green at red/blue sites; the colour whose neighbours are left
# and right of a green site; the colour whose neighbours are above and below; red at blue
# (and blue at red) sites.
_G_AT_RB = [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]
_HORIZ = [[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0],
          [0, 0, 0.5, 0, 0]]
_VERT = [[0, 0, -1, 0, 0], [0, -1, 4, -1, 0], [0.5, 0, 5, 0, 0.5], [0, -1, 4, -1, 0],
         [0, 0, -1, 0, 0]]
_DIAG = [[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0],
         [0, 0, -1.5, 0, 0]]
_KERNELS = torch.tensor([_G_AT_RB, _HORIZ, _VERT, _DIAG]) / 8.0  # (4,5,5)


def demosaic_mhc(mosaic: Tensor, cfa: str = "RGGB") -> Tensor:
    """Full-resolution demosaic with the Malvar-He-Cutler filters.

    Args:
        mosaic: (B, 1, H, W) linear, H and W even.
        cfa: the 2x2 pattern of ``mosaic``.
    Returns:
        (B, 3, H, W) camera RGB.
    """
    check_shape(mosaic, "mosaic", ("B", 1, "H", "W"))
    k = on(_KERNELS, mosaic)[:, None]  # (4,1,5,5)
    f = F.conv2d(F.pad(mosaic, (2, 2, 2, 2), mode="reflect"), k)  # (B,4,H,W)
    m = pack_bayer(mosaic, cfa)  # (B,4,h,w) samples at R, Gr, Gb, B sites
    g5, hz, vt, dg = (pack_bayer(f[:, i : i + 1], cfa) for i in range(4))
    # Per site (planes R, Gr, Gb, B): where each output channel comes from.
    r = torch.stack([m[:, 0], hz[:, 1], vt[:, 2], dg[:, 3]], dim=1)
    g = torch.stack([g5[:, 0], m[:, 1], m[:, 2], g5[:, 3]], dim=1)
    b = torch.stack([dg[:, 0], vt[:, 1], hz[:, 2], m[:, 3]], dim=1)
    return torch.cat([unpack_bayer(c, cfa) for c in (r, g, b)], dim=1)


def demosaic_bilinear(mosaic: Tensor, cfa: str = "RGGB") -> Tensor:
    """Bilinear demosaic (reference and fallback): (B, 1, H, W) -> (B, 3, H, W)."""
    check_shape(mosaic, "mosaic", ("B", 1, "H", "W"))
    p = pack_bayer(mosaic, cfa)
    zeros = torch.zeros_like(p[:, :1])
    masks = []
    for planes in ((0,), (1, 2), (3,)):
        sel = torch.cat([p[:, i : i + 1] if i in planes else zeros for i in range(4)], dim=1)
        masks.append(unpack_bayer(sel, cfa))
    kr = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]).to(mosaic)
    kg = torch.tensor([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]]).to(mosaic)
    out = [F.conv2d(F.pad(c, (1, 1, 1, 1), mode="reflect"), kk[None, None])
           for c, kk in zip(masks, (kr, kg, kr), strict=True)]
    return torch.cat(out, dim=1)
