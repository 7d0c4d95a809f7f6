"""Private: the two night scenes, "street" and "harbour", drawn onto a :class:`Canvas`."""

from __future__ import annotations

import math

import numpy as np

from . import chart
from ._elements import (
    LED,
    SODIUM,
    bar_sign,
    brick,
    building_row,
    lamp,
    paving,
    scale,
    sign,
    sky,
    slots,
    stars,
    windows,
)
from ._raster import Canvas


def _near_chart(cv: Canvas, x: float, reach: float) -> bool:
    """Whether a light at x whose glare reaches ``reach`` px would touch the chart board.

    Lights are left out there, so the chart's radiance stays exactly known.
    """
    bx0, _, bx1, _ = chart.board_rect(cv.h, cv.w)
    return x + reach > bx0 and x - reach < bx1


def _lamps(cv: Canvas, salt: int, pitch_u: float, ground_y: float, height_u: float) -> None:
    """Street lamps in world slots, sodium or LED, kept clear of the chart's display case."""
    pitch = cv.u(pitch_u)
    for i in slots(cv, pitch, margin=cv.u(400)):
        r = cv.rng(salt, i)
        x = (i + r.uniform(0.3, 0.7)) * pitch
        if _near_chart(cv, x, cv.u(330)):  # glare radius 260 + arm 42, with a margin
            continue
        lamp(cv, x, ground_y, height_u, SODIUM if r.random() < 0.55 else LED)


def _shop(cv: Canvas, salt: int, ground_y: float, top_u: float, albedo: tuple) -> float:
    """The building carrying the signs (at 56 % of the width): facade, shopfront, signs.

    Returns the x of its left edge.
    """
    u = cv.u
    x = 0.56 * cv.w
    left, right = x - u(40), x + u(620)
    cv.paint_rect(left, u(top_u), right, ground_y, albedo, texture=brick(cv, salt, u(9), u(26),
                                                                         u(1.6)))
    windows(cv, cv.rng(salt), (left + u(30), u(top_u + 20), right - u(30), u(top_u + 80)),
            (u(40), u(44)), (u(80), u(60)), 0.6, 1.2)
    cv.paint_rect(x + u(20), ground_y - u(120), x + u(400), ground_y - u(12), (0.05, 0.05, 0.05),
                  (0.7, 0.55, 0.36))
    for k in range(1, 4):  # window mullions
        cv.paint_rect(x + u(20 + 95 * k - 3), ground_y - u(120), x + u(20 + 95 * k + 3),
                      ground_y - u(12), (0.03, 0.03, 0.03))
    cv.add_light(x + u(210), ground_y, (1.0, 0.8, 0.55), 0.6, u(220), u(50), u(420))
    sign(cv, x, u(330))
    bar_sign(cv, x + u(420), u(540))
    return left


def _display_case(cv: Canvas, post_to: float | None = None) -> None:
    """A dark frame with a light strip around the chart board (the chart itself comes later)."""
    x0, y0, x1, y1 = chart.board_rect(cv.h, cv.w)
    m, u = cv.u(10), cv.u
    if post_to is not None:
        c = 0.5 * (x0 + x1)
        cv.paint_rect(c - u(7), y1, c + u(7), post_to, (0.04, 0.04, 0.045))
    cv.paint_rect(x0 - m, y0 - 2 * m, x1 + m, y1 + m, (0.05, 0.05, 0.055))
    cv.paint_rect(x0, y0 - 1.6 * m, x1, y0 - 0.8 * m, (0.3, 0.3, 0.3), (3.0, 3.0, 2.9))


def street(cv: Canvas) -> None:
    """A city street: brick houses with lit windows, lamps, a shop with neon signs."""
    u = cv.u
    ground = u(780)
    x0, x1 = cv.x_range
    cv.light[:] = (0.030, 0.034, 0.048)  # moonlight and sky glow
    sky(cv, (0.0012, 0.0022, 0.0062), (0.018, 0.012, 0.0085), ground)
    stars(cv, u(420))
    building_row(cv, 21, ground, 230, (330, 560), (0.05, 0.055, 0.07), paving(cv, 5, 0.0, 0.2),
                 (14, 20, 34, 48), 0.25, 0.8)
    building_row(cv, 22, ground, 360, (180, 500), (0.20, 0.11, 0.08),
                 brick(cv, 6, u(8), u(24), u(1.5)), (34, 46, 64, 84), 0.45, 1.4)
    cv.paint_rect(x0 - 1, ground, x1 + 1, ground + u(60), (0.20, 0.19, 0.18),
                  texture=paving(cv, 7, u(60)))
    cv.paint_rect(x0 - 1, ground + u(60), x1 + 1, ground + u(67), (0.35, 0.34, 0.32),
                  texture=paving(cv, 8, 0.0))
    asphalt = paving(cv, 9, 0.0, 0.5)
    cv.paint_rect(x0 - 1, ground + u(67), x1 + 1, cv.h + 1, (0.07, 0.07, 0.075), texture=asphalt)
    for i in slots(cv, u(300)):
        cv.paint_rect(i * u(300), u(918), i * u(300) + u(150), u(926), (0.5, 0.5, 0.45),
                      texture=asphalt)
    _shop(cv, 23, ground, 260, (0.16, 0.12, 0.10))
    _lamps(cv, 24, 560, ground + u(20), 330)
    _display_case(cv)


# -- harbour ------------------------------------------------------------------------------------
def _hills(cv: Canvas, horizon: float) -> None:
    x0, x1 = cv.x_range
    step = max(1.0, cv.u(8))  # vertices on a world grid: an integer pan shifts them exactly
    xs = step * np.arange(math.floor(x0 / step) - 2, math.ceil(x1 / step) + 3)
    r = cv.rng(41)
    a, b = r.uniform(0, 2 * np.pi, 2)
    top = horizon - cv.u(70 + 45 * np.sin(xs / cv.u(310) + a) + 22 * np.sin(xs / cv.u(97) + b))
    pts = np.concatenate([np.stack([xs, top], 1), [[xs[-1], horizon + 2], [xs[0], horizon + 2]]])
    cv.paint_mask(*cv.poly_mask(pts), (0.012, 0.014, 0.014), (0.0, 0.0, 0.0))


def _hidden(cv: Canvas, x: float, half: float) -> bool:
    """Whether something at x (half-width ``half``) is behind the sign building."""
    left = 0.56 * cv.w - cv.u(40)
    return left - half < x < left + cv.u(660) + half


def _cranes(cv: Canvas, horizon: float) -> None:
    u = cv.u
    for i in slots(cv, u(900), margin=u(300)):
        r = cv.rng(42, i)
        x, top = (i + r.uniform(0.2, 0.8)) * u(900), horizon - u(r.uniform(200, 300))
        if r.random() > 0.6 or _hidden(cv, x, u(240)) or _near_chart(cv, x, u(260)):
            continue
        steel = (0.025, 0.025, 0.03)
        cv.paint_rect(x - u(6), top, x + u(6), horizon, steel)
        jib = np.array([[x - u(70), top], [x + u(230), top], [x, top - u(40)]])
        cv.paint_mask(*cv.poly_mask(jib, u(3)), steel, None)
        cv.disc(x, top - u(42), u(3), (60.0, 2.0, 1.0))
        cv.add_glow(x, top - u(42), (1.0, 0.04, 0.02), 3.0, u(3), u(120))


def _water(cv: Canvas, horizon: float, quay: float) -> None:
    """Water from the horizon to the quay: a rippled mirror of everything above the horizon."""
    h2 = round(2 * horizon)
    rows = np.arange(h2, min(round(2 * quay), 2 * cv.h))
    if rows.size == 0:
        return
    depth = (rows + 0.5 - 2 * horizon)[:, None]  # 2x pixels below the horizon
    cols = np.arange(2 * cv.w)
    xw = (cols + 0.5) / 2.0 + cv.pan  # scene x of each column
    wl = 2 * cv.u(4) + 0.05 * depth  # ripple wavelength grows towards the camera
    phase = 2 * np.pi * rows[:, None] / wl + 1.8 * np.sin(xw[None, :] / cv.u(23)) \
        + 0.9 * np.sin(xw[None, :] / cv.u(7.3) + rows[:, None] / 9.0)
    amp = 1.0 + 0.18 * depth
    src_r = np.clip(np.round(h2 - depth + amp * np.sin(phase)), 0, h2 - 1).astype(np.int64)
    src_c = np.clip(cols[None, :] + np.round(0.25 * amp * np.cos(phase)).astype(np.int64), 0,
                    2 * cv.w - 1)
    mirror = cv.emis[src_r, src_c] * np.float32(0.45)
    cv.paint_rect(cv.x_range[0] - 1, horizon, cv.x_range[1] + 1, quay, (0.02, 0.025, 0.03),
                  texture=paving(cv, 43, 0.0, 0.4))
    cv.emis[h2 : h2 + rows.size] += mirror.astype(np.float32)


def _boats(cv: Canvas, horizon: float, quay: float) -> None:
    u = cv.u
    for i in slots(cv, u(800), margin=u(300)):
        r = cv.rng(44, i)
        if r.random() > 0.7:
            continue
        wl = horizon + (quay - horizon) * r.uniform(0.15, 0.7)
        k = 0.35 + 1.1 * (wl - horizon) / (quay - horizon)  # nearer boats look bigger
        x, length = (i + r.uniform(0.2, 0.8)) * u(800), u(260) * k
        if _hidden(cv, x, length) or _near_chart(cv, x, length / 2 + u(100)):
            continue
        hull = np.array([[x - length / 2, wl - u(28) * k], [x + length / 2, wl - u(28) * k],
                         [x + 0.4 * length, wl], [x - 0.42 * length, wl]])
        cv.paint_mask(*cv.poly_mask(hull), (0.05, 0.05, 0.06), (0.0, 0.0, 0.0))
        cv.paint_rect(x - 0.25 * length, wl - u(62) * k, x + 0.1 * length, wl - u(28) * k,
                      (0.08, 0.08, 0.085))
        windows(cv, r, (x - 0.23 * length, wl - u(58) * k, x + 0.08 * length, wl - u(32) * k),
                (u(14) * k, u(14) * k), (u(24) * k, u(22) * k), 0.7, 1.5)
        mast = wl - u(150) * k
        cv.paint_rect(x - u(1.5) * k, mast, x + u(1.5) * k, wl - u(62) * k, (0.05, 0.05, 0.05))
        for (lx, ly), rgb in (((x, mast), LED), ((x + 0.42 * length, wl - u(34) * k),
                                               (0.1, 1.0, 0.2)),
                              ((x - 0.45 * length, wl - u(34) * k), (1.0, 0.05, 0.05))):
            cv.disc(lx, ly, u(2.5) * k, scale(rgb, 200.0))
            cv.add_glow(lx, ly, rgb, 4.0, u(3) * k, u(90))


def harbour(cv: Canvas) -> None:
    """A harbour: hills and a far shore across the water, cranes, boats, a quay with lamps."""
    u = cv.u
    horizon, quay = u(520), u(840)
    x0, x1 = cv.x_range
    cv.light[:] = (0.025, 0.028, 0.045)
    sky(cv, (0.0010, 0.0012, 0.0042), (0.011, 0.0075, 0.012), horizon)
    stars(cv, u(450), 8.0)
    mx = u(1150)
    cv.disc(mx, u(140), u(22), (5.2, 5.0, 4.6))
    cv.add_glow(mx, u(140), (1.0, 0.98, 0.92), 0.08, u(30), u(300))
    _hills(cv, horizon)
    building_row(cv, 31, horizon, 70, (25, 150), (0.03, 0.03, 0.035), None, (4, 6, 9, 12),
                 0.55, 3.0)
    _cranes(cv, horizon)
    _water(cv, horizon, quay)
    _boats(cv, horizon, quay)
    cv.paint_rect(x0 - 1, quay, x1 + 1, cv.h + 1, (0.17, 0.17, 0.18), texture=paving(cv, 45, u(80)))
    cv.paint_rect(x0 - 1, quay, x1 + 1, quay + u(7), (0.45, 0.38, 0.10))
    _shop(cv, 46, u(930), 300, (0.14, 0.14, 0.15))
    _lamps(cv, 47, 640, u(950), 400)
    _display_case(cv, post_to=u(900))
