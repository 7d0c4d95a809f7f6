"""Calibrated sensor noise for synthetic raw: Poisson-Gaussian, plus ELD's physical model.

:func:`add_noise` is the generic model on normalised values, ``variance = shot * x + read``
(as a DNG NoiseProfile states it), with optional row noise and quantisation.
:func:`load_eld_noise` gives a :class:`NoiseModel` from the calibration of Wei, Fu, Yang and
Huang, "A Physics-based Noise Formation Model for Extreme Low-light Raw Denoising" (ELD), CVPR
2020: system gain K (DN per electron), read noise (Tukey-lambda, or its Gaussian fit), row
noise and 14-bit quantisation, at a chosen ISO, for a short exposure ``ratio`` times darker
than the clean one. All randomness comes from a ``numpy.random.Generator``: same seed, same
noise. Mosaics are NumPy arrays, ``(..., H, W)``; rows are the second-last axis.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError, SourceError

#: Sony A7S2 (ILCE-7SM2) calibration, copied from ELD's ``SonyA7S2_params.json``
#: (../shared/data/noise/eld/, MIT): used when that folder is absent, so samples can be remade
#: anywhere. Regressions are ``log(scale_DN) = slope * log(K) + bias`` (ELD "Profile-1"); the
#: 18 Tukey shapes are per calibrated gain, in increasing order of K (only in that order does
#: the Tukey read noise's std match the Gaussian fit, within 10 %, at every gain).
SONY_A7S2_ELD: dict[str, Any] = {
    "Kmin": 0.09391607086816033,
    "Kmax": 6.010628535562261,
    "G_shape": [0.11428571428571421, 0.12857142857142856, 0.05714285714285716,
                0.042857142857142816, 0.0, 0.0, -0.04285714285714287, -0.05714285714285716,
                -0.08571428571428574, -0.08571428571428574, -0.08571428571428574,
                -0.08571428571428574, -0.11428571428571432, -0.11428571428571432,
                -0.14285714285714285, -0.12857142857142856, -0.14285714285714285,
                -0.14285714285714285],
    "Profile-1": {
        "G_scale": {"bias": 0.5657147358616816, "slope": 0.46210495986526035},  # Tukey scale
        "g_scale": {"bias": 1.218237123334061, "slope": 0.5407496082896145},  # Gaussian read
        "R_scale": {"bias": -0.5917002648887661, "slope": 0.5275360468633209},  # row noise
    },
}
#: ISO at ELD's Kmin, per camera. Sony A7S2: Kmin..Kmax (64x) spans ISO 100..6400, i.e.
#: K = 9.39e-4 DN/e- per ISO; the independent linear fit K = 9.546e-4 * ISO of Feng et al.
#: (PMN, ACM MM 2022) agrees within 2 %. Gains beyond 6400 extrapolate ELD's regressions.
ISO_AT_KMIN: dict[str, float] = {"SonyA7S2": 100.0}


def data_dir() -> Path:
    """The shared data folder: ``$NIGHTVID_DATA``, else ``<repo>/../shared/data``."""
    env = os.environ.get("NIGHTVID_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def tukey_lambda_variance(lam: float) -> float:
    """Variance of the standard Tukey-lambda distribution (finite for lam > -1/2)."""
    if abs(lam) < 1e-6:
        return math.pi**2 / 3.0  # the logistic limit
    beta = math.gamma(lam + 1) ** 2 / math.gamma(2 * lam + 2)
    return 2.0 / lam**2 * (1.0 / (1.0 + 2.0 * lam) - beta)


def _tukey(rng: np.random.Generator, shape: tuple[int, ...], lam: float) -> np.ndarray:
    """Unit-variance Tukey-lambda samples by inverting its quantile function."""
    u = np.clip(rng.random(shape), 1e-15, 1.0 - 1e-15)
    q = np.log(u / (1 - u)) if abs(lam) < 1e-6 else (u**lam - (1 - u) ** lam) / lam
    return q / math.sqrt(tukey_lambda_variance(lam))


def add_noise(
    mosaic: np.ndarray,
    *,
    shot: float,
    read: float,
    rng: np.random.Generator,
    row_sigma: float = 0.0,
    quant_bits: int | None = None,
    black_level: float = 0.0,
    white_level: float = 1.0,
    read_lambda: float | None = None,
) -> np.ndarray:
    """Poisson-Gaussian noise on a normalised mosaic, returned in the sensor's value range.

    Signal-dependent part: ``Poisson(x / shot) * shot`` (variance ``shot * x``); read noise of
    variance ``read`` (Gaussian, or Tukey-lambda of shape ``read_lambda`` with that variance);
    one Gaussian offset of std ``row_sigma`` per row. Then ``black + y * (white - black)``,
    rounded to the grid of a ``quant_bits`` converter spanning [0, white], clipped to
    [0, white] (values under the black level survive, as on a real sensor).

    Args:
        mosaic: (..., H, W) clean values, 0 = black, 1 = white (negative values count as 0).
        shot, read: noise profile on normalised values (DNG NoiseProfile's S and O), >= 0.
        rng: the random source (``np.random.default_rng(seed)``).
        row_sigma: std of the per-row offset, normalised units.
        quant_bits: converter bits (14 with white 16383 rounds to whole DN); None: no rounding.
        black_level, white_level: the output range.
        read_lambda: Tukey-lambda shape of the read noise (> -0.5); None: Gaussian.
    Returns:
        float64 array like ``mosaic``, in [0, white_level].

    >>> out = add_noise(np.full((2, 3), 0.25), shot=0.0, read=0.0, rng=np.random.default_rng(0))
    >>> out.tolist()
    [[0.25, 0.25, 0.25], [0.25, 0.25, 0.25]]
    """
    if shot < 0 or read < 0 or row_sigma < 0:
        raise ConfigError(f"add_noise: expected shot, read, row_sigma >= 0, got {shot}, {read}, "
                          f"{row_sigma}")
    x = np.clip(np.asarray(mosaic, np.float64), 0.0, None)
    y = rng.poisson(x / shot) * shot if shot > 0 else x.copy()
    if read > 0:
        unit = rng.standard_normal(x.shape) if read_lambda is None else _tukey(rng, x.shape,
                                                                              read_lambda)
        y += math.sqrt(read) * unit
    if row_sigma > 0:
        y += row_sigma * rng.standard_normal((*x.shape[:-1], 1))
    dn = black_level + y * (white_level - black_level)
    if quant_bits is not None:
        step = white_level / (2.0**quant_bits - 1.0)
        dn = np.round(dn / step) * step
    return np.clip(dn, 0.0, white_level)


@dataclass(frozen=True)
class NoiseModel:
    """A sensor's noise at one gain, in DN, and the darkening of a synthetic short exposure.

    Attributes:
        camera: ELD camera name, e.g. "SonyA7S2".
        iso: the gain setting.
        ratio: the clean exposure is divided by this before noise (x1 .. x300).
        k: system gain, DN per electron (shot variance in DN^2 = k * signal in DN).
        read_sigma_dn: Gaussian read noise std (ELD's Gaussian fit), DN.
        tukey_lambda, tukey_scale_dn: ELD's Tukey-lambda read noise (shape, scale in DN).
        row_sigma_dn: std of the per-row offset, DN.
        read_model: which read noise :meth:`apply` draws ("tukey" or "gaussian").
        bits, black_level, white_level: converter depth and range, DN.
        source: where the calibration came from.
    """

    camera: str
    iso: float
    ratio: float
    k: float
    read_sigma_dn: float
    tukey_lambda: float
    tukey_scale_dn: float
    row_sigma_dn: float
    read_model: Literal["tukey", "gaussian"] = "tukey"
    bits: int = 14
    black_level: float = 512.0
    white_level: float = 16383.0
    source: str = ""

    @property
    def range_dn(self) -> float:
        """White minus black level, DN."""
        return self.white_level - self.black_level

    @property
    def read_variance_dn(self) -> float:
        """Variance of the read noise :meth:`apply` draws, DN^2."""
        if self.read_model == "gaussian":
            return self.read_sigma_dn**2
        return self.tukey_scale_dn**2 * tukey_lambda_variance(self.tukey_lambda)

    def profile(self) -> tuple[float, float]:
        """(shot, read) of the noisy short exposure, normalised: a DNG NoiseProfile.

        ``read`` lumps read, row and quantisation (1/12 DN^2) variance, as a profile
        measured on flat frames would.
        """
        r = self.range_dn
        return self.k / r, (self.read_variance_dn + self.row_sigma_dn**2 + 1.0 / 12.0) / r**2

    def apply(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Darken a clean normalised mosaic by ``ratio`` and add this sensor's noise.

        Args:
            clean: (..., H, W) normalised mosaic of the clean (long) exposure; may exceed 1
                (highlights then clip at the white level, as in the short exposure).
            rng: the random source.
        Returns:
            float64 whole DN in [0, white_level], black level included.
        """
        r = self.range_dn
        lam = self.tukey_lambda if self.read_model == "tukey" else None
        return add_noise(np.asarray(clean, np.float64) / self.ratio, shot=self.k / r,
                         read=self.read_variance_dn / r**2, rng=rng,
                         row_sigma=self.row_sigma_dn / r, quant_bits=self.bits,
                         black_level=self.black_level, white_level=self.white_level,
                         read_lambda=lam)


def _eld_params(camera: str, folder: Path | None) -> tuple[dict[str, Any], str]:
    path = (folder or data_dir()) / "noise" / "eld" / f"{camera}_params.json"
    if path.is_file():
        return json.loads(path.read_text()), str(path)
    if camera == "SonyA7S2":
        return SONY_A7S2_ELD, "built-in copy of ELD SonyA7S2_params.json"
    raise SourceError(f"{path}: no ELD calibration for camera {camera!r} (set NIGHTVID_DATA)")


def load_eld_noise(
    camera: str = "SonyA7S2",
    iso: float = 3200.0,
    ratio: float = 1.0,
    *,
    k: float | None = None,
    read_model: Literal["tukey", "gaussian"] = "tukey",
    data: Path | str | None = None,
) -> NoiseModel:
    """The ELD noise model of ``camera`` at ``iso``, for an exposure ``ratio`` times darker.

    Scales come from ELD's log-linear regressions at the gain K (their mean: ELD's training
    draws around it with the stated sigma; here it is deterministic). The Tukey shape is
    interpolated over log K between the calibrated gains, held at the ends.

    Args:
        camera: ELD camera name ("SonyA7S2", "NikonD850", "CanonEOS5D4", ...).
        iso: gain setting; turned into K via :data:`ISO_AT_KMIN` (Sony A7S2 only).
        ratio: darkening of the clean exposure, >= 1 (ELD and SID use 1 to 300).
        k: system gain in DN/e-, overriding ``iso`` (needed for cameras without an ISO map).
        read_model: "tukey" (ELD's best fit) or "gaussian" (its Gaussian approximation).
        data: the shared data folder (default :func:`data_dir`); without the JSON, Sony A7S2
            falls back to :data:`SONY_A7S2_ELD`.
    Returns:
        A :class:`NoiseModel` (14-bit, black 512, white 16383).
    Raises:
        ConfigError: ratio < 1, no way to get K, or an unknown read model.
        SourceError: no calibration for ``camera``.

    >>> m = load_eld_noise("SonyA7S2", iso=6400, data="/nonexistent")
    >>> round(m.k, 3), round(m.read_sigma_dn, 2)
    (6.011, 8.92)
    """
    if ratio < 1:
        raise ConfigError(f"load_eld_noise: expected ratio >= 1, got {ratio}")
    if read_model not in ("tukey", "gaussian"):
        raise ConfigError(f"load_eld_noise: expected read_model tukey or gaussian, got "
                          f"{read_model!r}")
    p, source = _eld_params(camera, Path(data) if data is not None else None)
    if k is None:
        if camera not in ISO_AT_KMIN:
            raise ConfigError(f"load_eld_noise: no ISO -> K map for {camera!r}; pass k=")
        k = p["Kmin"] * iso / ISO_AT_KMIN[camera]
    log_k = math.log(k)
    prof = p["Profile-1"]

    def scale(name: str) -> float:
        return math.exp(prof[name]["slope"] * log_k + prof[name]["bias"])

    shapes = p["G_shape"]
    pos = (log_k - math.log(p["Kmin"])) / (math.log(p["Kmax"]) - math.log(p["Kmin"]))
    lam = float(np.interp(pos * (len(shapes) - 1), np.arange(len(shapes)), shapes))
    return NoiseModel(camera=camera, iso=float(iso), ratio=float(ratio), k=float(k),
                      read_sigma_dn=scale("g_scale"), tukey_lambda=lam,
                      tukey_scale_dn=scale("G_scale"), row_sigma_dn=scale("R_scale"),
                      read_model=read_model, source=source)
