"""Seeded training recipes as frozen dataclasses, loaded from TOML (``configs/train/*.toml``).

A recipe file has top-level keys of :class:`DenoiserRecipe` and a ``[synth]`` table of
:class:`~nightvid.train.data.SynthConfig`. Unknown keys or wrong types raise ConfigError
naming the dotted key and the file.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..config import CONFIG_DIR
from ..errors import ConfigError
from .data import SynthConfig

__all__ = ["DenoiserRecipe", "load_recipe", "recipe_path"]


@dataclass(frozen=True)
class DenoiserRecipe:
    """How one raw denoiser checkpoint is trained.

    Attributes:
        name: checkpoint name (``models/<name>.safetensors``).
        widths, blocks, separable: the architecture (:class:`~nightvid.nets.DenoiserSpec`).
        level_block: the network's input level block (:class:`~nightvid.nets.DenoiserSpec`).
        mean_block: the saved network's local-mean block (training runs without it: on 64-px
            crops the noisy block means would add low-frequency noise the loss cannot see past).
        steps, batch, lr, lr_min, weight_decay: Adam with a cosine schedule, batch of crops.
        seed: seeds the weights and the sample stream.
        teacher: checkpoint to distil from ("" = no distillation).
        distill_weight: weight of the L1 to the teacher's output (next to the L1 to truth).
        weighting: per-sample loss weight, "ratio" or "noise"
            (:func:`nightvid.train.denoiser.sample_weights`).
        workers: data-loader processes (0 = in the training process).
        log_every: steps between log lines.
        synth: how training pairs are drawn.
    """

    name: str = "denoiser"
    widths: tuple[int, ...] = (24, 48, 64)
    blocks: tuple[int, ...] = (1, 1, 2)
    separable: bool = True
    mean_block: int = 32
    level_block: int = 0
    steps: int = 6000
    batch: int = 16
    lr: float = 2e-3
    lr_min: float = 2e-5
    weight_decay: float = 0.0
    seed: int = 0
    teacher: str = ""
    distill_weight: float = 1.0
    weighting: str = "ratio"
    workers: int = 0
    log_every: int = 50
    synth: SynthConfig = field(default_factory=SynthConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def recipe_path(name: str) -> Path:
    """``configs/train/<name>.toml``."""
    return CONFIG_DIR / "train" / f"{name}.toml"


def _coerce(cls: type, table: dict[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, val in table.items():
        if key not in fields:
            raise ConfigError(f"{where}{key}: unknown key (valid: {', '.join(sorted(fields))})")
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            if not isinstance(val, dict):
                raise ConfigError(f"{where}{key}: expected a table, got {type(val).__name__}")
            out[key] = _coerce(type(default), val, f"{where}{key}.")
        elif isinstance(default, tuple):
            kind = type(default[0]) if default else int
            if not isinstance(val, list) or not all(isinstance(v, kind) for v in val):
                raise ConfigError(f"{where}{key}: expected a list of {kind.__name__}s, "
                                  f"got {val!r}")
            out[key] = tuple(val)
        elif isinstance(default, bool) or isinstance(val, bool):
            if not isinstance(val, bool) or not isinstance(default, bool):
                raise ConfigError(f"{where}{key}: expected {type(default).__name__}, got {val!r}")
            out[key] = val
        elif isinstance(default, float) and isinstance(val, int | float):
            out[key] = float(val)
        elif isinstance(val, type(default)):
            out[key] = val
        else:
            raise ConfigError(f"{where}{key}: expected {type(default).__name__}, got {val!r}")
    return cls(**out)


def load_recipe(path: str | Path, cls: type = DenoiserRecipe, **overrides: Any) -> Any:
    """A recipe (``cls``, default :class:`DenoiserRecipe`) from a TOML file, with keyword
    overrides applied last (None values ignored).

    Raises:
        ConfigError: unreadable file, unknown key or wrong type (message names the file).
    """
    p = Path(path)
    try:
        table = tomllib.loads(p.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read recipe ({exc})") from None
    try:
        recipe = _coerce(cls, table, "")
    except ConfigError as exc:
        raise ConfigError(f"{exc} ({p})") from None
    return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
