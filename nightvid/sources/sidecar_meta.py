"""Parse JSON raw metadata sidecars into :class:`RawMeta`.

Two vocabularies are understood:

* the Night Photography Rendering challenge format: ``black_level`` (list, numbers or
  ``{"Fraction": [n, d]}``), ``white_level``, ``cfa_pattern`` as codes (0 = R, 1 = G, 2 = B),
  ``as_shot_neutral``, ``color_matrix_1/2`` (9 values, XYZ -> camera), ``noise_profile``
  (``[[shot], [read]]``), ``orientation`` (``[1]`` or the EXIF text);
* plain keys: ``cfa_pattern`` as a string ("RGGB"), ``black_level`` scalar or list,
  ``wb_gains_rggb``, ``color_matrix_2_xyz_to_cam``, ``calibration_illuminants``,
  ``sensor_to_linear_rgb_3x4`` (matrices at named colour temperatures, e.g. "3200K").

Required: black level, white level and CFA; anything else missing gets a documented default
recorded in ``RawMeta.assumed``.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MetadataError, UnsupportedCFAError
from ..isp.ccm import SRGB_FROM_XYZ
from ..types import BAYER_PATTERNS, ILLUMINANT_CCT, RawMeta, cfa_offsets

_ORIENTATION_TEXT = {
    "horizontal (normal)": 1, "mirror horizontal": 2, "rotate 180": 3, "mirror vertical": 4,
    "mirror horizontal and rotate 270 cw": 5, "rotate 90 cw": 6,
    "mirror horizontal and rotate 90 cw": 7, "rotate 270 cw": 8,
}
#: Default illuminants of a matrix pair without calibration tags: Adobe's usual StdA / D65.
DEFAULT_ILLUMINANTS = (17, 21)


def _num(v: Any) -> float:
    if isinstance(v, dict) and "Fraction" in v:
        n, d = v["Fraction"]
        return float(Fraction(int(n), int(d)))
    if isinstance(v, (list, tuple)) and len(v) == 1:
        return _num(v[0])
    return float(v)


def _nums(v: Any) -> list[float]:
    if isinstance(v, (list, tuple)):
        out: list[float] = []
        for x in v:
            out.extend(_nums(x) if isinstance(x, (list, tuple)) else [_num(x)])
        return out
    return [_num(v)]


def parse_cfa(value: Any, where: str) -> str:
    """A CFA as text ("RGGB") or NPR codes ([0, 1, 1, 2]) -> one of BAYER_PATTERNS."""
    if isinstance(value, str):
        cfa = value.strip().upper()
    else:
        codes = [int(_num(c)) for c in value]
        if len(codes) != 4 or any(c not in (0, 1, 2) for c in codes):
            raise UnsupportedCFAError(f"{where}: cfa_pattern {codes} is not a 2x2 Bayer pattern; "
                                      "nightvid handles RGGB, BGGR, GRBG and GBRG")
        cfa = "".join("RGB"[c] for c in codes)
    if cfa not in BAYER_PATTERNS:
        raise UnsupportedCFAError(f"{where}: CFA {cfa!r} is not supported; nightvid handles "
                                  f"{', '.join(BAYER_PATTERNS)}")
    return cfa


def black_to_planes(black_by_position: list[float], cfa: str) -> tuple[float, float, float, float]:
    """Per-2x2-position black levels (raster order) -> plane order R, Gr, Gb, B."""
    if len(black_by_position) == 1:
        black_by_position = black_by_position * 4
    return tuple(black_by_position[r * 2 + c] for r, c in cfa_offsets(cfa))  # type: ignore


def _matrix(v: Any) -> np.ndarray:
    return np.array(_nums(v), dtype=np.float64).reshape(3, 3)


def find_sidecar(path: Path) -> Path | None:
    """``name.json`` beside ``path``, or a JSON there whose "file"/"files" names ``path``."""
    same = path.with_suffix(".json")
    if same.is_file():
        return same
    for cand in sorted(path.parent.glob("*.json")):
        try:
            data = json.loads(cand.read_text())
        except (OSError, ValueError):
            continue
        if data.get("file") == path.name or path.name in (data.get("files") or {}):
            return cand
    return None


def load_sidecar(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read sidecar ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MetadataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def meta_from_sidecar(data: dict[str, Any], sidecar: Path, source: Path) -> RawMeta:
    """Build RawMeta from a parsed sidecar; ``source`` is the mosaic file it describes."""
    where = str(sidecar)
    for key in ("black_level", "white_level", "cfa_pattern"):
        if data.get(key) is None:
            raise MetadataError(f"{where}: missing required field {key!r}")
    cfa = parse_cfa(data["cfa_pattern"], where)
    fields: dict[str, Any] = {
        "cfa": cfa,
        "black_level": black_to_planes(_nums(data["black_level"]), cfa),
        "white_level": _num(data["white_level"]),
        "source": str(source),
        "camera": str(data.get("camera_name") or data.get("camera") or "unknown camera"),
    }
    assumed: list[str] = []
    neutral = _neutral(data)
    if neutral is not None:
        fields["as_shot_neutral"] = neutral
    else:
        assumed.append("as_shot_neutral")
    fields.update(_matrices(data, assumed))
    if data.get("noise_profile") is not None:
        vals = _nums(data["noise_profile"])
        fields["noise_profile"] = (vals[0], vals[1])
    else:
        assumed.append("noise_profile")
    fields["orientation"] = _orientation(data.get("orientation"), assumed, where)
    origin = {k: "sidecar" for k in fields if k not in ("source",)}
    return RawMeta(**fields, origin=origin, assumed=tuple(assumed))


def _neutral(data: dict[str, Any]) -> tuple[float, float, float] | None:
    if data.get("as_shot_neutral") is not None:
        r, g, b = _nums(data["as_shot_neutral"])[:3]
        return (r / g, 1.0, b / g)
    if data.get("wb_gains_rggb") is not None:
        gr, g1, _, gb = _nums(data["wb_gains_rggb"])
        return (g1 / gr, 1.0, g1 / gb)
    return None


def _matrices(data: dict[str, Any], assumed: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ill = data.get("calibration_illuminants") or DEFAULT_ILLUMINANTS
    if data.get("color_matrix_1") is not None:
        out["color_matrix_1"] = _matrix(data["color_matrix_1"])
        out["cct_1"] = ILLUMINANT_CCT[int(ill[0])]
    for key in ("color_matrix_2", "color_matrix_2_xyz_to_cam"):
        if data.get(key) is not None:
            out["color_matrix_2"] = _matrix(data[key])
            out["cct_2"] = ILLUMINANT_CCT[int(ill[1])]
    s2l = data.get("sensor_to_linear_rgb_3x4")
    if s2l and not out:
        # camera -> linear sRGB at named temperatures; the offset column is a black-level
        # correction already covered by black_level. XYZ -> camera = inv(M) @ sRGB <- XYZ.
        temps = sorted((float(re.sub(r"[^0-9.]", "", k)), v) for k, v in s2l.items()
                       if re.fullmatch(r"\s*\d+(\.\d+)?\s*K\s*", k))
        for i, (t, m) in enumerate(temps[:2], start=1):
            cam_to_srgb = np.array(m, dtype=np.float64)[:, :3]
            out[f"color_matrix_{i}"] = np.linalg.inv(cam_to_srgb) @ SRGB_FROM_XYZ
            out[f"cct_{i}"] = t
    if not out:
        assumed.append("color_matrix_1")
    elif "color_matrix_1" in out and "color_matrix_2" in out and not data.get(
            "calibration_illuminants") and not s2l:
        assumed.append("cct_1")
    return out


def _orientation(value: Any, assumed: list[str], where: str) -> int:
    if value is None:
        assumed.append("orientation")
        return 1
    if isinstance(value, str):
        o = _ORIENTATION_TEXT.get(value.strip().lower())
        if o is None:
            raise MetadataError(f"{where}: unknown orientation {value!r}")
        return o
    o = int(_num(value))
    if not 1 <= o <= 8:
        raise MetadataError(f"{where}: orientation must be 1..8, got {o}")
    return o
