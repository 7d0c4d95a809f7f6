"""Small neural networks of the pipeline (inference only: training lives in nightvid.train).

- :class:`RawDenoiser`: noise-aware raw denoiser on packed Bayer (student <= 150k params).
- :func:`load_denoiser` / :func:`save_denoiser`: safetensors checkpoints, never pickle.
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
from .io import load_denoiser, read_metadata, save_denoiser

__all__ = [
    "STUDENT", "TEACHER", "DenoiserSpec", "RawDenoiser", "count_params", "flops_per_mpix", "gat",
    "inverse_gat", "load_denoiser", "read_metadata", "save_denoiser",
]
