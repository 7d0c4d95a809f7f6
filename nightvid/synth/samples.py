"""Ready-made synthetic night raws: the bundled photo sample's recipe, and a short raw clip.

:func:`make_night_raw` is the recipe of ``samples/night_street.dng`` (and of the 12 MP
benchmark raw): the "street" night scene as a Sony A7S2 at ISO 12800 records it in a short
night exposure: camera colour under a warm 3500 K light, lens vignetting, ELD-calibrated
noise (Wei et al., CVPR 2020), 14-bit, black 512 / white 16383.

:func:`make_night_sequence` renders a short raw clip from the same pieces: a camera pan, a car
with headlights crossing, street lamps and a blinking lamp, and one scene cut (street under
3500 K -> harbour under 5000 K), with independent noise in every frame.

Mosaics are ``(H, W)`` uint16 sensor DN (RGGB, black level included) with a RawMeta. All is
seeded and computed on the CPU: the same arguments give the same arrays, data folder or not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..types import RawMeta
from .noise import NoiseModel, load_eld_noise
from .scene import SceneObject, night_scene
from .unprocess import unprocess_scene

__all__ = [
    "HARBOUR_5000K_XY", "SONY_A7S2_XYZ_TO_CAM", "STREET_3500K_XY", "SequenceFrameInfo",
    "illuminant_neutral", "make_night_raw", "make_night_sequence", "night_photo_scene",
    "render_night_raw", "smpte_time_code", "vignetting_gain_map",
]

#: Sony ILCE-7S / ILCE-7SM2 ColorMatrix (XYZ -> camera, D65), from Adobe DNG Converter as
#: tabulated in LibRaw/dcraw (adobe_coeff, x 1e-4). Checked against the shared data:
#: srgb_from_camera(this) equals, to 1e-7, the "ccm" stored for every Sony A7S2 scene in
#: ../shared/data/noise/sid_eld_metadata/ELD_SonyA7S2.json (and SID_*.json).
SONY_A7S2_XYZ_TO_CAM = np.array([[5838, -1430, -246],
                                 [-3497, 11477, 2297],
                                 [-748, 1885, 5778]], dtype=np.float64) / 1e4
#: CIE 1931 xy of a 3500 K Planckian radiator (warm street light, sodium and LED mixed).
STREET_3500K_XY = (0.4053, 0.3907)
#: CIE 1931 xy of a 5000 K Planckian radiator (cool LED harbour floodlights); Kim et al.'s
#: cubic-spline fit of the Planckian locus.
HARBOUR_5000K_XY = (0.3450, 0.3516)
#: Corner brightness of the lens (f/1.4 wide open): -1.2 EV; red falls off a little faster.
CORNER_FALLOFF = 0.45
PLANE_FALLOFF_POWER = (1.08, 1.0, 1.0, 0.96)  # R, Gr, Gb, B


def illuminant_neutral(xy: tuple[float, float] = STREET_3500K_XY,
                       xyz_to_cam: np.ndarray = SONY_A7S2_XYZ_TO_CAM,
                       ) -> tuple[float, float, float]:
    """Camera RGB of a neutral under the light of chromaticity ``xy`` (G = 1), 4 decimals.

    Rounded so that it survives DNG rationals unchanged.

    >>> illuminant_neutral()
    (0.4971, 1.0, 0.456)
    """
    x, y = xy
    xyz = np.array([x / y, 1.0, (1.0 - x - y) / y])
    cam = xyz_to_cam @ xyz
    return tuple(round(float(c / cam[1]), 4) for c in cam)  # type: ignore[return-value]


def vignetting_gain_map(height: int, width: int,
                        grid: tuple[int, int] = (17, 25)) -> np.ndarray:
    """(4, 17, 25) float32 lens-shading gains (>= 1) on a corner-aligned grid, per plane.

    Falloff ``v = (1 + a r^2)^-2`` (the cos^4 law's shape), r = 1 at the frame corner, whose
    brightness is :data:`CORNER_FALLOFF`; planes R, Gr, Gb, B.

    >>> g = vignetting_gain_map(1024, 1536)
    >>> g.shape, float(g[1, 8, 12]), round(float(g[1, 0, 0]), 3)
    ((4, 17, 25), 1.0, 2.222)
    """
    gh, gw = grid
    yy, xx = np.meshgrid(np.linspace(-1, 1, gh), np.linspace(-1, 1, gw), indexing="ij")
    half_w, half_h = width / 2, height / 2
    r2 = ((xx * half_w) ** 2 + (yy * half_h) ** 2) / (half_w**2 + half_h**2)
    a = CORNER_FALLOFF**-0.5 - 1.0
    v = (1.0 + a * r2) ** -2
    return np.stack([v**-p for p in PLANE_FALLOFF_POWER]).astype(np.float32)


def night_photo_scene(height: int, width: int, *, seed: int = 7) -> np.ndarray:
    """The photo sample's clean scene: the street with a dark blue car driving on the right.

    Returns:
        (height, width, 3) float32 linear sRGB radiance (see :func:`night_scene`).
    """
    car = SceneObject(x=0.78 * width, y=0.965 * height, kind="car", facing=1,
                      color=(0.05, 0.12, 0.30))
    return night_scene(height, width, seed=seed, objects=[car], variant="street")


def _at_bits(noise: NoiseModel, bits: int) -> NoiseModel:
    """The same normalised noise read out by a ``bits`` converter (black and DN scaled)."""
    if bits == noise.bits:
        return noise
    white = 2.0**bits - 1.0
    black = float(round(noise.black_level * white / noise.white_level))  # 512 -> 128 at 12 bits
    f = (white - black) / noise.range_dn
    return dataclasses.replace(noise, k=noise.k * f, read_sigma_dn=noise.read_sigma_dn * f,
                               tukey_scale_dn=noise.tukey_scale_dn * f,
                               row_sigma_dn=noise.row_sigma_dn * f, bits=bits,
                               black_level=black, white_level=white)


def render_night_raw(
    lin_srgb: np.ndarray,
    *,
    rng: np.random.Generator,
    iso: float = 12800.0,
    ratio: float = 25.0,
    illuminant_xy: tuple[float, float] = STREET_3500K_XY,
    bits: int = 14,
    vignetting_grid: tuple[int, int] | None = (17, 25),
    exposure_s: float = 1 / 30,
    timestamp_s: float = 0.0,
    source: str = "nightvid.synth.samples",
) -> tuple[np.ndarray, RawMeta]:
    """Unprocess, vignette, darken ``ratio`` x and add Sony A7S2 noise at ``iso``.

    Args:
        lin_srgb: (H, W, 3) float32 scene-linear sRGB radiance (1.0 -> white before the
            darkening), H and W even.
        rng: the noise's random source.
        iso, ratio: the ELD noise model's gain and darkening (:func:`load_eld_noise`).
        illuminant_xy: CIE xy of the scene light: its camera neutral is the AsShotNeutral.
        bits: 14 (black 512, white 16383) or 12 (black 128, white 4095, same normalised
            noise, 12-bit rounding).
        vignetting_grid: multiply lens vignetting in and store its gain map, sampled on this
            (rows, cols) grid, in the meta (the mosaic is divided by the same interpolated map,
            so any grid is exact); None: no vignetting.
        exposure_s, timestamp_s, source: copied into the RawMeta.
    Returns:
        (H, W) uint16 whole DN, RGGB, black level included; and its RawMeta, whose
        ``noise_profile`` is (shot, read) on normalised values.
    Raises:
        ShapeError: ``lin_srgb`` is not (H, W, 3) with H and W even.
        ConfigError: ``bits`` not 12 or 14, or ``ratio`` < 1.
    """
    if lin_srgb.ndim != 3 or lin_srgb.shape[2] != 3 or lin_srgb.shape[0] % 2 or \
            lin_srgb.shape[1] % 2:
        raise ShapeError(f"render_night_raw: lin_srgb: expected (H, W, 3) with H and W even, "
                         f"got {lin_srgb.shape}")
    if bits not in (12, 14):
        raise ConfigError(f"render_night_raw: expected bits 12 or 14, got {bits}")
    h, w = lin_srgb.shape[:2]
    noise = _at_bits(load_eld_noise("SonyA7S2", iso=iso, ratio=ratio), bits)
    meta = RawMeta(
        black_level=(noise.black_level,) * 4, white_level=noise.white_level, cfa="RGGB",
        as_shot_neutral=illuminant_neutral(illuminant_xy), color_matrix_1=SONY_A7S2_XYZ_TO_CAM,
        cct_1=6504.0, noise_profile=noise.profile(), iso=float(iso), exposure_s=exposure_s,
        gain_map=None if vignetting_grid is None else vignetting_gain_map(h, w, vignetting_grid),
        timestamp_s=timestamp_s, camera="ILCE-7SM2 synthetic", source=source,
    )
    lin = torch.from_numpy(lin_srgb).permute(2, 0, 1)[None]  # (H,W,3) -> (1,3,H,W)
    clean = unprocess_scene(lin, meta, exposure_scale=1.0, clip=False)[0, 0].double().numpy()
    return noise.apply(clean, rng).astype(np.uint16), meta


def make_night_raw(
    height: int,
    width: int,
    *,
    seed: int = 7,
    iso: float = 12800.0,
    ratio: float = 25.0,
    noise_seed: int | None = None,
) -> tuple[np.ndarray, RawMeta]:
    """A dark, noisy 14-bit Sony-A7S2-like night raw: the bundled photo sample's recipe.

    ``make_night_raw(1024, 1536)`` is ``samples/night_street.dng``'s mosaic, bit for bit;
    ``make_night_raw(3000, 4000)`` is the 12 MP benchmark raw (about 10 s on 2 CPU cores).

    Args:
        height, width: mosaic size, even, at least 16.
        seed: the scene's seed, and the noise's unless ``noise_seed`` is given.
        iso, ratio: noise gain and darkening of the clean exposure (ISO 12800, 25x: the raw
            mean is about 0.4 % of the range and the sky lies below the read noise).
        noise_seed: seed of the noise alone.
    Returns:
        (height, width) uint16 DN (RGGB, black 512, white 16383) and its RawMeta (3500 K
        AsShotNeutral, A7S2 ColorMatrix1, NoiseProfile, vignetting GainMap, ISO, 1/30 s).
    Raises:
        ShapeError: a size below 16, or odd.

    >>> mosaic, meta = make_night_raw(32, 48, seed=1)
    >>> mosaic.shape, mosaic.dtype, meta.white_level, meta.as_shot_neutral
    ((32, 48), dtype('uint16'), 16383.0, (0.4971, 1.0, 0.456))
    """
    _check_size("make_night_raw", height, width)
    lin = night_photo_scene(height, width, seed=seed)
    rng = np.random.default_rng(seed if noise_seed is None else noise_seed)
    return render_night_raw(lin, rng=rng, iso=iso, ratio=ratio)


def _check_size(where: str, height: int, width: int) -> None:
    if height < 16 or width < 16 or height % 2 or width % 2:
        raise ShapeError(f"{where}: expected even height and width >= 16, got "
                         f"{height}x{width}")


@dataclass(frozen=True)
class SequenceFrameInfo:
    """What :func:`make_night_sequence` put in one frame (the ground truth of the clip).

    Attributes:
        index, cut_index: this frame's number, and the first frame after the cut (from 0).
        shot, variant: 0 / "street" before the cut, 1 / "harbour" from it on.
        illuminant_cct, illuminant_xy: the scene light's colour temperature (K), CIE 1931 xy.
        pan_px: the camera pan, pixels (content moves left as it grows).
        car_x: the car's scene x (middle of its bottom edge), pixels at pan 0.
        blink_on, time_s: whether the blinking lamp is lit; seconds from the first frame.
    """

    index: int
    cut_index: int
    shot: int
    variant: str
    illuminant_cct: float
    illuminant_xy: tuple[float, float]
    pan_px: float
    car_x: float
    blink_on: bool
    time_s: float


#: The clip's two shots: scene variant, light (CCT in K, xy), car direction, y / height, colour.
_SHOTS = (("street", 3500.0, STREET_3500K_XY, 1, 0.965, (0.05, 0.12, 0.30)),
          ("harbour", 5000.0, HARBOUR_5000K_XY, -1, 0.975, (0.30, 0.03, 0.03)))


def _plan(i: int, n: int, cut: int, height: int, width: int, fps: float,
          pan_step: float) -> tuple[SequenceFrameInfo, list[SceneObject]]:
    """Frame ``i``'s ground truth and scene objects; each shot restarts its pan and its car."""
    shot = int(i >= cut)
    variant, cct, xy, facing, car_y, color = _SHOTS[shot]
    k, length = (i, cut) if shot == 0 else (i - cut, n - cut)
    pan = facing * pan_step * k  # the harbour shot pans the other way
    travel = (k + 0.5) / length  # the car crosses the frame (and a margin) once per shot
    car_x = pan + width * (0.5 + facing * (1.5 * travel - 0.75))
    info = SequenceFrameInfo(index=i, cut_index=cut, shot=shot, variant=variant,
                             illuminant_cct=cct, illuminant_xy=xy, pan_px=pan, car_x=car_x,
                             blink_on=(i // 4) % 2 == 0, time_s=i / fps)
    objects = [SceneObject(x=car_x, y=car_y * height, facing=facing, color=color)]
    if info.blink_on:  # a beacon high on the right, fixed in the world (it pans)
        objects.append(SceneObject(x=0.9 * width, y=0.45 * height, kind="light", scale=0.5))
    return info, objects


def make_night_sequence(
    n_frames: int = 24,
    height: int = 360,
    width: int = 640,
    *,
    seed: int = 11,
    cut_at: int | None = None,
    iso: float = 6400.0,
    ratio: float = 6.0,
    bits: int = 12,
    fps: float = 24.0,
    pan_px_per_frame: float = 2.25,
    noise_seed: int | None = None,
) -> Iterator[tuple[np.ndarray, RawMeta, SequenceFrameInfo]]:
    """A short synthetic raw clip: pan, a car crossing, lamps, a blinking lamp, one scene cut.

    Shot 0 (frames ``0 .. cut_at - 1``): the street under a warm 3500 K light, the camera
    panning right ``pan_px_per_frame`` px per frame (sub-pixel), a blue car driving right
    across the frame. Shot 1 (from ``cut_at``): the harbour under 5000 K, panning left, a red
    car driving left along the quay. A bare lamp (a beacon) blinks 4 frames on, 4 off, in both
    shots. The noise is Sony A7S2's (ELD) at ``iso``, darkened ``ratio`` x (less extreme than
    the photo sample, so a 640x360 frame is watchable), independent in every frame: frame i
    draws from ``default_rng([noise_seed, i])``.

    Args:
        n_frames: number of frames, >= 2.
        height, width: frame size, even, at least 16.
        seed: the scenes' seed, and the noise's unless ``noise_seed`` is given.
        cut_at: index of the first frame of shot 1, in 1 .. n_frames - 1; default
            ``round(2 n_frames / 3)`` (16 of 24).
        iso, ratio: noise gain and darkening of the clean exposure.
        bits: 12 (black 128, white 4095) or 14 (black 512, white 16383).
        fps: frame rate, for ``time_s`` and each RawMeta's ``timestamp_s``.
        pan_px_per_frame: camera pan speed, pixels per frame.
        noise_seed: seed of the noise alone.
    Yields:
        ``(mosaic, meta, info)``: (height, width) uint16 DN (RGGB), its RawMeta (AsShotNeutral
        of the shot's light, NoiseProfile, vignetting GainMap), and a
        :class:`SequenceFrameInfo`.
    Raises:
        ShapeError: a bad size. ConfigError: a bad n_frames, cut_at or bits.

    >>> frames = list(make_night_sequence(4, 32, 48, cut_at=2))
    >>> [f[2].variant for f in frames], frames[0][0].shape, frames[3][1].as_shot_neutral
    (['street', 'street', 'harbour', 'harbour'], (32, 48), (0.4075, 1.0, 0.612))
    """
    _check_size("make_night_sequence", height, width)
    cut = round(2 * n_frames / 3) if cut_at is None else int(cut_at)
    if n_frames < 2 or not 1 <= cut <= n_frames - 1:
        raise ConfigError(f"make_night_sequence: expected n_frames >= 2 and 1 <= cut_at < "
                          f"n_frames, got n_frames={n_frames}, cut_at={cut}")
    nseed = seed if noise_seed is None else noise_seed
    for i in range(n_frames):
        info, objects = _plan(i, n_frames, cut, height, width, fps, pan_px_per_frame)
        lin = night_scene(height, width, seed=seed, pan_px=info.pan_px, objects=objects,
                          variant=info.variant)
        mosaic, meta = render_night_raw(
            lin, rng=np.random.default_rng([nseed, i]), iso=iso, ratio=ratio,
            illuminant_xy=info.illuminant_xy, bits=bits, vignetting_grid=(5, 9),  # small files
            exposure_s=1 / (2 * fps), timestamp_s=info.time_s,
            source=f"nightvid.synth.samples.make_night_sequence[{i}]")
        yield mosaic, meta, info


def smpte_time_code(frame: int, fps: int = 24, start: Sequence[int] = (1, 0, 0, 0)) -> bytes:
    """The 8-byte SMPTE 12M time code of frame ``frame``, as CinemaDNG TimeCodes stores it.

    Bytes 0..3: frames, seconds, minutes, hours in BCD (tens in the high nibble); bytes 4..7:
    user bits, zero. Non-drop-frame; ``start`` is (hours, minutes, seconds, frames) of frame 0
    and ``fps`` the integer frame count base. Wraps at 24 h.

    >>> smpte_time_code(0).hex(), smpte_time_code(24 * 61 + 23).hex()
    ('0000000100000000', '2301010100000000')
    """
    hh, mm, ss, ff = start
    total = ((hh * 60 + mm) * 60 + ss) * fps + ff + frame
    sec = total // fps
    digits = (total % fps, sec % 60, (sec // 60) % 60, (sec // 3600) % 24)
    return bytes([(v // 10) << 4 | v % 10 for v in digits] + [0, 0, 0, 0])
