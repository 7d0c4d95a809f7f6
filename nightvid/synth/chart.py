"""The 24-patch colour chart of the synthetic night scene, and where to find its patches.

The chart hangs in a lit display case at a fixed place in the frame (left, at street level),
lit by its own neutral white light and shaded from every other light, so each patch's radiance
is exactly ``reflectance x CHART_LIGHT``: tests and colour metrics can read it back.
"""

from __future__ import annotations

import numpy as np

#: ColorChecker-like patches as 8-bit sRGB, row by row (the widely published BabelColor /
#: X-Rite sRGB renderings, D65). The bottom row is made exactly neutral: white 243 to black 52.
CHART_SRGB8: tuple[tuple[int, int, int], ...] = (
    (115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177),
    (103, 189, 170),
    (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108), (157, 188, 64),
    (224, 163, 46),
    (56, 61, 150), (70, 148, 73), (175, 54, 60), (231, 199, 31), (187, 86, 149),
    (8, 133, 161),
    (243, 243, 243), (200, 200, 200), (160, 160, 160), (122, 122, 122), (85, 85, 85),
    (52, 52, 52),
)

#: Linear sRGB radiance of the light falling on the chart (neutral: the greys stay grey).
CHART_LIGHT: tuple[float, float, float] = (0.5, 0.5, 0.5)
#: Albedo of the chart's black board (between the patches).
BOARD_ALBEDO: tuple[float, float, float] = (0.03, 0.03, 0.03)

_ROWS, _COLS = 4, 6


def _srgb8_to_linear(v: int) -> float:
    c = v / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def chart_reflectance() -> np.ndarray:
    """(24, 3) float64 linear reflectance of the patches (row-major, top-left first)."""
    return np.array([[_srgb8_to_linear(c) for c in p] for p in CHART_SRGB8])


def chart_layout(height: int, width: int) -> tuple[int, int, int, int]:
    """(board x0, board y0, patch size, gap) in whole pixels of an (height, width) frame.

    Sizes scale with the height; the board sits at 4 % of the width from the left, its top at
    56 % of the height.
    """
    unit = height / 1000.0
    patch = max(4, round(40 * unit))
    gap = max(2, round(8 * unit))
    return round(0.04 * width), round(560 * unit), patch, gap


def board_rect(height: int, width: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the chart's board at pan 0, in pixels."""
    x0, y0, p, g = chart_layout(height, width)
    return x0, y0, x0 + _COLS * p + (_COLS + 1) * g, y0 + _ROWS * p + (_ROWS + 1) * g


def chart_patches(
    height: int, width: int, *, pan_px: float = 0.0
) -> list[tuple[int, int, int, int, tuple[float, float, float]]]:
    """Where each chart patch is in a ``night_scene(height, width)`` frame, and its value.

    Args:
        height, width: frame size in pixels.
        pan_px: the frame's pan; the chart moves left by it. Non-integer pans round the
            returned bounds to the nearest pixel (edge pixels are then partly board).
    Returns:
        24 tuples ``(y0, y1, x0, x1, expected)``, row-major from the top-left patch:
        ``frame[y0:y1, x0:x1]`` is the patch, and ``expected`` its linear sRGB radiance
        (reflectance x :data:`CHART_LIGHT`), exact away from the patch edges.

    >>> p = chart_patches(1080, 1920)
    >>> len(p), round(p[18][4][0], 4)  # the white patch
    (24, 0.4481)
    """
    x0, y0, p, g = chart_layout(height, width)
    shift = round(pan_px)
    refl = chart_reflectance()
    out = []
    for i in range(_ROWS * _COLS):
        r, c = divmod(i, _COLS)
        py, px = y0 + g + r * (p + g), x0 + g + c * (p + g) - shift
        red, green, blue = (float(v * li) for v, li in zip(refl[i], CHART_LIGHT, strict=True))
        out.append((py, py + p, px, px + p, (red, green, blue)))
    return out
