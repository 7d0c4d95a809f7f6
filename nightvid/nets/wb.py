"""A confidence-weighted (FC4-style) illuminant estimator on a camera-RGB thumbnail.

FC4 (Hu, Wang and Lin, CVPR 2017) lets every patch of the image vote for the illuminant and
learns how much to trust each vote, so a wall of one colour or a bright sign is outvoted by
patches that carry information. This is a tiny version for a thumbnail of the frame:

**Input** ``x``: ``(B, 3, h, w)`` linear camera RGB, not white balanced, any exposure (the
thumbnail of the packed planes, G averaged; long side :attr:`WBSpec.thumb`). It is made
brightness-invariant first, ``x_n = max(x, 0) / mean(x)`` (``k x`` gives the same ``x_n``),
and the network sees ``z = log(x_n + EPS)`` (log: ratios of channels, i.e. colour, become
differences a convolution measures equally at every level).

**Network**: ``len(widths)`` 3x3 convolutions of stride 2 and ``extra`` of stride 1 (leaky
ReLU), then a 1x1 head with 4 outputs per patch of the coarsest grid (``h / 2^n``):

- ``l_p`` (3): a log-colour correction of the patch's own grey-world colour
  ``m_p`` (the mean of ``x_n`` over the patch): the patch's vote is
  ``u_p = normalise(m_p * exp(l_p))``, so the untrained net is a patch-wise grey world;
- ``c_p`` (1): the vote's confidence; weights ``w_p = softmax_p(c_p)``.

**Pooling**: ``e = sum_p w_p u_p``; the estimate is ``n = e / |e|``, the unit-norm camera RGB of
a neutral surface under the scene light (the camera neutral direction; divide by G for the
DNG AsShotNeutral convention). The votes' agreement ``a = sum_p w_p <u_p, n>`` (1 when every
patch agrees) gives the spread angle ``acos(a)``, from which :func:`estimate_neutral` derives
a confidence ``exp(-spread / 6 deg)``.

**In the pipeline** (``white_balance.estimator = "net"``) the net's estimate *is* the automatic
estimate, then fused with the as-shot neutral as before. It is not averaged with the grayness
index: on training-split images the confidence-weighted geometric mean with the grayness index
was worse than the net alone at every weight tried (median 1.56 deg alone; 1.68, 1.86, 1.98 and
2.56 deg with the net weighted 0.9, 0.8, 0.7, 0.5), and the grayness index was worse than the
net in each third of the confidence range. The grayness index is what runs when the
checkpoint cannot be loaded (``runtime.net_fallback``). :func:`fuse_neutrals` stays for the
evaluation's reference column.

Trained (``nightvid train wb``) on synthetic illuminants with angular-error loss, see
:mod:`nightvid.train.wb`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_shape
from ..isp.exposure import thumbnail
from .flops import conv_flops

__all__ = ["WBNet", "WBSpec", "angular_error_deg", "count_params", "estimate_neutral",
           "flops_per_mpix", "fuse_neutrals"]

#: Offset inside the log of the normalised input (5 % of the frame's mean level): keeps dark,
#: noisy pixels (<= 0 after black subtraction) from dominating the features.
EPS = 0.05
#: Spread angle (degrees) at which the net's fusion weight against the grayness index is 1/e.
SPREAD_SCALE_DEG = 6.0


@dataclass(frozen=True)
class WBSpec:
    """Architecture of a :class:`WBNet` (saved in every checkpoint).

    Attributes:
        widths: channels of the stride-2 3x3 convolutions (the grid is ``thumb / 2^len``).
        extra: stride-1 3x3 convolutions at the coarsest level (context for each vote).
        thumb: long side of the input thumbnail in pixels.
    """

    widths: tuple[int, ...] = (16, 32, 32)
    extra: int = 1
    thumb: int = 64

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> WBSpec:
        return cls(widths=tuple(int(v) for v in d["widths"]), extra=int(d["extra"]),
                   thumb=int(d["thumb"]))


class WBNet(nn.Module):
    """Confidence-weighted illuminant estimator (see the module doc).

    Args:
        spec: the architecture.

    Example:
        >>> net = WBNet()
        >>> n = net(torch.rand(2, 3, 36, 64))
        >>> n.shape, torch.allclose(n.norm(dim=1), torch.ones(2))
        (torch.Size([2, 3]), True)
    """

    KIND = "wb_estimator"
    Spec = WBSpec

    def __init__(self, spec: WBSpec = WBSpec()) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        c_in = 3
        for c in spec.widths:
            layers.append(nn.Conv2d(c_in, c, 3, stride=2, padding=1))
            c_in = c
        for _ in range(spec.extra):
            layers.append(nn.Conv2d(c_in, c_in, 3, padding=1))
        self.body = nn.ModuleList(layers)
        self.head = nn.Conv2d(c_in, 4, 1)
        nn.init.zeros_(self.head.weight)  # start as a patch-wise grey world, equal votes
        nn.init.zeros_(self.head.bias)

    def votes(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-patch votes: (unit-norm RGB (B, 3, gh, gw), weights (B, 1, gh, gw) summing to 1).

        Args:
            x: (B, 3, h, w) linear camera RGB thumbnail, any exposure.
        """
        check_shape(x, "cam_rgb", ("B", 3, "h", "w"))
        x = x.float().clamp_min(0.0)
        x = x / x.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)  # brightness invariance
        f = torch.log(x + EPS)
        for conv in self.body:
            f = F.leaky_relu(conv(f), 0.1)
        out = self.head(f)  # (B, 4, gh, gw)
        grey = F.adaptive_avg_pool2d(x, out.shape[-2:]) + 1e-3  # the patches' grey-world colour
        votes = F.normalize(grey * torch.exp(out[:, :3].clamp(-8.0, 8.0)), dim=1)
        w = torch.softmax(out[:, 3:].flatten(1), dim=1).reshape_as(out[:, 3:])
        return votes, w

    def estimate(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(unit-norm neutral (B, 3), spread of the votes around it in degrees (B,))."""
        votes, w = self.votes(x)
        n = F.normalize((votes * w).sum(dim=(2, 3)), dim=1)  # (B, 3)
        agree = (w * (votes * n[:, :, None, None]).sum(dim=1, keepdim=True)).sum(dim=(1, 2, 3))
        return n, torch.rad2deg(torch.acos(agree.clamp(-1.0, 1.0)))

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, h, w) camera RGB thumbnail -> (B, 3) unit-norm camera neutral."""
        return self.estimate(x)[0]


def estimate_neutral(net: WBNet, cam_rgb: Tensor) -> tuple[Tensor, Tensor]:
    """The net's illuminant for a frame, and its confidence.

    Args:
        net: a trained :class:`WBNet`.
        cam_rgb: (B, 3, H, W) linear camera RGB (e.g. ``packed_to_cam_rgb(packed)``), not white
            balanced, any exposure; area-averaged to the net's thumbnail here.
    Returns:
        (neutral (B, 3) with G = 1, confidence (B,) in (0, 1]: ``exp(-spread / 6 deg)``).
    """
    check_shape(cam_rgb, "cam_rgb", ("B", 3, "H", "W"))
    n, spread = net.estimate(thumbnail(cam_rgb.float(), net.spec.thumb))
    return n / n[:, 1:2].clamp_min(1e-8), torch.exp(-spread / SPREAD_SCALE_DEG)


def fuse_neutrals(a: Tensor, b: Tensor, weight_a: Tensor | float) -> Tensor:
    """Weighted geometric mean of two illuminant estimates, G = 1.

    Args:
        a, b: (B, 3) neutrals, all > 0.
        weight_a: (B,) or a float in [0, 1], the weight of ``a``.
    Returns:
        (B, 3), G = 1.

    >>> fuse_neutrals(torch.tensor([[4.0, 1.0, 1.0]]), torch.tensor([[1.0, 1.0, 4.0]]), 0.5)
    tensor([[2., 1., 2.]])
    """
    w = torch.as_tensor(weight_a).to(a).reshape(-1, 1)
    out = torch.exp(w * a.clamp_min(1e-8).log() + (1 - w) * b.clamp_min(1e-8).log())
    return out / out[:, 1:2]


def angular_error_deg(a: Tensor, b: Tensor) -> Tensor:
    """Angle in degrees between illuminant estimates (B, 3) and (B, 3) (the recovery error).

    >>> round(float(angular_error_deg(torch.tensor([[1.0, 0, 0]]), torch.tensor([[1.0, 1, 0]]))), 3)
    45.0
    """
    # The clamp keeps acos' gradient finite at a perfect estimate (floor 0.03 deg).
    cos = F.cosine_similarity(a.double(), b.double(), dim=1).clamp(-1.0 + 1e-7, 1.0 - 1e-7)
    return torch.rad2deg(torch.acos(cos)).to(a.dtype)


def count_params(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def flops_per_mpix(net: WBNet) -> float:
    """FLOPs per megapixel of *thumbnail* (a square ``thumb`` x ``thumb`` input)."""
    t = net.spec.thumb
    return conv_flops(net, torch.rand(1, 3, t, t)) / (t * t / 1e6)
