"""Camera raw files through LibRaw (rawpy), with DNG tags LibRaw does not expose read directly.

rawpy gives the mosaic (decompressed, linearised), black and white levels, the CFA, the
camera's as-shot multipliers and LibRaw's built-in XYZ->camera matrix. For DNG files the
file's own tags win: ColorMatrix1/2 with their CalibrationIlluminants, ForwardMatrix,
AsShotNeutral, NoiseProfile, BaselineExposure, Orientation and OpcodeList2 gain maps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rawpy

from ..errors import SourceError, UnsupportedCFAError
from ..types import BAYER_PATTERNS, RawMeta, cfa_offsets

#: LibRaw's sizes.flip -> EXIF orientation.
_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_XTRANS_HINT = " (X-Trans sensors are not supported: nightvid handles 2x2 Bayer only)"


def read_raw_file(path: Path) -> tuple[np.ndarray, RawMeta]:
    """Decode a raw file: ((H, W) uint16 mosaic cropped to even size, RawMeta)."""
    dng = _dng_tags(path) if path.suffix.lower() == ".dng" else None
    try:
        with rawpy.imread(str(path)) as raw:
            mosaic, fields = _from_libraw(raw, path)
    except rawpy.LibRawFileUnsupportedError:
        raise SourceError(f"{path}: not a raw file LibRaw can read (unsupported or not a raw "
                          "image)") from None
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as exc:
        raise SourceError(f"{path}: corrupt or truncated raw ({exc})") from None
    except rawpy.LibRawError as exc:
        raise SourceError(f"{path}: LibRaw cannot decode it "
                          f"({type(exc).__name__}: {exc})") from None
    origin = {k: "libraw" for k in fields}
    if dng is not None:
        dng_fields = _from_dng(dng, fields["cfa"], mosaic.shape)
        fields.update(dng_fields)
        origin.update({k: "dng tag" for k in dng_fields})
    assumed = []
    if fields.get("as_shot_neutral") is None:
        assumed.append("as_shot_neutral")
    if fields.get("color_matrix_1") is None and fields.get("color_matrix_2") is None:
        assumed.append("color_matrix_1")
    if fields.get("noise_profile") is None:
        assumed.append("noise_profile")
    return mosaic, RawMeta(**fields, source=str(path), origin=origin,
                           assumed=tuple(assumed))


def _dng_tags(path: Path) -> Any:
    from ..io.tiff import read_dng_tags  # pure-Python tag reader

    return read_dng_tags(path)


def _from_libraw(raw: Any, path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    pattern = raw.raw_pattern
    if raw.raw_type != rawpy.RawType.Flat or pattern is None:
        raise UnsupportedCFAError(f"{path}: not a Bayer mosaic (LibRaw raw type "
                                  f"{raw.raw_type.name}){_XTRANS_HINT}")
    if pattern.shape != (2, 2):
        raise UnsupportedCFAError(f"{path}: {pattern.shape[0]}x{pattern.shape[1]} CFA"
                                  f"{_XTRANS_HINT}")
    desc = raw.color_desc.decode()
    vis = raw.raw_colors_visible
    cfa = "".join(desc[vis[r, c]] for r in range(2) for c in range(2))
    if cfa not in BAYER_PATTERNS:
        raise UnsupportedCFAError(f"{path}: colour filter {cfa!r} ({desc}) is not RGGB-type Bayer"
                                  f"{_XTRANS_HINT}")
    img = raw.raw_image_visible
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    mosaic = np.array(img[:h, :w], dtype=np.uint16, copy=True)  # copy before LibRaw frees it
    black = raw.black_level_per_channel
    black_planes = tuple(float(black[vis[r, c]]) for r, c in cfa_offsets(cfa))
    fields: dict[str, Any] = {
        "cfa": cfa,
        "black_level": black_planes,
        "white_level": float(raw.white_level),
        "orientation": _FLIP_TO_EXIF.get(int(raw.sizes.flip), 1),
        "camera": path.name,
    }
    wb = [float(x) for x in raw.camera_whitebalance]
    if wb[0] > 0 and wb[1] > 0 and wb[2] > 0:
        fields["as_shot_neutral"] = (wb[1] / wb[0], 1.0, wb[1] / wb[2])
    m = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    if np.abs(m).sum() > 0:
        fields["color_matrix_2"] = m  # LibRaw's table (Adobe's) is calibrated for D65
        fields["cct_2"] = 6504.0
    return mosaic, fields


def _from_dng(tags: Any, cfa: str, shape: tuple[int, int]) -> dict[str, Any]:
    from ..types import ILLUMINANT_CCT

    out: dict[str, Any] = {}
    pairs = ((tags.color_matrix_1, tags.calibration_illuminant_1, "1"),
             (tags.color_matrix_2, tags.calibration_illuminant_2, "2"))
    if any(m is not None for m, _, _ in pairs):
        out["color_matrix_1"] = out["color_matrix_2"] = None
        out["cct_1"] = out["cct_2"] = None
    for m, ill, i in pairs:
        if m is not None:
            out[f"color_matrix_{i}"] = np.asarray(m, dtype=np.float64)
            out[f"cct_{i}"] = ILLUMINANT_CCT.get(int(ill or 21), 6504.0)
    for i, fm in (("1", tags.forward_matrix_1), ("2", tags.forward_matrix_2)):
        if fm is not None:
            out[f"forward_matrix_{i}"] = np.asarray(fm, dtype=np.float64)
    if tags.as_shot_neutral is not None:
        r, g, b = tags.as_shot_neutral
        out["as_shot_neutral"] = (r / g, 1.0, b / g)
    if tags.noise_profile:
        prof = np.array(tags.noise_profile, dtype=np.float64).reshape(-1, 2)
        out["noise_profile"] = (float(prof[:, 0].mean()), float(prof[:, 1].mean()))
    if tags.baseline_exposure is not None:
        out["baseline_exposure_ev"] = float(tags.baseline_exposure)
    if tags.orientation:
        out["orientation"] = int(tags.orientation)
    if tags.iso:
        out["iso"] = float(tags.iso)
    if tags.exposure_time:
        out["exposure_s"] = float(tags.exposure_time)
    name = " ".join(x for x in (tags.make, tags.model) if x) or tags.unique_camera_model
    if name:
        out["camera"] = name
    gm = gain_map_from_opcodes(tags.gain_maps, cfa, shape)
    if gm is not None:
        out["gain_map"] = gm
    return out


def gain_map_from_opcodes(maps: Any, cfa: str, shape: tuple[int, int]) -> np.ndarray | None:
    """DNG GainMap opcodes -> (4, gh, gw) per-plane gains on a corner-aligned grid."""
    if not maps:
        return None
    planes = []
    for r, c in cfa_offsets(cfa):
        g = next((m for m in maps if m.row_pitch == 2 and m.col_pitch == 2
                  and m.top % 2 == r and m.left % 2 == c), None)
        g = g or next((m for m in maps if m.row_pitch == 1 and m.col_pitch == 1), None)
        if g is None:
            return None
        planes.append(_resample_gain(g))
    return np.stack(planes).astype(np.float32)


def _resample_gain(m: Any) -> np.ndarray:
    """A GainMap's points (relative positions origin + i * spacing) on a uniform [0, 1] grid."""
    gains = np.asarray(m.gains, dtype=np.float64)[..., 0]  # (v, h)
    nv, nh = gains.shape
    pv = m.map_origin_v + m.map_spacing_v * np.arange(nv)
    ph = m.map_origin_h + m.map_spacing_h * np.arange(nh)
    tv, th = np.linspace(0, 1, nv), np.linspace(0, 1, nh)
    rows = np.stack([np.interp(th, ph, row) for row in gains])  # (v, h) at target columns
    return np.stack([np.interp(tv, pv, col) for col in rows.T], axis=1)
