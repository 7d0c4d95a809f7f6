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
from .isp.black_level import normalize_levels
from .isp.pack import mosaic_to_tensor, pack_bayer, unpack_bayer
from .pipeline import Pipeline, RenderInfo
from .runtime import upload
from .state import StreamState
from .temporal.filter import temporal_filter
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
    cfg, info = pipeline.config, RenderInfo(mode="mosaic")
    h, w = mosaic.shape
    info.work_size = (h // 2, w // 2)
    with pipeline._stage(info, "upload+pack"):
        packed = pack_bayer(mosaic_to_tensor(mosaic, pipeline.device), meta.cfa)
    with pipeline._stage(info, "levels"):
        black = upload(meta.black_level, pipeline.device)
        white = float(meta.white_level)
        packed = normalize_levels(packed, black, white)
        # Full resolution: one sample per packed pixel, nothing averaged.
        shot, read = pipeline._noise_model(packed, meta, 1.0)
        info.noise = (shot, read)
    with pipeline._stage(info, "temporal"):
        st = state
        info.cut = st is not None and st.detect_cut(st.thumbnail(packed))
        var_scale = None
        if st is not None and cfg.temporal.enabled:
            packed, count = temporal_filter(packed, st, shot, read, cfg.temporal)
            var_scale = 1.0 / count
            info.count_t = count
    with pipeline._stage(info, "denoise"):
        packed = pipeline._denoise(packed, shot, read, var_scale)
    with pipeline._stage(info, "to_dn"):
        dn = unpack_bayer(to_sensor_dn(packed, black, white), meta.cfa)  # (1,4,h,w)->(1,1,H,W)
        out = dn[0, 0].cpu().numpy().astype(np.uint16)
    if st is not None:
        st.frame_index += 1
    factor = 1.0 if var_scale is None else float(var_scale.mean())
    return out, meta.replace(noise_profile=(shot * factor, read * factor)), info
