"""Raw output: the temporally filtered, denoised mosaic of a frame, back in sensor DN.

This is the raw half of :class:`~nightvid.pipeline.Pipeline` run at full packed resolution (no
early downsample), stopping before anything that changes what the numbers mean (lens shading,
white balance, exposure): pack by CFA -> black/white levels -> noise model -> scene-cut check ->
temporal filter (with the stream's state) -> denoise -> back to DN -> unpack to the sensor's
CFA. Every stage is the pipeline's own function; this module only chains them, so a linear DNG
of the result grades like the source, with less noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ._checks import check_shape
from .isp.pack import unpack_bayer
from .pipeline import Pipeline, RenderInfo
from .runtime import upload
from .state import StreamState
from .types import RawMeta

__all__ = ["clean_mosaic", "to_sensor_dn"]


def to_sensor_dn(packed: Tensor, black: Tensor, white: float) -> Tensor:
    """Inverse of :func:`~nightvid.isp.black_level.normalize_levels`, rounded and clipped.

    Args:
        packed: (B, 4, h, w) linear, 0 at black and 1 at white, planes R, Gr, Gb, B.
        black: (4,) black level per plane in DN.
        white: saturation level in DN.
    Returns:
        (B, 4, h, w) int32 DN, ``x * (white - black) + black`` rounded and clipped to
        [0, white].

    >>> x = torch.tensor([0.5, -1.0, 2.0, 0.0]).reshape(1, 4, 1, 1)
    >>> to_sensor_dn(x, torch.tensor([100.0] * 4), 1100.0).flatten().tolist()
    [600, 0, 1100, 100]
    """
    check_shape(packed, "packed", ("B", 4, "h", "w"))
    black = black.to(packed).reshape(1, 4, 1, 1)
    dn = packed * (white - black) + black
    return dn.round().clamp(0.0, white).to(torch.int32)


@torch.inference_mode()
def clean_mosaic(pipeline: Pipeline, mosaic: np.ndarray, meta: RawMeta,
                 state: StreamState | None = None) -> tuple[np.ndarray, RawMeta, RenderInfo]:
    """Temporally filter and denoise one mosaic of a stream, keeping its geometry and levels.

    Args:
        pipeline: supplies the device, the config and its noise-model and denoise steps.
        mosaic: (H, W) sensor DN, H and W even, CFA ``meta.cfa``.
        meta: its metadata.
        state: the stream's state (temporal memory, cut detector); None cleans a photo (no
            temporal filter).
    Returns:
        (the cleaned (H, W) uint16 mosaic in DN, same CFA and levels; ``meta`` with the noise
        profile of the result; RenderInfo with the cut, noise and frames averaged).

    The new noise profile is the input's (or the estimated one) times the mean variance factor
    of the temporal filter (``1 / frames averaged``): an upper bound on what is left, since
    the spatial denoise lowers it further but leaves correlated noise no simple model fits.
    """
    info = RenderInfo(mode="mosaic")
    h, w = mosaic.shape
    info.work_size = (h // 2, w // 2)
    # Full resolution: no early downsample, one sample per packed pixel.
    packed, (shot, read) = pipeline.prepare(mosaic, meta, (h // 2, w // 2), info)
    packed = pipeline.clean(packed, (shot, read), state, info)
    black = upload(meta.black_level, pipeline.device)
    white = float(meta.white_level)
    with pipeline.stage(info, "to_dn"):
        dn = unpack_bayer(to_sensor_dn(packed, black, white), meta.cfa)  # (1,4,h,w)->(1,1,H,W)
        out = dn[0, 0].cpu().numpy().astype(np.uint16)
    if state is not None:
        state.frame_index += 1
    factor = 1.0 if info.count_t is None else float((1.0 / info.count_t).mean())
    return out, meta.replace(noise_profile=(shot * factor, read * factor)), info
