"""FLOP counting for the small networks: every ``Conv2d`` of one forward pass, by hooks.

Multiply-adds count as 2 FLOPs; element-wise work (activations, normalisation, pooling) is
left out, as is usual for convolutional networks (and negligible next to the convolutions).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["conv_flops"]


def conv_flops(net: nn.Module, *inputs: Any) -> int:
    """FLOPs (2 per multiply-add) of the convolutions in ``net(*inputs)``.

    Args:
        net: any module; its Conv2d layers are counted as often as they run (shared weights
            applied twice count twice).
        inputs: the forward arguments.
    Returns:
        The total over the batch.

    >>> conv_flops(nn.Conv2d(3, 8, 3, padding=1), torch.zeros(1, 3, 4, 4))
    6912
    """
    total = 0

    def hook(mod: nn.Module, _inp: tuple, out: Tensor) -> None:
        nonlocal total
        assert isinstance(mod, nn.Conv2d)
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        total += 2 * k * out.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total
