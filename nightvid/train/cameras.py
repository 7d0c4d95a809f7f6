"""Camera colour for synthesis: XYZ -> camera matrices of real cameras, and random illuminants.

Matrices come from three kinds of shared data (``../shared/data``):

- ``spectral/*_380_780_5.json``: measured spectral sensitivities of 11 cameras. The matrix is
  the least-squares fit ``cam ~= M @ xyz`` over the 190 training reflectances
  (``training_spectral.json``) under an equal-energy light, with the CIE 1931 observer
  (``cmf_1931.json``), the classic way to derive a colour matrix from sensitivities.
- raw sidecars: ``raw/nikon_crop`` (ColorMatrix2) and the NPR metadata (``color_matrix_2``
  of a Canon 600D-class and a Canon 7D), stored as DNG rationals.
- :data:`nightvid.synth.samples.SONY_A7S2_XYZ_TO_CAM` (Adobe's Sony A7S/A7S2 matrix), always
  present, so synthesis works without the data folder.

Illuminants: a correlated colour temperature drawn log-uniformly in 2000..8000 K (sodium and
warm LED street light to overcast daylight), on the Planckian locus (Kim et al.'s cubic
spline), with a small green/magenta tint; its camera neutral is ``M @ xyz`` with G = 1.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..synth.noise import data_dir
from ..synth.samples import SONY_A7S2_XYZ_TO_CAM

__all__ = ["CameraColor", "camera_bank", "planckian_xy", "sample_illuminant",
           "spectral_matrix"]


@dataclass(frozen=True)
class CameraColor:
    """One camera's colour, in the shape :func:`nightvid.synth.unprocess.unprocess_scene` reads.

    Attributes:
        name: where the matrix came from, e.g. ``"spectral:sony_ilce-7sm2"``.
        color_matrix_1: XYZ -> camera 3x3 (one matrix: ``color_matrix_2`` stays None).
        cfa: mosaic layout; synthesis always uses RGGB (the planes are what matter).
        as_shot_neutral, cct_1, cct_2, gain_map: None (the neutral is passed explicitly).
    """

    name: str
    color_matrix_1: np.ndarray
    cfa: str = "RGGB"
    as_shot_neutral: tuple[float, float, float] | None = None
    color_matrix_2: np.ndarray | None = None
    cct_1: float | None = None
    cct_2: float | None = None
    gain_map: np.ndarray | None = None


def _spectral_table(path: Path, lo: int = 380, hi: int = 780, step: int = 5) -> np.ndarray:
    """(n_wavelengths, channels) from a rawtoaces-style JSON, resampled to lo..hi by step."""
    data = json.loads(path.read_text())["spectral_data"]["data"]["main"]
    wl = np.array(sorted(float(k) for k in data))
    vals = np.array([data[k] for k in sorted(data, key=float)], np.float64)
    grid = np.arange(lo, hi + 1, step, dtype=np.float64)
    return np.stack([np.interp(grid, wl, vals[:, c]) for c in range(vals.shape[1])], axis=1)


def spectral_matrix(sens_path: Path, folder: Path | None = None) -> np.ndarray:
    """XYZ -> camera 3x3 fitted from measured spectral sensitivities (least squares).

    Args:
        sens_path: a ``*_380_780_5.json`` camera sensitivity file.
        folder: the ``spectral/`` folder holding ``cmf_1931.json`` and
            ``training_spectral.json`` (default: ``sens_path``'s folder).
    Returns:
        (3, 3) float64 matrix, scaled so that the camera's G response to equal-energy
        white is 1.
    """
    folder = folder or sens_path.parent
    sens = _spectral_table(sens_path)  # (81, 3)
    cmf = _spectral_table(folder / "cmf_1931.json")  # (81, 3)
    refl = _spectral_table(folder / "training_spectral.json")  # (81, 190)
    cam = sens.T @ refl  # (3, 190), equal-energy light
    xyz = cmf.T @ refl
    m = np.linalg.lstsq(xyz.T, cam.T, rcond=None)[0].T  # cam ~= m @ xyz
    white = m @ cmf.sum(axis=0)
    return m / white[1]


def _rational_matrix(values: list) -> np.ndarray:
    nums = [v["Fraction"][0] / v["Fraction"][1] if isinstance(v, dict) else float(v)
            for v in values]
    return np.array(nums, np.float64).reshape(3, 3)


def camera_bank(data: Path | str | None = None) -> list[CameraColor]:
    """Every XYZ -> camera matrix available, sorted by name (deterministic order).

    Args:
        data: the shared data folder (default :func:`nightvid.synth.noise.data_dir`); without
            it only the built-in Sony A7S2 matrix is returned.
    Returns:
        A list of :class:`CameraColor`, never empty.
    """
    root = Path(data) if data is not None else data_dir()
    bank = [CameraColor("builtin:sony_a7s2", SONY_A7S2_XYZ_TO_CAM)]
    spec = root / "spectral"
    if (spec / "cmf_1931.json").is_file() and (spec / "training_spectral.json").is_file():
        for p in sorted(spec.glob("*_380_780_5.json")):
            if p.name.startswith("iso7589"):  # an illuminant, not a camera
                continue
            bank.append(CameraColor(f"spectral:{p.name[: -len('_380_780_5.json')]}",
                                    spectral_matrix(p, spec)))
    nikon = root / "raw" / "nikon_crop" / "DSC_1339_768x512_rggb.json"
    if nikon.is_file():
        m = np.array(json.loads(nikon.read_text())["color_matrix_2_xyz_to_cam"], np.float64)
        bank.append(CameraColor("sidecar:nikon_crop", m))
    for p in sorted((root / "raw" / "npr_metadata").glob("*.json")):
        meta = json.loads(p.read_text())
        if "color_matrix_2" in meta:
            bank.append(CameraColor(f"npr:{p.stem}", _rational_matrix(meta["color_matrix_2"])))
    return sorted(bank, key=lambda c: c.name)


def planckian_xy(cct: float) -> tuple[float, float]:
    """CIE 1931 xy of a blackbody at ``cct`` K (Kim et al. 2002 cubic splines, 1667..25000 K).

    >>> [round(v, 4) for v in planckian_xy(6504)]
    [0.3134, 0.3236]
    """
    t = float(np.clip(cct, 1667.0, 25000.0))
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def sample_illuminant(rng: np.random.Generator, xyz_to_cam: np.ndarray,
                      cct_range: tuple[float, float] = (2000.0, 8000.0),
                      tint_sigma: float = 0.004) -> tuple[np.ndarray, float]:
    """A random realistic light and its camera neutral.

    Args:
        rng: the random source.
        xyz_to_cam: (3, 3) the camera's matrix.
        cct_range: CCT bounds in K, drawn log-uniformly.
        tint_sigma: std of the xy offset off the Planckian locus.
    Returns:
        (neutral (3,) with G = 1 and all > 0, cct in K).
    """
    lo, hi = math.log(cct_range[0]), math.log(cct_range[1])
    cct = math.exp(rng.uniform(lo, hi))
    x, y = planckian_xy(cct)
    x, y = x + tint_sigma * rng.standard_normal(), y + tint_sigma * rng.standard_normal()
    xyz = np.array([x / y, 1.0, (1.0 - x - y) / y])
    cam = xyz_to_cam @ xyz
    cam = np.clip(cam / cam[1], 0.05, None)  # a matrix fit can push a deep-blue light's R < 0
    return cam, cct
