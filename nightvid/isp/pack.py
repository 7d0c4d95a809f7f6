"""Pack a Bayer mosaic into four half-resolution planes (R, Gr, Gb, B) and back."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ..errors import ShapeError
from ..types import cfa_offsets


def _plane_order(cfa: str) -> list[int]:
    """Index into pixel_unshuffle's (0,0),(0,1),(1,0),(1,1) order of R, Gr, Gb, B."""
    return [r * 2 + c for r, c in cfa_offsets(cfa)]


def pack_bayer(mosaic: Tensor, cfa: str = "RGGB") -> Tensor:
    """Pack a mosaic into planes R, Gr, Gb, B whatever the sensor's pattern.

    Args:
        mosaic: (B, 1, H, W), H and W even, any float dtype.
        cfa: the 2x2 pattern row-major, e.g. "GRBG".
    Returns:
        (B, 4, H/2, W/2).

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> pack_bayer(x, "RGGB")[0, :, 0, 0].tolist()
    [0.0, 1.0, 4.0, 5.0]
    """
    check_shape(mosaic, "mosaic", ("B", 1, "H", "W"))
    if mosaic.shape[-2] % 2 or mosaic.shape[-1] % 2:
        raise ShapeError(f"mosaic: expected even H and W, got {tuple(mosaic.shape[-2:])}")
    planes = F.pixel_unshuffle(mosaic, 2)  # (B,1,H,W) -> (B,4,H/2,W/2) in raster order
    return planes[:, _plane_order(cfa)]


def unpack_bayer(packed: Tensor, cfa: str = "RGGB") -> Tensor:
    """Inverse of :func:`pack_bayer`: (B, 4, h, w) R/Gr/Gb/B -> (B, 1, 2h, 2w) in ``cfa``."""
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    order = _plane_order(cfa)
    inverse = [order.index(i) for i in range(4)]
    return F.pixel_shuffle(packed[:, inverse], 2)  # (B,4,h,w) -> (B,1,2h,2w)


def mosaic_to_tensor(mosaic, device: torch.device | str = "cpu") -> Tensor:
    """A (H, W) integer or float mosaic -> (1, 1, H, W) float32 on ``device``.

    Integer data crosses to the device as 16-bit (half the bytes of float32) and is
    converted there. A tensor (e.g. one already on the device) is used as it is.
    """
    t = mosaic if isinstance(mosaic, Tensor) else torch.from_numpy(mosaic)
    if t.dtype == torch.uint16:
        t = t.view(torch.int16)  # same bits; widen on the device
        t = t.to(device, non_blocking=True).to(torch.int32) & 0xFFFF
    else:
        t = t.to(device, non_blocking=True)
    return t.to(torch.float32)[None, None]
