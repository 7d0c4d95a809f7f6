"""Motion-adaptive recursive filter on packed raw, driven by the Poisson-Gaussian noise model.

Each pixel keeps a running average of the motion-compensated previous frames, a count ``n`` of
the frames in it and the average's noise variance ``v`` as a fraction of one frame's. A new
frame's difference to the warped average is compared with what noise alone would give
(variance ``shot * x + read`` for the frame plus ``v`` of it for the average, box-filtered 3x3
so the test is not fooled by single noisy samples): where the difference is explained by noise
the frame joins the average (``n + 1`` frames, capped), where it is not (motion the flow
missed, occlusion, a light switching on) the average restarts from the frame. Static areas so
average up to ``max_frames`` frames while moving objects neither ghost nor smear.

The weight of the new frame is ``1 / n``: a plain mean until the cap, an exponential moving
average after it, whose noise variance settles at ``1 / (2 max_frames - 1)`` of one frame's.
``v`` follows that exactly (``v' = (1 - w)^2 v + w^2``), so the denoiser downstream is told the
real remaining noise (``1 / v`` effective frames), not the count.
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
    var: Tensor | None = None,
    max_frames: float = 8.0,
    motion_sigmas: float = 3.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """One filter update.

    Args:
        cur: (B, 4, h, w) packed linear frame (black-subtracted, un-amplified).
        acc: (B, 4, h, w) the previous average, already warped onto ``cur``.
        count: (B, 1, h, w) frames in ``acc`` (0 where it is invalid).
        shot, read: (B,) or scalar noise model of one sample of ``cur``.
        var: (B, 1, h, w) noise variance of ``acc`` relative to one frame's; None: ``1/count``.
        max_frames: cap on ``count``: the longest memory (a cap keeps slow changes responsive).
        motion_sigmas: normalised difference at which a pixel counts as moving; the average is
            fully kept up to 1 (the typical difference under no motion) and faded out between.
    Returns:
        (new average (B, 4, h, w), new count (B, 1, h, w), new relative variance (B, 1, h, w)).

    >>> cur = torch.full((1, 4, 8, 8), 0.5)
    >>> acc, n, v = recursive_step(cur, cur, torch.full((1, 1, 8, 8), 3.0), 1e-3, 1e-4)
    >>> float(n.mean()), round(float(v.mean()), 4)
    (4.0, 0.25)
    """
    check_shape(cur, "cur", ("B", 4, "h", "w"))
    b = cur.shape[0]
    shot = torch.as_tensor(shot).to(cur).reshape(-1, 1, 1, 1).expand(b, 1, 1, 1)
    read = torch.as_tensor(read).to(cur).reshape(-1, 1, 1, 1).expand(b, 1, 1, 1)
    valid = count > 0
    v_acc = 1.0 / count.clamp_min(1.0) if var is None else var
    level = F.avg_pool2d(cur.mean(dim=1, keepdim=True), 3, 1, 1).clamp_min(0.0)
    noise = shot * level + read  # (B,1,h,w) per-sample noise variance of cur
    diff = F.avg_pool2d(cur - acc, 3, 1, 1, count_include_pad=False)  # (B,4,h,w)
    # Expected variance of the 3x3 mean of (cur - acc) under no motion.
    expect = noise * (1.0 + v_acc) / 9.0
    z = (diff.square().mean(dim=1, keepdim=True) / expect.clamp_min(1e-20)).sqrt()  # ~1 static
    keep = ((motion_sigmas - z) / (motion_sigmas - 1.0)).clamp(0.0, 1.0)
    keep = torch.where(valid, keep, torch.zeros_like(keep))
    new_count = (1.0 + keep * count).clamp_max(max_frames)
    w = 1.0 / new_count  # weight of the new frame
    new_acc = acc + (cur - acc) * w
    new_var = (1.0 - w).square() * torch.where(valid, v_acc, torch.ones_like(v_acc)) + w.square()
    return new_acc, new_count, new_var
