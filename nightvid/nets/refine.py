"""The RGB refinement network: a small residual net on the finished display image that fixes
what the classical stages leave behind (residual and low-frequency noise, blotchy chroma from
the half-resolution chroma denoise, edge halos), trained to map the pipeline's output on a
noisy raw to its output on the clean raw with the same decisions (:mod:`nightvid.train.refine`).

**Architecture** (:class:`RefineNet`, in the spirit of MWRCAN, NTIRE 2022: a wavelet-like
multi-level residual net with attention, cut down for video): pixel-unshuffle to h/2 (12
planes, free), a 1x1 projection, two levels (h/2 and h/4, joined by a 2x2 stride-2
convolution and pixel-shuffle upsampling with an additive skip), each a few residual blocks
of depthwise 3x3 + pointwise mixing + *pixel* attention (a sigmoid gate from a 1x1
convolution). Pixel attention, not RCAN's channel attention: a global average over the frame
would make the output depend on the tile and break seamless tiling and streaming. The exit
1x1 is pixel-shuffled back to RGB and *added* to the input; it starts at zero, so an untrained
net is the identity.

Tensors: display sRGB ``(B, 3, H, W)`` in [0, 1], any H and W (padded internally to a
multiple of 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_shape

__all__ = ["RefineNet", "RefineSpec"]


@dataclass(frozen=True)
class RefineSpec:
    """Architecture of a :class:`RefineNet`: channels and blocks at h/2 and at h/4."""

    widths: tuple[int, int] = (16, 32)
    blocks: tuple[int, int] = (2, 3)

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> RefineSpec:
        w, b = (tuple(int(v) for v in d[k]) for k in ("widths", "blocks"))
        if len(w) != 2 or len(b) != 2:
            raise ValueError(f"widths and blocks need 2 entries, got {w}, {b}")
        return cls(widths=(w[0], w[1]), blocks=(b[0], b[1]))


DEFAULT = RefineSpec()


class _PABlock(nn.Module):
    """x + gate * pw(act(dw(x))), gate = sigmoid(1x1(x)): a residual block with pixel attention."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.pw = nn.Conv2d(c, c, 1)
        self.gate = nn.Conv2d(c, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.pw(F.leaky_relu(self.dw(x), 0.1)) * self.gate(x).sigmoid()


class RefineNet(nn.Module):
    """Residual refinement of display sRGB (module doc).

    Example:
        >>> import torch
        >>> net = RefineNet()
        >>> x = torch.rand(1, 3, 30, 42)
        >>> torch.equal(net(x), x)  # the exit starts at zero: the identity until trained
        True
    """

    KIND = "refiner"
    Spec = RefineSpec
    multiple = 4  # the input is padded to this; tiles must sit on this grid

    def __init__(self, spec: RefineSpec = DEFAULT) -> None:
        super().__init__()
        self.spec = spec
        c1, c2 = spec.widths
        self.head = nn.Conv2d(12, c1, 1)
        self.enc1 = nn.Sequential(*[_PABlock(c1) for _ in range(spec.blocks[0])])
        self.down = nn.Conv2d(c1, c2, 2, stride=2)
        self.enc2 = nn.Sequential(*[_PABlock(c2) for _ in range(spec.blocks[1])])
        self.up = nn.Conv2d(c2, 4 * c1, 1)
        self.dec1 = _PABlock(c1)
        self.tail = nn.Conv2d(c1, 12, 1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, rgb: Tensor) -> Tensor:
        """Refined ``rgb`` (B, 3, H, W), same shape (not clamped)."""
        check_shape(rgb, "rgb", ("B", 3, "H", "W"))
        h, w = rgb.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        x = F.pad(rgb, (0, pw, 0, ph), mode="replicate") if ph or pw else rgb
        f1 = self.enc1(self.head(F.pixel_unshuffle(x - 0.5, 2)))
        f2 = self.enc2(F.leaky_relu(self.down(f1), 0.1))
        f = self.dec1(F.pixel_shuffle(self.up(f2), 2) + f1)
        return (x + F.pixel_shuffle(self.tail(f), 2))[..., :h, :w]
