"""Private building blocks of the synthetic night scenes: sky, textures, buildings, lights, signs.

All sizes are layout units (``cv.u``: 1000 units = the frame height) and all positions scene
pixels. Repeating elements live in world-anchored slots (slot ``i`` covers ``[i p, (i+1) p)``
and draws from ``cv.rng(salt, i)``), so panning reveals new, stable content.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._raster import RGB, Canvas, Texture

SODIUM: RGB = (1.0, 0.52, 0.16)
LED: RGB = (0.92, 0.96, 1.0)
RED: RGB = (1.0, 0.05, 0.09)
BLUE: RGB = (0.10, 0.28, 1.0)
GREEN: RGB = (0.12, 1.0, 0.28)
MAGENTA: RGB = (1.0, 0.10, 0.80)
_WINDOW_TINTS: tuple[RGB, ...] = (
    (1.0, 0.62, 0.30), (1.0, 0.78, 0.52), (0.95, 0.90, 0.80), (0.55, 0.70, 1.0))


def scale(rgb: RGB, k: float) -> RGB:
    """``rgb`` times ``k``."""
    return (rgb[0] * k, rgb[1] * k, rgb[2] * k)


def slots(cv: Canvas, pitch: float, margin: float = 0.0) -> Iterator[int]:
    """Indices of the world slots of width ``pitch`` that may show in the frame."""
    x0, x1 = cv.x_range
    yield from range(math.floor((x0 - margin) / pitch) - 1, math.ceil((x1 + margin) / pitch) + 1)


# -- sky ----------------------------------------------------------------------------------------
def sky(cv: Canvas, top: RGB, horizon: RGB, horizon_y: float) -> None:
    """Fill the emission layer with a vertical gradient, ``top`` -> ``horizon`` at horizon_y."""
    y = (np.arange(2 * cv.h) + 0.5) / 2.0
    t = np.clip(y / horizon_y, 0.0, 1.0)[:, None] ** 2.2
    rows = (1 - t) * np.asarray(top) + t * np.asarray(horizon)  # (2H, 3)
    cv.emis[:] = rows[:, None, :].astype(np.float32)


def stars(cv: Canvas, bottom_y: float, per_slot: float = 5.0) -> None:
    """A few faint stars above ``bottom_y``, denser towards the zenith."""
    pitch = cv.u(250)
    for i in slots(cv, pitch):
        r = cv.rng(11, i)
        for _ in range(r.poisson(per_slot)):
            x, y = (i + r.random()) * pitch, bottom_y * r.random() ** 1.5
            tint = (1.0, 0.95 + 0.05 * r.random(), 0.85 + 0.3 * r.random())
            cv.disc(x, y, 0.35, scale(tint, 0.15 * r.lognormal(0.0, 0.8)))


# -- textures -----------------------------------------------------------------------------------
def brick(cv: Canvas, salt: int, brick_h: float, brick_w: float, mortar: float) -> Texture:
    """Running-bond brick: per-brick albedo variation, lighter mortar, 2x-pixel grain."""
    table = cv.rng(salt, 77).uniform(0.65, 1.35, (61, 67)).astype(np.float32)

    def tex(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        y, x = (rows + 0.5) / 2.0, (cols + 0.5) / 2.0
        br = np.floor(y / brick_h).astype(np.int64)
        odd = (br % 2 == 1)[:, None]
        shifted = [x, x + 0.5 * brick_w]  # even rows, odd rows (half-brick offset)
        ci = [np.floor(s / brick_w).astype(np.int64) for s in shifted]
        v = np.where(odd, table[np.ix_(br % 61, ci[1] % 67)], table[np.ix_(br % 61, ci[0] % 67)])
        joint = [(s - c * brick_w) < mortar for s, c in zip(shifted, ci, strict=True)]
        joint_x = np.where(odd, joint[1][None, :], joint[0][None, :])
        joint_y = ((y - br * brick_h) < mortar)[:, None]
        v = np.where(joint_x | joint_y, np.float32(1.5), v)
        return v * (1.0 + 0.6 * cv.grain(rows, cols, salt))

    return tex


def paving(cv: Canvas, salt: int, slab: float, coarse: float = 0.3) -> Texture:
    """Pavement (``slab`` > 0: square slabs with dark joints) or asphalt (``slab`` = 0)."""
    table = cv.rng(salt, 78).uniform(0.85, 1.15, (53, 59)).astype(np.float32)

    def tex(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        fine = cv.grain(rows, cols, salt)
        blotch = cv.grain(rows // 6, cols // 6, salt + 2)
        v = 1.0 + 0.7 * fine + coarse * blotch
        if slab > 0:
            y, x = (rows + 0.5) / 2.0, (cols + 0.5) / 2.0
            iy, ix = np.floor(y / slab).astype(np.int64), np.floor(x / slab).astype(np.int64)
            v = v * table[np.ix_(iy % 53, ix % 59)]
            joint = ((y - iy * slab) < 1.2)[:, None] | ((x - ix * slab) < 1.2)[None, :]
            v = np.where(joint, v * np.float32(0.55), v)
        return v

    return tex


# -- buildings ----------------------------------------------------------------------------------
def windows(cv: Canvas, r: np.random.Generator, box: tuple[float, float, float, float],
            size: tuple[float, float], pitch: tuple[float, float], lit: float,
            power: float) -> None:
    """A grid of windows in ``box`` (x0, y0, x1, y1); a share ``lit`` glows."""
    x0, y0, x1, y1 = box
    (ww, wh), (px, py) = size, pitch
    nx, ny = int((x1 - x0 - (px - ww)) // px), int((y1 - y0 - (py - wh)) // py)
    ox = x0 + 0.5 * (x1 - x0 - (nx - 1) * px - ww)
    for j in range(ny):
        for i in range(nx):
            wx, wy = ox + i * px, y0 + 0.5 * (py - wh) + j * py
            if r.random() < lit:
                tint = _WINDOW_TINTS[r.integers(len(_WINDOW_TINTS))]
                glow = scale(tint, power * r.lognormal(0.0, 0.6))
                cv.paint_rect(wx, wy, wx + ww, wy + wh, (0.02, 0.02, 0.02), glow)
            else:
                cv.paint_rect(wx, wy, wx + ww, wy + wh, (0.03, 0.035, 0.04))


def building_row(cv: Canvas, salt: int, base_y: float, pitch_u: float,
                 height_u: tuple[float, float], albedo: RGB, texture: Texture | None,
                 window_u: tuple[float, float, float, float], lit: float, power: float) -> None:
    """One row of rectangular buildings standing on ``base_y``, one per world slot."""
    pitch = cv.u(pitch_u)
    ww, wh, px, py = (cv.u(v) for v in window_u)
    for i in slots(cv, pitch):
        r = cv.rng(salt, i)
        width = pitch * r.uniform(0.62, 0.98)
        left = i * pitch + r.uniform(0.0, pitch - width)
        top = base_y - cv.u(r.uniform(*height_u))
        tint = r.uniform(0.8, 1.2)
        cv.paint_rect(left, top, left + width, base_y, scale(albedo, tint), texture=texture)
        margin = cv.u(18)
        windows(cv, r, (left + margin, top + margin, left + width - margin, base_y - 3 * py / 2),
                (ww, wh), (px, py), lit, power)


# -- lights -------------------------------------------------------------------------------------
def lamp(cv: Canvas, x: float, ground_y: float, height_u: float, rgb: RGB,
         pool: tuple[float, float, float] = (1.6, 190, 120)) -> tuple[float, float]:
    """A street lamp: pole, arm, housing, a bright core with glare, and a pool of light.

    Returns the core's scene (x, y).
    """
    u = cv.u
    top = ground_y - u(height_u)
    dark = (0.04, 0.04, 0.045)
    cv.paint_rect(x - u(3.5), top, x + u(3.5), ground_y, dark)
    cv.paint_rect(x - u(3.5), top - u(3), x + u(42), top + u(3), dark)
    hx, hy = x + u(42), top + u(5)
    cv.paint_rect(hx - u(16), top - u(4), hx + u(16), hy, dark)
    cv.disc(hx, hy + u(2), max(u(7), 0.8), scale(rgb, 700.0))  # >= 1 px when tiny
    cv.add_glow(hx, hy + u(2), rgb, 10.0, u(5), u(260))
    power, sx, sy = pool
    cv.add_light(hx, ground_y - u(50), rgb, power, u(sx), u(sy), u(3.2 * sx))
    return hx, hy


def neon_text(cv: Canvas, text: str, x: float, y: float, height: float, rgb: RGB,
              power: float = 40.0) -> None:
    """Neon tube lettering (baseline-left at x, y) with its glow."""
    m, r0, c0 = cv.text_mask(text, x, y, height, max(1.0, 0.09 * height))
    cv.paint_mask(m, r0, c0, None, scale(rgb, power), add=True)
    cv.blur_glow(m, r0, c0, scale(rgb, power), (cv.u(3), cv.u(10)), (0.10, 0.04))


def neon_outline(cv: Canvas, pts: np.ndarray, rgb: RGB, power: float = 30.0,
                 closed: bool = True) -> None:
    """A neon tube along a scene polyline, with its glow."""
    m, r0, c0 = cv.poly_mask(pts, max(1.0, 2.0 * cv.u(2.5)), closed)
    cv.paint_mask(m, r0, c0, None, scale(rgb, power), add=True)
    cv.blur_glow(m, r0, c0, scale(rgb, power), (cv.u(3), cv.u(10)), (0.10, 0.04))


def sign(cv: Canvas, x: float, y: float) -> None:
    """The shop sign: red neon "NIGHTVID" in a blue neon frame, a backlit "OPEN 24H" below."""
    u = cv.u
    cv.paint_rect(x, y, x + u(360), y + u(120), (0.02, 0.02, 0.025))
    neon_text(cv, "NIGHTVID", x + u(28), y + u(84), u(48), RED)
    frame = np.array([[x + u(10), y + u(10)], [x + u(350), y + u(10)],
                      [x + u(350), y + u(110)], [x + u(10), y + u(110)]])
    neon_outline(cv, frame, BLUE, 25.0)
    bx, by = x + u(60), y + u(140)
    cv.paint_rect(bx, by, bx + u(240), by + u(64), (0.6, 0.6, 0.6), (2.4, 2.3, 2.1))
    m, r0, c0 = cv.text_mask("OPEN 24H", bx + u(22), by + u(46), u(30), u(3.0))
    cv.paint_mask(m, r0, c0, (0.02, 0.02, 0.02), (0.04, 0.01, 0.01))
    cv.add_light(bx + u(120), by + u(90), (1.0, 0.95, 0.9), 0.25, u(150), u(80), u(300))


def bar_sign(cv: Canvas, x: float, y: float) -> None:
    """A green neon "BAR" with a magenta neon ring."""
    u = cv.u
    cv.paint_rect(x, y, x + u(200), y + u(70), (0.02, 0.02, 0.02))
    neon_text(cv, "BAR", x + u(14), y + u(55), u(38), GREEN, 35.0)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    ring = np.stack([x + u(165) + u(20) * np.cos(t), y + u(35) + u(20) * np.sin(t)], axis=1)
    neon_outline(cv, ring, MAGENTA, 30.0)
