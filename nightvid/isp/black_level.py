"""Black and white level normalisation of packed planes."""

from __future__ import annotations

from torch import Tensor

from .._checks import check_shape


def normalize_levels(packed: Tensor, black: Tensor, white: float | Tensor) -> Tensor:
    """Map sensor DN to linear [0, 1]: ``(x - black) / (white - black)`` per plane.

    Values below black stay negative (noise must average to the true level downstream);
    nothing is clipped here.

    Args:
        packed: (B, 4, h, w) in DN.
        black: (4,) or (B, 4) per plane R, Gr, Gb, B.
        white: saturation level in DN, scalar or (B,).
    Returns:
        (B, 4, h, w) float, 0 at black and 1 at white.

    >>> import torch
    >>> x = torch.full((1, 4, 1, 1), 600.)
    >>> normalize_levels(x, torch.tensor([100., 100, 100, 100]), 1100.).flatten().tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    black = black.to(packed).reshape(-1, 4, 1, 1)
    white = white.to(packed).reshape(-1, 1, 1, 1) if isinstance(white, Tensor) else white
    return (packed - black) / (white - black)
