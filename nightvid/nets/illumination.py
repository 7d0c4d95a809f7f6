"""SCI illumination estimation for the RGB path (dark sRGB video), and the local gain it gives.

SCI (Ma, Ma, Liu, Fan and Luo, "Toward Fast, Flexible, and Robust Low-Light Image
Enhancement", CVPR 2022) models a dark image as ``x = r * i`` (Retinex) and learns the
illumination ``i`` with one tiny block whose weights are shared by every stage of a cascade:

    f = relu(conv_in(x));  f = f + relu(conv(f))  (``layers`` times, one shared conv);
    i = clamp(x + sigmoid(conv_out(f)), 1e-4, 1)

three 3x3 convolutions of 3 channels (:class:`IlluminationNet`: 252 parameters). The residual
``x + ...`` makes the illumination an upper envelope of the image, the sigmoid keeps the update
in (0, 1), the clamp keeps ``r = x / i`` finite. Training (:mod:`nightvid.train.illumination`)
is self-supervised: a fidelity term ``|i - x_s|^2`` and an edge-aware smoothness term on ``i``
at every stage ``s``, where a self-calibration module (used only in training) feeds each stage
``x_s = x + calibrate(x / i_{s-1})``, so that one pass of the block at inference already gives
what the cascade converges to. Differences from the paper's code: no BatchNorm in the block
(with 3 channels it is a per-channel affine the next convolution absorbs; without it inference
is independent of the batch), replicate instead of zero padding (no rim in the map), and the
smoothness weights use a finite colour bandwidth (the
released code's ``sigma = 10`` on [0, 1] values makes every weight ~1).

**Use in the pipeline** (:func:`illumination_gain`): SCI's enhancement ``x / i`` would set the
exposure itself; nightvid keeps its global amplification (exposure) stage and takes only the
*shape* of the illumination from the net. On a thumbnail of the frame (long side
``long_side``, area-averaged in linear light, then sRGB-encoded as the net was trained), the
illumination is taken to linear light and made colourless, ``L = mean_c(srgb_eotf(i_c))``, and
the per-pixel gain is ``g = (median(L) / L) ** strength``, clamped to ``[1 / max_gain,
max_gain]``: 1 where the illumination is typical, > 1 in shadows, < 1 under bright lights. It is
upsampled bilinearly in log space to the frame. The default ``illumination.strength`` (0.5) was
chosen on *training*-split darkened clean frames (42 frames, exposure x0.02-0.3 and gamma 1-1.6,
the darkened frame x gain x the least-squares global gain against the clean frame): PSNR 22.59,
22.81, 22.82, 22.62, 22.28 dB at strength 0, 0.25, 0.5, 0.75, 1 (SSIM falls slowly with
strength, 0.619 to 0.601: the lifted shadows keep their noise).

Being relative to the median, the gain leaves the frame's overall level to
:func:`nightvid.isp.exposure.estimate_amplification`, and being one value per pixel for R, G
and B, it leaves colour to white balance.

Tensors: ``x`` ``(B, 3, h, w)`` sRGB-encoded in [0, 1]; ``lin_rgb`` ``(B, 3, H, W)`` linear.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_shape
from ..isp.exposure import thumbnail
from ..isp.tone import srgb_eotf, srgb_oetf
from .flops import conv_flops

__all__ = ["IlluminationNet", "IlluminationSpec", "count_params", "flops_per_mpix",
           "illumination_gain"]


@dataclass(frozen=True)
class IlluminationSpec:
    """Architecture of an :class:`IlluminationNet` (saved in every checkpoint).

    Attributes:
        channels: feature channels (SCI: 3).
        layers: times the shared 3x3 convolution is applied (SCI: 1).
    """

    channels: int = 3
    layers: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> IlluminationSpec:
        return cls(channels=int(d["channels"]), layers=int(d["layers"]))


class IlluminationNet(nn.Module):
    """SCI's weight-shared illumination estimation block (see the module doc).

    Example:
        >>> net = IlluminationNet()
        >>> x = torch.rand(1, 3, 32, 48) * 0.2
        >>> i = net(x)
        >>> i.shape, bool((i >= x).all()), bool((i <= 1).all())
        (torch.Size([1, 3, 32, 48]), True, True)
    """

    KIND = "illumination"
    Spec = IlluminationSpec

    def __init__(self, spec: IlluminationSpec = IlluminationSpec()) -> None:
        super().__init__()
        self.spec = spec
        c = spec.channels
        # Replicate padding (SCI pads with zeros): a flat frame gets a flat illumination,
        # with no darker rim, so the gain map has no bright border.
        self.conv_in = nn.Conv2d(3, c, 3, padding=1, padding_mode="replicate")
        self.conv = nn.Conv2d(c, c, 3, padding=1, padding_mode="replicate")  # shared by layers
        self.conv_out = nn.Conv2d(c, 3, 3, padding=1, padding_mode="replicate")
        for m in (self.conv_in, self.conv, self.conv_out):  # SCI's initialisation
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, h, w) sRGB-encoded dark image -> illumination, same shape, in [1e-4, 1]."""
        check_shape(x, "x", ("B", 3, "h", "w"))
        f = F.relu(self.conv_in(x))
        for _ in range(self.spec.layers):
            f = f + F.relu(self.conv(f))
        return (x + torch.sigmoid(self.conv_out(f))).clamp(1e-4, 1.0)


def illumination_gain(net: IlluminationNet, lin_rgb: Tensor, strength: float = 1.0,
                      long_side: int = 256, max_gain: float = 16.0) -> Tensor:
    """Per-pixel linear-light gain from the net's illumination, relative to its median.

    Args:
        net: a trained :class:`IlluminationNet`.
        lin_rgb: (B, 3, H, W) linear RGB of the frame, un-amplified, [0, 1].
        strength: 0 = no local gain (all ones), 1 = the full ``median(L) / L``.
        long_side: thumbnail size the net runs at.
        max_gain: the gain is clamped to ``[1 / max_gain, max_gain]``.
    Returns:
        (B, 1, H, W) gains > 0, median ~1 (see the module doc).

    >>> g = illumination_gain(IlluminationNet(), torch.rand(1, 3, 40, 60) * 0.05)
    >>> g.shape, bool((g > 0).all())
    (torch.Size([1, 1, 40, 60]), True)
    """
    check_shape(lin_rgb, "lin_rgb", ("B", 3, "H", "W"))
    small = thumbnail(lin_rgb.float(), long_side).clamp(0.0, 1.0)  # area in linear light
    i = net(srgb_oetf(small))
    lum = srgb_eotf(i).mean(dim=1, keepdim=True).clamp_min(1e-6)  # (B,1,h,w) linear, colourless
    med = lum.flatten(1).median(dim=1).values.reshape(-1, 1, 1, 1)
    lim = math.log(max_gain)
    log_g = (strength * (med.log() - lum.log())).clamp(-lim, lim)
    log_g = F.interpolate(log_g, size=lin_rgb.shape[-2:], mode="bilinear", align_corners=False)
    return log_g.exp().to(lin_rgb.dtype)


def count_params(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def flops_per_mpix(net: IlluminationNet, size: tuple[int, int] = (144, 256)) -> float:
    """FLOPs of the block per megapixel of its (thumbnail) input."""
    return conv_flops(net, torch.rand(1, 3, *size) * 0.2) / (size[0] * size[1] / 1e6)
