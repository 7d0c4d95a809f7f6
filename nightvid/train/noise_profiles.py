"""Random, calibrated sensor noise for training pairs.

Two sources of real calibrations (``../shared/data/noise/``):

- ELD (Wei et al., CVPR 2020): the physical model (shot through the system gain K, Tukey-lambda
  read noise, row noise, 14-bit quantisation) of 5 cameras, K drawn log-uniformly over each
  camera's calibrated range. Used through :func:`nightvid.synth.noise.load_eld_noise`.
- darktable's profiles (202 cameras, every ISO): ``variance(x) = a x + b`` on normalised raw,
  the DNG NoiseProfile form; the green channel's (a, b) is drawn, Gaussian read noise,
  optionally row noise (a fraction of the read std) and 14-bit quantisation.

Both are applied to a clean mosaic darkened by ``ratio``. The result is black-subtracted and
normalised (0 = black, 1 = white), un-amplified: what nightvid's pipeline hands its denoiser.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..synth.noise import NoiseModel, add_noise, data_dir, load_eld_noise

__all__ = ["NoiseDraw", "apply_noise", "darktable_profiles", "eld_cameras", "sample_noise"]


@dataclass(frozen=True)
class NoiseDraw:
    """One drawn noise setting.

    Attributes:
        source: ``"eld:<camera>"`` or ``"darktable:<maker model iso>"``.
        ratio: darkening of the clean exposure (>= 1).
        shot, read: the noisy frame's profile on normalised values (variance = shot x + read).
        eld: the ELD model when ``source`` is ELD (it draws its own heavy-tailed noise).
        row_sigma: per-row offset std (normalised), darktable draws only.
        quant_bits: converter bits, or None.
    """

    source: str
    ratio: float
    shot: float
    read: float
    eld: NoiseModel | None = None
    row_sigma: float = 0.0
    quant_bits: int | None = 14


@functools.lru_cache(maxsize=4)
def eld_cameras(data: str) -> tuple[tuple[str, float, float], ...]:
    """(camera, Kmin, Kmax) of every ELD calibration in ``data``/noise/eld (at least Sony)."""
    out = []
    for p in sorted((Path(data) / "noise" / "eld").glob("*_params.json")):
        d = json.loads(p.read_text())
        out.append((p.name[: -len("_params.json")], float(d["Kmin"]), float(d["Kmax"])))
    if not out:
        from ..synth.noise import SONY_A7S2_ELD

        out.append(("SonyA7S2", SONY_A7S2_ELD["Kmin"], SONY_A7S2_ELD["Kmax"]))
    return tuple(out)


@functools.lru_cache(maxsize=4)
def darktable_profiles(data: str) -> tuple[tuple[str, float, float], ...]:
    """(name, a, b) of every darktable profile (green channel), empty without the file."""
    p = Path(data) / "noise" / "darktable" / "darktable_noiseprofiles_2016.json"
    if not p.is_file():
        return ()
    out = []
    for maker in json.loads(p.read_text())["noiseprofiles"]:
        for model in maker["models"]:
            for prof in model["profiles"]:
                a, b = float(prof["a"][1]), float(prof["b"][1])
                if a > 0 and b > 0:
                    out.append((f"{maker['maker']} {prof['name']}", a, b))
    return tuple(out)


def sample_noise(rng: np.random.Generator, *, ratio_range: tuple[float, float] = (1.0, 300.0),
                 eld_fraction: float = 0.6, row_noise: bool = True,
                 quantisation: bool = True, data: Path | str | None = None,
                 dark: tuple[float, float] = (0.0, 30.0)) -> NoiseDraw:
    """Draw a camera, a gain and a darkening ratio (log-uniform).

    Args:
        rng: the random source.
        ratio_range: bounds of the darkening ratio.
        dark: ``(fraction, ratio)``: that fraction of draws take the ratio log-uniformly from
            ``[ratio, ratio_range[1]]`` instead (more training where night footage lives); a
            fraction of 0 leaves the random stream exactly as without it.
        eld_fraction: probability of an ELD camera (else darktable, when present).
        row_noise, quantisation: include these components.
        data: the shared data folder (default :func:`data_dir`).
    Returns:
        A :class:`NoiseDraw`.
    """
    root = str(Path(data) if data is not None else data_dir())
    lo = ratio_range[0]
    if dark[0] > 0.0 and rng.random() < dark[0]:
        lo = min(max(dark[1], lo), ratio_range[1])
    ratio = math.exp(rng.uniform(math.log(lo), math.log(ratio_range[1])))
    dt = darktable_profiles(root)
    if rng.random() < eld_fraction or not dt:
        cams = eld_cameras(root)
        cam, kmin, kmax = cams[int(rng.integers(len(cams)))]
        k = math.exp(rng.uniform(math.log(kmin), math.log(kmax)))
        m = load_eld_noise(cam, ratio=ratio, k=k, data=root)
        if not row_noise:
            m = _replace(m, row_sigma_dn=0.0)
        if not quantisation:
            m = _replace(m, bits=24)
        shot, read = m.profile()
        return NoiseDraw(f"eld:{cam}", ratio, shot, read, eld=m,
                         quant_bits=m.bits if quantisation else None)
    name, a, b = dt[int(rng.integers(len(dt)))]
    row = float(rng.uniform(0.0, 0.15)) * math.sqrt(b) if row_noise else 0.0
    bits = 14 if quantisation else None
    read = b + row**2 + (1.0 / 12.0 / (2**14 - 1) ** 2 if bits else 0.0)
    return NoiseDraw(f"darktable:{name}", ratio, a, read, row_sigma=row, quant_bits=bits)


def _replace(m: NoiseModel, **kw: float) -> NoiseModel:
    import dataclasses

    return dataclasses.replace(m, **kw)


def eld_draw(model: NoiseModel) -> NoiseDraw:
    """A fixed ELD model (e.g. Sony A7S2 at ISO 3200, ratio 100) as a :class:`NoiseDraw`."""
    shot, read = model.profile()
    return NoiseDraw(f"eld:{model.camera}@iso{model.iso:g}", model.ratio, shot, read, eld=model,
                     quant_bits=model.bits)


def apply_noise(clean: np.ndarray, draw: NoiseDraw, rng: np.random.Generator) -> np.ndarray:
    """Darken a clean normalised mosaic by ``draw.ratio`` and add the drawn noise.

    Args:
        clean: (..., H, W) normalised clean mosaic (the long exposure), rows on axis -2.
        draw: from :func:`sample_noise` or :func:`eld_draw`.
        rng: the random source.
    Returns:
        float32 (..., H, W), black-subtracted and normalised, un-amplified (may be < 0).
    """
    if draw.eld is not None:
        m = draw.eld
        dn = m.apply(clean, rng)
        return ((dn - m.black_level) / m.range_dn).astype(np.float32)
    # A 14-bit converter with its black level at 1/32 of the range, as most cameras have.
    black = 1.0 / 32.0
    y = add_noise(np.asarray(clean, np.float64) / draw.ratio, shot=draw.shot,
                  read=max(draw.read - draw.row_sigma**2, 0.0), rng=rng,
                  row_sigma=draw.row_sigma, quant_bits=draw.quant_bits,
                  black_level=black, white_level=1.0)
    return ((y - black) / (1.0 - black)).astype(np.float32)
