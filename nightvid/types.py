"""Frame and metadata types shared by sources, the pipeline and sinks.

Conventions (see DESIGN.md):

* A mosaic from a source is an ``(H, W)`` integer (or float) NumPy array in sensor DN, H and W
  even, together with a :class:`RawMeta`.
* ``RawMeta.cfa`` names the 2x2 pattern row-major (``"RGGB"``, ``"GRBG"``, ...). Per-channel
  values (black level, gains) are always in packed-plane order **R, Gr, Gb, B**, whatever the
  sensor's pattern: the source has already re-indexed them.
* Colour matrices are DNG-style XYZ -> camera RGB, 3x3, row-major.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

#: EXIF LightSource codes -> correlated colour temperature in kelvin (DNG spec, table of
#: CalibrationIlluminant values). Used to interpolate between two colour matrices.
ILLUMINANT_CCT: dict[int, float] = {
    1: 5500.0,  # daylight
    2: 4200.0,  # fluorescent (cool white)
    3: 2850.0,  # tungsten
    4: 5500.0,  # flash
    9: 5500.0,  # fine weather
    10: 6500.0,  # cloudy
    11: 7500.0,  # shade
    12: 6430.0,  # daylight fluorescent
    13: 5000.0,  # day white fluorescent
    14: 4150.0,  # cool white fluorescent
    15: 3450.0,  # white fluorescent
    16: 2940.0,  # warm white fluorescent
    17: 2856.0,  # standard light A
    18: 4874.0,  # standard light B
    19: 6774.0,  # standard light C
    20: 5503.0,  # D55
    21: 6504.0,  # D65
    22: 7504.0,  # D75
    23: 5003.0,  # D50
    24: 3200.0,  # ISO studio tungsten
}

#: Bayer patterns nightvid handles, and the packed-plane index of each 2x2 position.
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


def cfa_offsets(cfa: str) -> tuple[tuple[int, int], ...]:
    """(row, col) offset inside the 2x2 tile of the R, Gr, Gb and B samples of ``cfa``.

    Gr is the green on a red row, Gb the green on a blue row.

    >>> cfa_offsets("GRBG")
    ((0, 1), (0, 0), (1, 1), (1, 0))
    """
    if cfa not in BAYER_PATTERNS:
        raise ValueError(f"cfa: expected one of {', '.join(BAYER_PATTERNS)}, got {cfa!r}")
    pos = {(i // 2, i % 2): c for i, c in enumerate(cfa)}
    r = next(p for p, c in pos.items() if c == "R")
    b = next(p for p, c in pos.items() if c == "B")
    gr = (r[0], 1 - r[1])  # green sharing the red row
    gb = (b[0], 1 - b[1])  # green sharing the blue row
    return (r, gr, gb, b)


@dataclass(frozen=True)
class RawMeta:
    """What the pipeline needs to know about a raw frame, and where each fact came from.

    Attributes:
        black_level: per plane R, Gr, Gb, B, in DN.
        white_level: saturation in DN (after any linearisation table).
        cfa: 2x2 Bayer pattern, row-major, e.g. ``"RGGB"``.
        as_shot_neutral: camera RGB of a neutral under the scene light (DNG AsShotNeutral),
            G normalised to 1; None when unknown.
        color_matrix_1, color_matrix_2: XYZ -> camera 3x3 (DNG ColorMatrix1/2); None if unknown.
        cct_1, cct_2: correlated colour temperature (K) of the illuminants the two matrices
            were calibrated under (from DNG CalibrationIlluminant via :data:`ILLUMINANT_CCT`).
        forward_matrix_1, forward_matrix_2: white-balanced camera -> XYZ(D50) 3x3, optional.
        noise_profile: (shot, read) of variance = shot * x + read, x normalised to [0, 1].
        orientation: EXIF orientation 1..8.
        iso, exposure_s: capture settings, None when unknown.
        baseline_exposure_ev: DNG BaselineExposure.
        gain_map: lens-shading gain per plane, (4, gh, gw) float32 over the frame, or None.
        timestamp_s: capture time in seconds within a stream (0 for a photo).
        camera: make and model, for messages and ``nightvid info``.
        source: the file this came from.
        origin: field name -> where its value came from ("dng tag", "libraw", "sidecar", ...).
        assumed: field names that got a documented default because the input lacked them.
    """

    black_level: tuple[float, float, float, float]
    white_level: float
    cfa: str = "RGGB"
    as_shot_neutral: tuple[float, float, float] | None = None
    color_matrix_1: np.ndarray | None = None
    color_matrix_2: np.ndarray | None = None
    cct_1: float | None = None
    cct_2: float | None = None
    forward_matrix_1: np.ndarray | None = None
    forward_matrix_2: np.ndarray | None = None
    noise_profile: tuple[float, float] | None = None
    orientation: int = 1
    iso: float | None = None
    exposure_s: float | None = None
    baseline_exposure_ev: float = 0.0
    gain_map: np.ndarray | None = None
    timestamp_s: float = 0.0
    camera: str = "unknown camera"
    source: str = ""
    origin: dict[str, str] = field(default_factory=dict, compare=False)
    assumed: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> RawMeta:
        """A copy with ``changes`` applied (dataclasses.replace)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> list[tuple[str, str, str]]:
        """Rows ``(field, value, origin)`` for ``nightvid info``."""
        rows = []
        for f in dataclasses.fields(self):
            if f.name in ("origin", "assumed"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                text = (
                    np.array2string(value, precision=4, suppress_small=True, separator=", ")
                    if value.size <= 12
                    else f"array {tuple(value.shape)} {value.dtype}"
                )
                text = " ".join(text.split())
            elif value is None:
                text = "-"
            else:
                text = str(value)
            where = "default (assumed)" if f.name in self.assumed else self.origin.get(f.name, "")
            rows.append((f.name, text, where))
        return rows


@dataclass(frozen=True)
class Frame:
    """One frame of a stream: a mosaic (or image) with exact timing and its metadata.

    Attributes:
        data: ``(H, W)`` mosaic in sensor DN (raw path) or ``(H, W, 3)`` image (RGB path).
        pts: presentation timestamp in ``time_base`` units.
        time_base: seconds per pts tick.
        meta: the frame's :class:`RawMeta` (None on the RGB path).
        index: position in the stream, from 0.
        timecode: SMPTE time code ``"HH:MM:SS:FF"`` (``;`` before FF when drop-frame) where
            the source records one (CinemaDNG TimeCodes), else None.
    """

    data: np.ndarray
    pts: int = 0
    time_base: Fraction = Fraction(1, 1)
    meta: RawMeta | None = None
    index: int = 0
    timecode: str | None = None
