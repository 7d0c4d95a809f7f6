"""A noise-level-aware raw denoiser on packed Bayer planes (one model for every ISO and ratio).

**Noise conditioning.** The input goes through the generalised Anscombe transform (GAT,
Makitalo & Foi 2013) of the frame's own Poisson-Gaussian profile ``var = shot x + read``::

    f(x) = 2/shot * sqrt(shot x + 3/8 shot^2 + read)

after which the noise has unit variance at every level, ISO and darkening ratio. The network
sees ``(f(x) - f(0)) / Z_SCALE`` (zero signal -> 0) plus one scalar per frame, the read noise
in "electrons" ``log(sqrt(read) / shot)``, which tells it where the transform is inexact (few
photons, heavy read noise). It predicts a correction in the stabilised domain and the
algebraic inverse ``x = shot z^2 / 4 - 3 shot / 8 - read / shot`` maps it back.

**Local mean.** Trained with an L1 loss, the network estimates a median, which at a few
photons per pixel sits below the mean: the previous, 52k-parameter student darkened
x100-x300 validation crops by 2-7 %, the shipped one by 0.6-2.2 %. The noise is zero-mean and
nothing upstream clips, so the input's own local mean is an unbiased estimate of the scene's:
:func:`keep_local_mean` puts it back over ``mean_block``-pixel blocks (variance /
mean_block^2 of the noise returns, far below what the network leaves). On the shipped
student it moves validation PSNR by +0.02 to -0.06 dB per condition.

**Architecture** (:class:`RawDenoiser`): a U-Net whose entry is a pixel-unshuffle (stride 2,
16 channels at h/2 x w/2, free) and a 1x1 projection, ``len(widths)`` levels joined by 2x2
stride-2 convolutions and pixel-shuffle upsampling with additive skips, and a 1x1 exit
pixel-shuffled back to the 4 planes. Blocks are depthwise-separable (student) or two dense
3x3 convolutions (teacher). All work happens at h/2 or below: cheap on a CPU.

Tensors: packed ``(B, 4, h, w)`` R/Gr/Gb/B, float32, linear, black-subtracted, un-amplified
(normalised so white = 1, before any gain); ``shot``, ``read`` floats or ``(B,)`` tensors in
the same units (what :func:`nightvid.isp.denoise.denoise_packed` takes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_shape

__all__ = ["DenoiserSpec", "RawDenoiser", "gat", "inverse_gat", "keep_local_mean", "STUDENT",
           "TEACHER"]

#: Stabilised values are divided by this before the network (dark frames span ~0..30).
Z_SCALE = 8.0
#: shot is clamped to at least sqrt(read) / MAX_READ_E (the transform needs shot > 0).
MAX_READ_E = 100.0


@dataclass(frozen=True)
class DenoiserSpec:
    """Architecture of a :class:`RawDenoiser` (saved in every checkpoint).

    Attributes:
        widths: channels per level, finest (h/2) first.
        blocks: blocks per level on the way down (the way up gets one per level).
        separable: depthwise 3x3 + pointwise blocks (student) or two dense 3x3 (teacher).
        mean_block: packed block size of :func:`keep_local_mean` on the output (0: off).
        level_block: 0, or the network sees the stabilised input minus its local level
            (means over level_block^2 packed pixels, bilinear) plus that level as one coarse
            extra channel: its input stays near unit scale at every brightness.
    """

    widths: tuple[int, ...] = (32, 64, 96)
    blocks: tuple[int, ...] = (1, 1, 2)
    separable: bool = True
    mean_block: int = 32
    level_block: int = 0

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> DenoiserSpec:
        return cls(widths=tuple(int(v) for v in d["widths"]),
                   blocks=tuple(int(v) for v in d["blocks"]), separable=bool(d["separable"]),
                   mean_block=int(d.get("mean_block", 32)),
                   level_block=int(d.get("level_block", 0)))


#: The shipped student (configs/train/denoiser.toml) and its teacher (denoiser-teacher.toml).
STUDENT = DenoiserSpec()
TEACHER = DenoiserSpec(widths=(32, 64, 96), blocks=(1, 1, 2), separable=False)


def keep_local_mean(out: Tensor, ref: Tensor, block: int) -> Tensor:
    """``out`` with its mean over ``block`` x ``block`` tiles set to ``ref``'s, smoothly.

    The tile means of ``ref - out`` (partial tiles at the edges count what they hold) are
    upsampled bilinearly and added, in float32 (bf16 would round the small differences).

    >>> ref = torch.rand(1, 4, 64, 64)
    >>> out = keep_local_mean(ref * 0.9, ref, 16)
    >>> bool(torch.isclose(out.mean(), ref.mean(), rtol=1e-3))
    True
    """
    diff = F.avg_pool2d(ref.float() - out.float(), block, stride=block, ceil_mode=True)
    return out.float() + _upsample(diff, out.shape[-2:])


def _noise_params(x: Tensor, shot: float | Tensor, read: float | Tensor) -> tuple[Tensor, Tensor]:
    """(shot, read) on x's device as (B, 1, 1, 1), or as (B, 1, h, w) when either is given as a
    per-pixel map (4-D); shot clamped away from 0."""
    b = x.shape[0]

    def shaped(v: float | Tensor) -> Tensor:
        t = torch.as_tensor(v).to(x)
        return t if t.ndim == 4 else t.reshape(-1, 1, 1, 1).expand(b, 1, 1, 1)

    read_t, shot_t = shaped(read).clamp_min(1e-12), shaped(shot)
    if read_t.shape[-1] > 1 or shot_t.shape[-1] > 1:
        read_t, shot_t = torch.broadcast_tensors(read_t, shot_t)
    return torch.maximum(shot_t, read_t.sqrt() / MAX_READ_E), read_t


def gat(x: Tensor, shot: Tensor, read: Tensor) -> Tensor:
    """Generalised Anscombe transform: Poisson-Gaussian ``x`` -> unit-variance noise.

    Args:
        x: (B, C, h, w) linear values (may be < 0).
        shot, read: (B, 1, 1, 1) noise profile, shot > 0.
    Returns:
        Same shape. The radicand is clamped at 0 (very negative read-noise samples).

    >>> s, r = torch.full((1, 1, 1, 1), 1e-3), torch.full((1, 1, 1, 1), 1e-6)
    >>> x = torch.rand(1, 4, 8, 8)
    >>> torch.allclose(inverse_gat(gat(x, s, r), s, r), x, atol=1e-5)
    True
    """
    return 2.0 / shot * (shot * x + 0.375 * shot * shot + read).clamp_min(0.0).sqrt()


def inverse_gat(z: Tensor, shot: Tensor, read: Tensor) -> Tensor:
    """Algebraic inverse of :func:`gat` (z >= 0 assumed): ``shot z^2/4 - 3 shot/8 - read/shot``."""
    return shot * z * z / 4.0 - 0.375 * shot - read / shot


class _SepBlock(nn.Module):
    """x + pw(act(dw(x))): a depthwise 3x3, then a pointwise mix (MobileNet-like, residual)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.pw = nn.Conv2d(c, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.pw(F.leaky_relu(self.dw(x), 0.1, inplace=True))  # in place: fewer passes over
        return y.add_(x)  # memory, which is what bounds these thin layers on a CPU


class _DenseBlock(nn.Module):
    """x + conv(act(conv(x))), two dense 3x3 convolutions (teacher)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.c2(F.leaky_relu(self.c1(x), 0.1, inplace=True)).add_(x)


def _stage(c: int, n: int, separable: bool) -> nn.Sequential:
    block = _SepBlock if separable else _DenseBlock
    return nn.Sequential(*[block(c) for _ in range(n)])


class RawDenoiser(nn.Module):
    """Noise-aware U-Net denoiser on packed Bayer (see the module doc).

    Args:
        spec: the architecture (:data:`STUDENT`, :data:`TEACHER` or your own).

    Example:
        >>> net = RawDenoiser()
        >>> net(torch.rand(2, 4, 36, 20) * 0.01, 1e-4, 1e-7).shape
        torch.Size([2, 4, 36, 20])
    """

    KIND = "raw_denoiser"
    Spec = DenoiserSpec

    def __init__(self, spec: DenoiserSpec = STUDENT) -> None:
        super().__init__()
        self.spec = spec
        w, n = spec.widths, len(spec.widths)
        # 16 unshuffled planes + the noise scalar (+ the coarse level)
        self.head = nn.Conv2d(16 + 1 + (1 if spec.level_block else 0), w[0], 1)
        self.enc = nn.ModuleList([_stage(w[i], spec.blocks[i], spec.separable) for i in range(n)])
        self.down = nn.ModuleList([nn.Conv2d(w[i], w[i + 1], 2, stride=2) for i in range(n - 1)])
        self.up = nn.ModuleList([nn.Conv2d(w[i + 1], 4 * w[i], 1) for i in range(n - 1)])
        self.dec = nn.ModuleList([_stage(w[i], 1, spec.separable) for i in range(n - 1)])
        self.tail = nn.Conv2d(w[0], 16, 1)
        nn.init.zeros_(self.tail.weight)  # start as the identity: output = input
        nn.init.zeros_(self.tail.bias)

    def _input(self, z: Tensor, cond: Tensor) -> Tensor:
        """The head's input from the stabilised signal ``z`` (zero signal -> 0): its planes
        unshuffled to h/2, the noise scalar, and with ``level_block`` the local level."""
        lb = self.spec.level_block
        if not lb:
            return torch.cat([F.pixel_unshuffle(z / Z_SCALE, 2), cond], 1)
        blocks = F.avg_pool2d(z, lb, stride=lb, ceil_mode=True)
        coarse = _upsample(blocks.mean(1, keepdim=True), cond.shape[-2:])
        return torch.cat([F.pixel_unshuffle((z - _upsample(blocks, z.shape[-2:])) / Z_SCALE, 2),
                          cond, coarse / Z_SCALE], 1)

    @property
    def multiple(self) -> int:
        """h and w are padded to a multiple of this internally."""
        return 2 ** len(self.spec.widths)

    def forward(self, packed: Tensor, shot: float | Tensor, read: float | Tensor,
                keep_mean: bool = True) -> Tensor:
        """Denoise ``packed`` (B, 4, h, w) with noise profile (shot, read); same shape out.

        ``shot`` and ``read`` are floats, (B,) tensors, or (B, 1, h, w) maps when the noise
        varies over the frame (after the temporal filter: both divided by the frames averaged).
        ``keep_mean=False`` leaves out the local-mean step (tiled callers apply
        :func:`keep_local_mean` once on the whole frame, so tiles match it exactly).
        """
        check_shape(packed, "packed", ("B", 4, "h", "w"))
        s, r = _noise_params(packed, shot, read)
        h, w = packed.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        x = F.pad(packed, (0, pw, 0, ph), mode="replicate") if ph or pw else packed
        if s.shape[-1] > 1 and (ph or pw):
            s = F.pad(s, (0, pw, 0, ph), mode="replicate")
            r = F.pad(r, (0, pw, 0, ph), mode="replicate")
        z = gat(x, s, r)
        z0 = gat(torch.zeros_like(s), s, r)
        hh, ww = x.shape[-2] // 2, x.shape[-1] // 2
        cond = torch.log(r.sqrt() / s) / 4.0
        cond = F.avg_pool2d(cond, 2) if cond.shape[-1] > 1 else cond.expand(-1, 1, hh, ww)
        feats = self.head(self._input(z - z0, cond))
        skips = []
        for i, stage in enumerate(self.enc):  # (B,16,h/2,w/2) -> ... coarsest level
            if i:
                feats = self.down[i - 1](feats)
            feats = stage(F.leaky_relu(feats, 0.1))
            skips.append(feats)
        for i in reversed(range(len(self.up))):  # coarsest -> h/2, additive skips
            feats = self.dec[i](F.pixel_shuffle(self.up[i](feats), 2) + skips[i])
        z_hat = z + Z_SCALE * F.pixel_shuffle(self.tail(feats), 2)  # (B,16,.)->(B,4,h,w)
        # The inverse is quadratic: a negative z would come back as a (large) positive value,
        # which once blew one teacher batch's loss up 2000-fold. z >= 0 is its domain.
        out = inverse_gat(z_hat.clamp_min(0.0), s, r)[..., :h, :w]
        if keep_mean and self.spec.mean_block:
            return keep_local_mean(out, packed, self.spec.mean_block)
        return out


def _upsample(x: Tensor, size: Sequence[int]) -> Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def count_params(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def flops_per_mpix(net: nn.Module, size: Sequence[int] = (256, 256)) -> float:
    """Multiply-add FLOPs (2 per MAC) of convolutions per megapixel of *packed* input.

    Counts every Conv2d by a forward hook on a ``(1, 4, *size)`` input; element-wise work
    (activations, the transform) is left out. Divide by 4 for FLOPs per mosaic megapixel.
    """
    from .flops import conv_flops

    total = conv_flops(net, torch.zeros(1, 4, *size), 1e-4, 1e-7)
    return total / (size[0] * size[1] / 1e6)
