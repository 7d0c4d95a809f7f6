"""Small neural networks of the pipeline (inference only: training lives in nightvid.train).

- :class:`RawDenoiser`: noise-aware raw denoiser on packed Bayer (student <= 150k params).
- :func:`load_net` / :func:`save_net`: safetensors checkpoints of any of them, never pickle.
"""

from __future__ import annotations

from .denoiser import (
    STUDENT,
    TEACHER,
    DenoiserSpec,
    RawDenoiser,
    count_params,
    flops_per_mpix,
    gat,
    inverse_gat,
)
from .io import KINDS, load_denoiser, load_net, read_metadata, save_denoiser, save_net

__all__ = [
    "STUDENT", "TEACHER", "DenoiserSpec", "RawDenoiser", "count_params", "flops_per_mpix", "gat",
    "inverse_gat", "KINDS", "load_denoiser", "load_net", "read_metadata", "save_denoiser",
    "save_net",
]
