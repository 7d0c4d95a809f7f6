"""Private raster helpers of the synthetic night scene: a 2x supersampled canvas in scene px.

Scene coordinates are output pixels at ``pan_px = 0``: a point at scene ``(x, y)`` lands on
output column ``x - pan_px``. Pixel ``i`` covers the continuous interval ``[i, i + 1)``, and
every element is a function of scene coordinates (rectangles by exact area coverage, discs and
glows analytically, textures from world-anchored tiles), so an integer pan is an exact shift.

Layers, combined by :meth:`Canvas.radiance`:

* ``alb`` / ``emis``: (2H, 2W, 3) float32 albedo and emitted radiance, painted at 2x;
* ``light``: (H, W, 3) illumination falling on surfaces (smooth, so 1x suffices);
* ``glow``: (H, W, 3) veiling glare around bright sources, added after the 2x -> 1x average.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

RGB = tuple[float, float, float]
#: A texture: (world 2x-pixel rows (ny,), columns (nx,)) -> (ny, nx) float32 multiplier.
Texture = Callable[[np.ndarray, np.ndarray], np.ndarray]

_TILE = 1024  # texture tile side in 2x pixels; two offset tiles hide the period


def _coverage(a: float, b: float, n: int) -> tuple[int, int, np.ndarray] | None:
    """Pixels of a length-``n`` axis touched by ``[a, b)`` and the area fraction of each."""
    i0, i1 = max(math.floor(a), 0), min(math.ceil(b), n)
    if i1 <= i0:
        return None
    j = np.arange(i0, i1, dtype=np.float64)
    cov = np.clip(np.minimum(j + 1.0, b) - np.maximum(j, a), 0.0, 1.0)
    return i0, i1, cov.astype(np.float32)


class Canvas:
    """Drawing surface for one frame.

    Args:
        height, width: output size in pixels.
        pan_px: horizontal camera pan; scene x = output x + pan_px.
        seed: seed of every random choice.
        unit: scene pixels per layout unit (layouts are written for a 1000-unit-high frame).
    """

    def __init__(self, height: int, width: int, pan_px: float, seed: int, unit: float) -> None:
        self.h, self.w, self.pan, self.seed, self.unit = height, width, float(pan_px), seed, unit
        self.alb = np.zeros((2 * height, 2 * width, 3), np.float32)
        self.emis = np.zeros_like(self.alb)
        self.light = np.zeros((height, width, 3), np.float32)
        self.glow = np.zeros_like(self.light)
        self._tiles: dict[int, np.ndarray] = {}

    # -- coordinates -------------------------------------------------------------------------
    @property
    def x_range(self) -> tuple[float, float]:
        """Visible scene x interval."""
        return self.pan, self.pan + self.w

    def u(self, v: float) -> float:
        """Layout units -> scene pixels."""
        return v * self.unit

    def rng(self, *key: int) -> np.random.Generator:
        """A generator keyed by the seed and ``key`` (world-anchored: same key, same draws)."""
        return np.random.default_rng([self.seed, *[int(k) & 0x7FFFFFFF for k in key]])

    def world_cols(self, i0: int, i1: int) -> np.ndarray:
        """World 2x-pixel column index of canvas columns ``i0:i1`` (nearest sampling)."""
        return np.arange(i0, i1) + math.floor(2.0 * self.pan + 0.5)

    # -- textures ----------------------------------------------------------------------------
    def tile(self, salt: int) -> np.ndarray:
        """A (1024, 1024) float32 uniform-noise tile, world-anchored and seeded."""
        if salt not in self._tiles:
            self._tiles[salt] = self.rng(9000, salt).random((_TILE, _TILE), np.float32)
        return self._tiles[salt]

    def grain(self, rows: np.ndarray, cols: np.ndarray, salt: int) -> np.ndarray:
        """Fine noise in [-0.5, 0.5) at 2x-pixel scale, world-anchored.

        Two tiles read with different periods (1024 and 1021 x 997), so the sum does not
        repeat within any practical frame (a repeating texture would flatter non-local
        denoisers).
        """
        a = self.tile(salt)[np.ix_(rows % _TILE, cols % _TILE)]
        b = self.tile(salt + 1)[np.ix_((rows + 389) % 1021, (cols + 611) % 997)]
        return 0.5 * (a + b) - 0.5

    # -- painting at 2x ----------------------------------------------------------------------
    def _box(self, x0: float, y0: float, x1: float, y1: float):
        cy = _coverage(2.0 * y0, 2.0 * y1, 2 * self.h)
        cx = _coverage(2.0 * (x0 - self.pan), 2.0 * (x1 - self.pan), 2 * self.w)
        if cy is None or cx is None:
            return None
        return cy, cx

    def paint_rect(self, x0: float, y0: float, x1: float, y1: float, albedo: RGB,
                   emission: RGB = (0.0, 0.0, 0.0), texture: Texture | None = None) -> None:
        """Cover the scene rectangle [x0, x1) x [y0, y1) with a surface (exact AA edges)."""
        box = self._box(x0, y0, x1, y1)
        if box is None:
            return
        (r0, r1, cy), (c0, c1, cx) = box
        cov = (cy[:, None] * cx[None, :])[..., None]  # (ny, nx, 1)
        alb = np.asarray(albedo, np.float32)
        if texture is not None:
            rows = np.arange(r0, r1)
            alb = alb * texture(rows, self.world_cols(c0, c1))[..., None]
        sl = (slice(r0, r1), slice(c0, c1))
        self.alb[sl] += cov * (alb - self.alb[sl])
        self.emis[sl] += cov * (np.asarray(emission, np.float32) - self.emis[sl])

    def paint_mask(self, mask: np.ndarray, r0: int, c0: int, albedo: RGB | None,
                   emission: RGB | None, add: bool = False) -> None:
        """Paint (or with ``add``, add emission through) a float coverage mask at 2x (r0, c0)."""
        r1, c1 = r0 + mask.shape[0], c0 + mask.shape[1]
        a0, b0 = max(r0, 0), max(c0, 0)
        a1, b1 = min(r1, 2 * self.h), min(c1, 2 * self.w)
        if a1 <= a0 or b1 <= b0:
            return
        cov = mask[a0 - r0 : a1 - r0, b0 - c0 : b1 - c0, None].astype(np.float32)
        sl = (slice(a0, a1), slice(b0, b1))
        if add:
            self.emis[sl] += cov * np.asarray(emission, np.float32)
            return
        if albedo is not None:
            self.alb[sl] += cov * (np.asarray(albedo, np.float32) - self.alb[sl])
        if emission is not None:
            self.emis[sl] += cov * (np.asarray(emission, np.float32) - self.emis[sl])

    def poly_mask(self, pts: np.ndarray, thickness: float = 0.0,
                  closed: bool = True) -> tuple[np.ndarray, int, int]:
        """Rasterise a scene polygon (filled) or polyline (``thickness`` > 0) at 2x.

        Returns (mask float32, r0, c0): the mask's top-left in canvas 2x pixels. The canvas
        origin of the mask is kept on even pixels so an integer pan shifts it exactly.
        """
        p = np.asarray(pts, np.float64) * 2.0
        p[:, 0] -= 2.0 * self.pan
        pad = int(math.ceil(thickness)) + 2
        r0 = 2 * (math.floor(p[:, 1].min() / 2.0) - pad)
        c0 = 2 * (math.floor(p[:, 0].min() / 2.0) - pad)
        hh = int(math.ceil(p[:, 1].max())) - r0 + 2 * pad + 2
        ww = int(math.ceil(p[:, 0].max())) - c0 + 2 * pad + 2
        mask = np.zeros((hh, ww), np.uint8)
        q = np.round((p - [c0 + 0.5, r0 + 0.5]) * 16).astype(np.int32)[None]  # 4 fraction bits
        if thickness > 0:
            cv2.polylines(mask, q, closed, 255, max(1, round(thickness)), cv2.LINE_AA, 4)
        else:
            cv2.fillPoly(mask, q, 255, cv2.LINE_AA, 4)
        return mask.astype(np.float32) / 255.0, r0, c0

    def disc_mask(self, x: float, y: float, r: float) -> tuple[np.ndarray, int, int]:
        """Coverage of the scene disc at (x, y), radius r, at 2x (soft 1-pixel edge)."""
        X, Y, R = 2.0 * (x - self.pan), 2.0 * y, 2.0 * r
        r0, c0 = math.floor(Y - R - 2), math.floor(X - R - 2)
        yy = np.arange(r0, math.ceil(Y + R + 2)) + 0.5 - Y
        xx = np.arange(c0, math.ceil(X + R + 2)) + 0.5 - X
        d = np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2)
        return np.clip(R + 0.5 - d, 0.0, 1.0).astype(np.float32), r0, c0

    def disc(self, x: float, y: float, r: float, emission: RGB) -> None:
        """Add a self-luminous disc (lamp core, star, headlight) of radius r."""
        self.paint_mask(*self.disc_mask(x, y, r), None, emission, add=True)

    def text_mask(self, text: str, x: float, y: float, height: float,
                  thickness: float) -> tuple[np.ndarray, int, int]:
        """Rasterise ``text`` (Hershey duplex) with its baseline-left at scene (x, y), 2x."""
        font = cv2.FONT_HERSHEY_DUPLEX
        scale = 2.0 * height / cv2.getTextSize("H", font, 1.0, 1)[0][1]
        th = max(1, round(2.0 * thickness))
        (tw, tht), base = cv2.getTextSize(text, font, scale, th)
        pad = th + 2
        mask = np.zeros((tht + base + 2 * pad, tw + 2 * pad), np.uint8)
        cv2.putText(mask, text, (pad, pad + tht), font, scale, 255, th, cv2.LINE_AA)
        m = mask.astype(np.float32) / 255.0
        X, Y = 2.0 * (x - self.pan) - pad, 2.0 * y - pad - tht
        c0, fx = math.floor(X), X - math.floor(X)
        if fx > 0:  # sub-pixel placement: linear interpolation along x
            m = np.pad(m, ((0, 0), (0, 1)))
            m[:, 1:] = (1 - fx) * m[:, 1:] + fx * m[:, :-1]
            m[:, 0] *= 1 - fx
        return m, round(Y), c0

    # -- 1x light and glow -------------------------------------------------------------------
    def _grid(self, x: float, y: float, radius: float):
        i0, i1 = max(math.floor(y - radius), 0), min(math.ceil(y + radius), self.h)
        j0 = max(math.floor(x - self.pan - radius), 0)
        j1 = min(math.ceil(x - self.pan + radius), self.w)
        if i1 <= i0 or j1 <= j0:
            return None
        dy = (np.arange(i0, i1) + 0.5 - y)[:, None]
        dx = (np.arange(j0, j1) + 0.5 + self.pan - x)[None, :]
        return (slice(i0, i1), slice(j0, j1)), dx, dy

    def add_light(self, x: float, y: float, rgb: RGB, power: float, sx: float, sy: float,
                  radius: float) -> None:
        """Illumination pool of a light: power / (1 + (dx/sx)^2 + (dy/sy)^2)^1.5, windowed."""
        g = self._grid(x, y, radius)
        if g is None:
            return
        sl, dx, dy = g
        q = (dx / sx) ** 2 + (dy / sy) ** 2
        w = np.clip(1.0 - (dx * dx + dy * dy) / radius**2, 0.0, 1.0) ** 2
        f = (power * w / (1.0 + q) ** 1.5).astype(np.float32)
        self.light[sl] += f[..., None] * np.asarray(rgb, np.float32)

    def add_glow(self, x: float, y: float, rgb: RGB, amp: float, core: float,
                 radius: float) -> None:
        """Veiling glare: two Gaussians and a 1/r^2 halo, windowed to vanish at ``radius``."""
        g = self._grid(x, y, radius)
        if g is None:
            return
        sl, dx, dy = g
        r2 = dx * dx + dy * dy
        f = 0.6 * np.exp(-r2 / (2 * core**2)) + 0.25 * np.exp(-r2 / (18 * core**2))
        f = f + 0.15 / (1.0 + r2 / (4 * core**2))
        w = np.clip(1.0 - r2 / radius**2, 0.0, 1.0) ** 2
        self.glow[sl] += (amp * f * w).astype(np.float32)[..., None] * np.asarray(rgb, np.float32)

    def blur_glow(self, mask: np.ndarray, r0: int, c0: int, rgb: RGB, sigmas: tuple[float, ...],
                  weights: tuple[float, ...]) -> None:
        """Glow of an emitting 2x mask (neon): blurs of its 1x average, added to ``glow``.

        The kernels are Gaussians windowed to zero at 3 sigma, so the glow has finite support
        and no step at its edge.
        """
        m = np.pad(mask, ((r0 % 2, 0), (c0 % 2, 0)))  # even origin: 2x -> 1x stays aligned
        r0, c0 = r0 - r0 % 2, c0 - c0 % 2
        pad = 2 * math.ceil(3 * max(sigmas)) + 2
        m = np.pad(m, pad)
        h2, w2 = m.shape[0] // 2 * 2, m.shape[1] // 2 * 2
        m1 = cv2.resize(m[:h2, :w2], (w2 // 2, h2 // 2), interpolation=cv2.INTER_AREA)
        acc: np.ndarray = np.zeros(m1.shape, np.float32)
        for s, wt in zip(sigmas, weights, strict=True):
            t = np.arange(-math.ceil(3 * s), math.ceil(3 * s) + 1, dtype=np.float64)
            k = np.exp(-0.5 * (t / s) ** 2) * (1 - (t / (3 * s + 1)) ** 2) ** 2
            k = (k / k.sum()).astype(np.float32)
            acc += wt * cv2.sepFilter2D(m1, -1, k, k, borderType=cv2.BORDER_CONSTANT)
        i0, j0 = (r0 - pad) // 2, (c0 - pad) // 2
        a0, b0 = max(i0, 0), max(j0, 0)
        a1, b1 = min(i0 + acc.shape[0], self.h), min(j0 + acc.shape[1], self.w)
        if a1 > a0 and b1 > b0:
            patch = acc[a0 - i0 : a1 - i0, b0 - j0 : b1 - j0, None] * np.asarray(rgb, np.float32)
            self.glow[a0:a1, b0:b1] += patch

    # -- result ------------------------------------------------------------------------------
    def radiance(self) -> np.ndarray:
        """(H, W, 3) float32: area-averaged albedo x light + emission, plus glow."""
        size = (self.w, self.h)
        alb = cv2.resize(self.alb, size, interpolation=cv2.INTER_AREA)
        emis = cv2.resize(self.emis, size, interpolation=cv2.INTER_AREA)
        return alb * self.light + emis + self.glow
