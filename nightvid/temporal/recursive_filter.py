"""Motion-adaptive recursive filter on packed raw, driven by the Poisson-Gaussian noise model.

Each pixel keeps a running average of the motion-compensated previous frames and a count ``n``
of the frames in it. A new frame's difference to the warped average is compared with what noise
alone would give (variance ``shot * x + read`` for the frame plus ``1/n`` of it for the
average, box-filtered 3x3 so the test is not fooled by single noisy samples): where the
difference is explained by noise the frame joins the average (``n + 1`` frames, capped), where
it is not (motion the flow missed, occlusion, a light switching on) the average restarts from
the frame. Static areas so average up to ``max_frames`` frames (noise variance / n) while
moving objects neither ghost nor smear.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape


def recursive_step(
    cur: Tensor,
    acc: Tensor,
    count: Tensor,
    shot: Tensor,
    read: Tensor,
    *,
    max_frames: float = 8.0,
    motion_sigmas: float = 3.0,
) -> tuple[Tensor, Tensor]:
    """One filter update.

    Args:
        cur: (B, 4, h, w) packed linear frame (black-subtracted, un-amplified).
        acc: (B, 4, h, w) the previous average, already warped onto ``cur``.
        count: (B, 1, h, w) frames in ``acc`` (0 where it is invalid).
        shot, read: (B,) or scalar noise model of one sample of ``cur``.
        max_frames: cap on ``count``: the longest memory (a cap keeps slow changes responsive).
        motion_sigmas: normalised difference at which a pixel counts as moving.
    Returns:
        (new average (B, 4, h, w), new count (B, 1, h, w)).
    """
    check_shape(cur, "cur", ("B", 4, "h", "w"))
    b = cur.shape[0]
    shot = torch.as_tensor(shot).to(cur).reshape(-1, 1, 1, 1).expand(b, 1, 1, 1)
    read = torch.as_tensor(read).to(cur).reshape(-1, 1, 1, 1).expand(b, 1, 1, 1)
    level = F.avg_pool2d(cur.mean(dim=1, keepdim=True), 3, 1, 1).clamp_min(0.0)
    var = shot * level + read  # (B,1,h,w) per-sample noise variance of cur
    diff = F.avg_pool2d(cur - acc, 3, 1, 1, count_include_pad=False)  # (B,4,h,w)
    # Expected variance of the 3x3 mean of (cur - acc) under no motion.
    expect = var * (1.0 + 1.0 / count.clamp_min(1.0)) / 9.0
    z = (diff.square().mean(dim=1, keepdim=True) / expect).sqrt()  # ~1 where static
    keep = ((motion_sigmas - z) / (motion_sigmas - 1.0)).clamp(0.0, 1.0)
    keep = torch.where(count > 0, keep, torch.zeros_like(keep))
    new_count = (1.0 + keep * count).clamp_max(max_frames)
    new_acc = acc + (cur - acc) / new_count
    return new_acc, new_count
