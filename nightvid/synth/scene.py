"""Procedural, seeded night scenes in scene-linear sRGB: the clean side of synthetic raw data.

A frame is rendered at twice its size and area-averaged (anti-aliased edges, as a lens and
sensor would give), from world-anchored elements, so that:

* the same ``(height, width, seed, pan_px, objects, variant)`` gives the same array, bit for bit;
* ``pan_px`` pans the camera (sub-pixel allowed): an integer pan ``k`` equals
  ``np.roll(frame, -k, axis=1)`` away from the left and right borders;
* ``objects`` places moving things (a car with headlights, a hand-held light) for video;
* ``variant`` picks one of two different scenes ("street", "harbour"): a scene cut.

Radiance is relative to 1.0 = a mid-bright lit surface: sky 0.002-0.02, lit surfaces
0.05-0.5, windows ~0.5-3, neon tubes ~30-40, lamp cores ~700 (so everything clips in any
exposure that shows the street). A 24-patch chart with known values sits in every frame; see
:func:`nightvid.synth.chart.chart_patches`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ShapeError, UnknownNameError
from . import chart
from ._elements import LED, scale
from ._raster import RGB, Canvas, _coverage
from ._variants import harbour, street
from .chart import chart_patches

__all__ = ["VARIANTS", "SceneObject", "chart_patches", "night_scene"]

#: Scene variants by name.
VARIANTS: dict[str, Callable[[Canvas], None]] = {"street": street, "harbour": harbour}


@dataclass(frozen=True)
class SceneObject:
    """Something placed in the scene by the caller, e.g. once per video frame as it moves.

    Attributes:
        x, y: scene pixels (output pixels at pan 0: the object pans with the scene). For a
            car, the middle of its bottom edge (where the wheels touch the road; the street's
            road spans y = 0.85..1.0 of the height); for a light, its centre.
        kind: "car" (body, windows, wheels, headlights with beams, tail lights) or "light"
            (a bare bright lamp, e.g. a bicycle light).
        scale: size relative to a 300-unit car (1000 units = frame height).
        facing: +1 drives to the right (headlights on the right end), -1 to the left.
        color: the car body's albedo (linear sRGB).
    """

    x: float
    y: float
    kind: Literal["car", "light"] = "car"
    scale: float = 1.0
    facing: int = 1
    color: RGB = (0.30, 0.03, 0.03)


def _car(cv: Canvas, ob: SceneObject) -> None:
    """A side-view car: body, glass, wheels, headlight (+ glare, + beam on the road), tail."""
    n = cv.u(300) * ob.scale  # car length in scene px
    f = 1.0 if ob.facing >= 0 else -1.0

    def pts(seq: Sequence[tuple[float, float]]) -> np.ndarray:
        return np.array([[ob.x + f * px * n, ob.y + py * n] for px, py in seq])

    body = pts([(-0.5, -0.07), (0.5, -0.07), (0.5, -0.17), (0.42, -0.19), (0.22, -0.2),
                (0.1, -0.29), (-0.22, -0.29), (-0.33, -0.2), (-0.5, -0.19)])
    cv.paint_mask(*cv.poly_mask(body), ob.color, (0.0, 0.0, 0.0))
    glass = pts([(-0.29, -0.2), (-0.2, -0.27), (0.08, -0.27), (0.18, -0.2)])
    cv.paint_mask(*cv.poly_mask(glass), (0.015, 0.018, 0.02), (0.0, 0.0, 0.0))
    for wx in (-0.32, 0.32):
        cv.paint_mask(*cv.disc_mask(ob.x + f * wx * n, ob.y - 0.07 * n, 0.07 * n),
                      (0.012, 0.012, 0.012), (0.0, 0.0, 0.0))
    hx, hy = ob.x + f * 0.485 * n, ob.y - 0.15 * n
    cv.disc(hx, hy, 0.02 * n, scale(LED, 800.0))
    cv.add_glow(hx, hy, LED, 12.0, 0.02 * n, 1.2 * n)
    cv.add_light(ob.x + f * 1.1 * n, ob.y, LED, 2.0, 0.45 * n, 0.05 * n, 1.4 * n)
    tx, ty = ob.x - f * 0.495 * n, ob.y - 0.16 * n
    cv.disc(tx, ty, 0.012 * n, (60.0, 2.0, 1.5))
    cv.add_glow(tx, ty, (1.0, 0.03, 0.02), 2.0, 0.02 * n, 0.4 * n)


def _light(cv: Canvas, ob: SceneObject) -> None:
    r = cv.u(6) * ob.scale
    cv.disc(ob.x, ob.y, r, scale(LED, 500.0))
    cv.add_glow(ob.x, ob.y, LED, 8.0, r, cv.u(250) * ob.scale)
    cv.add_light(ob.x, ob.y, LED, 1.0, cv.u(120) * ob.scale, cv.u(120) * ob.scale,
                 cv.u(400) * ob.scale)


def _chart(cv: Canvas) -> None:
    """The chart board and patches, with the light on the board set to exactly CHART_LIGHT."""
    x0, y0, x1, y1 = chart.board_rect(cv.h, cv.w)
    cv.paint_rect(x0, y0, x1, y1, chart.BOARD_ALBEDO)
    refl = chart.chart_reflectance()
    for (py0, py1, px0, px1, _), rgb in zip(chart_patches(cv.h, cv.w), refl, strict=True):
        cv.paint_rect(px0, py0, px1, py1, tuple(rgb))
    # The display case shades the board from every other light: replace, don't add.
    cy, cx = _coverage(y0, y1, cv.h), _coverage(x0 - cv.pan, x1 - cv.pan, cv.w)
    if cy is None or cx is None:
        return
    (r0, r1, wy), (c0, c1, wx) = cy, cx
    cov = (wy[:, None] * wx[None, :])[..., None]
    sl = (slice(r0, r1), slice(c0, c1))
    cv.light[sl] += cov * (np.asarray(chart.CHART_LIGHT, np.float32) - cv.light[sl])


def night_scene(
    height: int,
    width: int,
    *,
    seed: int = 0,
    pan_px: float = 0.0,
    objects: Sequence[SceneObject] = (),
    variant: str = "street",
) -> np.ndarray:
    """Render a night scene as scene-linear sRGB radiance.

    Args:
        height, width: frame size in pixels (at least 16 each). Layout scales with the height
            (1000 layout units = the height); a wider frame shows more of the street.
        seed: picks every random choice (buildings, windows, lamps, textures, stars).
        pan_px: horizontal camera pan in pixels, sub-pixel allowed; the content moves left.
        objects: :class:`SceneObject` s drawn in front of the scene (and the chart).
        variant: "street" or "harbour".
    Returns:
        (height, width, 3) float32, linear sRGB (D65) radiance, >= 0, HDR (lamps >> 1).
    Raises:
        ShapeError: a size below 16.
        UnknownNameError: an unknown variant (the message lists the known ones).

    >>> img = night_scene(64, 96, seed=1)
    >>> img.shape, img.dtype, bool(img.min() >= 0), bool(img.max() > 100)
    ((64, 96, 3), dtype('float32'), True, True)
    """
    if height < 16 or width < 16:
        raise ShapeError(f"night_scene: expected height and width >= 16, got {height}x{width}")
    if variant not in VARIANTS:
        raise UnknownNameError(
            f"night_scene: variant {variant!r} is not one of {', '.join(sorted(VARIANTS))}")
    cv = Canvas(int(height), int(width), float(pan_px), int(seed), height / 1000.0)
    VARIANTS[variant](cv)
    _chart(cv)
    for ob in objects:
        (_car if ob.kind == "car" else _light)(cv, ob)
    return cv.radiance()
