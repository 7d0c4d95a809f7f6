"""Configuration: frozen dataclasses loaded from TOML profiles in ``configs/``.

A profile is a TOML file whose tables mirror :class:`Config`'s fields (``[exposure]``,
``[tone]``, ...). Loading validates every key and type: an unknown key raises ConfigError
naming the dotted key, the file and the valid keys. ``--set tone.contrast=0.4`` overrides are
applied before validation.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from .errors import ConfigError

#: Where the bundled profiles live (the repo's ``configs/`` folder, shipped beside the package).
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class OutputConfig:
    """Output geometry and encoding. Size: ``width``/``height`` (0 = keep aspect) or ``scale``."""

    width: int = 0
    height: int = 0
    scale: float = 1.0
    jpeg_quality: int = 92
    bit_depth: Literal[8, 16] = 8  # PNG only; TIFF is always 16-bit, JPEG 8-bit
    orientation: bool = True  # apply the EXIF orientation


@dataclass(frozen=True)
class LensShadingConfig:
    enabled: bool = True
    flat_field: str = ""  # path of a flat-field raw; empty = the DNG gain map if any


@dataclass(frozen=True)
class DenoiseConfig:
    """Raw denoise: ``classical`` (VST + a-trous wavelet shrinkage on luma/chroma; strength,
    chroma_strength, levels) or ``net`` (the noise-aware raw denoiser ``model``)."""

    enabled: bool = True
    method: Literal["classical", "net"] = "classical"
    model: str = "denoiser"  # models/<name>.safetensors, or a path to a .safetensors file
    strength: float = 1.6  # luma threshold in noise sigmas
    chroma_strength: float = 3.0  # chroma threshold in noise sigmas
    levels: int = 4


@dataclass(frozen=True)
class ExposureConfig:
    """Automatic amplification from raw statistics; ``ev`` forces a gain of 2**ev."""

    ev: float | None = None
    key: float = 0.12  # target geometric-mean luminance (night look: below the 0.18 of day)
    compensation_ev: float = 0.0
    max_gain: float = 512.0
    highlight_percentile: float = 99.5
    highlight_max: float = 6.0  # the percentile may not land above this after amplification


@dataclass(frozen=True)
class WhiteBalanceConfig:
    """``mode``: as-shot | auto | fused | manual (``gains`` R, G, B)."""

    mode: Literal["as-shot", "auto", "fused", "manual"] = "fused"
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    auto_weight: float = 0.5  # fused: weight of the grayness-index estimate in log space
    gi_percent: float = 0.1  # grayness index: share of greyest pixels used (percent)
    max_deviation: float = 0.6  # fused: larger log-distance from as-shot shrinks the auto weight
    estimator: Literal["grayness", "net"] = "net"  # auto estimate: grayness index or net
    model: str = "wb"  # the WB estimator checkpoint (estimator = "net")


@dataclass(frozen=True)
class ToneConfig:
    """Tone curve on linear sRGB, then the sRGB transfer function, then a contrast stretch."""

    white_point: float = 8.0  # linear value (after amplification) that maps to display white
    gamma: Literal["srgb", "bt709"] = "srgb"
    black_percentile: float = 0.5
    white_percentile: float = 99.8
    contrast: float = 0.6  # 0 = no percentile stretch, 1 = full stretch to [0, 1]


@dataclass(frozen=True)
class ColorConfig:
    green_desat: float = 0.5  # 0..1: pull green casts towards neutral
    purple_desat: float = 0.4
    vibrance: float = 0.25
    saturation: float = 1.0


@dataclass(frozen=True)
class TemporalConfig:
    """Motion-compensated, noise-aware recursive filter on packed raw (video only)."""

    enabled: bool = True
    max_frames: float = 8.0  # cap on the frames averaged where nothing moves
    motion_sigmas: float = 3.0  # a difference this many noise sigmas counts as motion
    search_px: int = 4  # block-matching search radius at the coarsest flow level (pixels there)
    flow_long_side: int = 320  # size of the luma image the motion is estimated on
    block: int = 8  # block size of the matcher at that size
    warp: Literal["bicubic", "bilinear"] = "bicubic"  # resampling of the running average


@dataclass(frozen=True)
class StreamConfig:
    """Caches kept across frames: refresh schedules and smoothing (time constants in frames)."""

    wb_every: int = 4  # re-estimate white balance every N frames
    wb_smoothing_frames: float = 24.0  # EMA time constant in log-gain space (1 s at 24 fps)
    # WB changes smaller than this (log gain; 0.01 = 1 %, invisible) are held, not applied:
    # the estimate's slow wander on a static scene stays off screen (test_stream_stability.py).
    wb_deadband_log: float = 0.01
    tone_every: int = 2
    tone_smoothing_frames: float = 8.0
    sky_every: int = 8
    sky_smoothing_frames: float = 6.0
    cut_threshold: float = 1.0  # mean |log2| change of a 16x9 thumbnail that counts as a cut


@dataclass(frozen=True)
class PreviewConfig:
    """Live preview (``nightvid preview``): latency budget, adaptive quality, views.

    The preview always shows the newest captured frame (latency is bounded by dropping stale
    frames). When rendering a frame takes longer than ``target_ms``, the adaptive controller
    steps down a ladder (refinement network off, sky off, smaller work size ...) until it fits.
    """

    target_ms: float = 150.0  # processing budget per frame (capture-to-ready minus the wait)
    adapt: bool = True  # lower quality when over budget, raise it again when there is room
    min_scale: float = 0.25  # smallest work size the ladder goes to (of the profile's size)
    settle_frames: int = 6  # frames between two adaptive steps (lets the timing settle)
    view: Literal["split", "side", "enhanced", "original"] = "split"
    jpeg_quality: int = 80  # browser stream (MJPEG)
    record_preset: str = "veryfast"  # x264 preset of a recording made while previewing
    reconnect_max_s: float = 30.0  # URL sources: give up after this long without a frame
    slow_ms: float = 0.0  # artificial extra time per frame (tests, measurements); 0 = none
    # CPU: torch threads while previewing; 0 = one fewer than the cores, leaving one to
    # capture, display and encoding (contention slowed rendering 2-4x on 2 busy cores).
    cpu_threads: int = 0


@dataclass(frozen=True)
class SkyConfig:
    """Cool the night sky: lower its colour temperature where a smooth, dark sky is found."""

    enabled: bool = True
    strength: float = 0.5  # 0..1 blend towards the cooled colour
    cool_gains: tuple[float, float, float] = (0.85, 0.95, 1.15)  # linear R, G, B in the sky


@dataclass(frozen=True)
class EngineConfig:
    decode_workers: int = 2  # parallel raw decoders (threads)
    queue_depth: int = 4  # frames in flight between workers: bounds memory


@dataclass(frozen=True)
class RefineConfig:
    """RGB refinement network on the display image (residual noise, colour, local contrast).
    Off by default: trained on renders of the packed path (output at most half the sensor
    size), it leaves blotches on full-resolution photo renders."""

    enabled: bool = False
    model: str = "refine"
    strength: float = 1.0  # 0 = off, 1 = the network's full correction


@dataclass(frozen=True)
class IlluminationConfig:
    """RGB path (dark sRGB video): ``global`` amplification only, or ``sci`` (a per-pixel
    illumination map from the self-calibrated illumination network ``model``)."""

    method: Literal["global", "sci"] = "global"
    model: str = "illumination"
    # 0 = global gain only, 1 = SCI's full local brightening; 0.5 scored best on training-split
    # darkened frames (see nightvid.nets.illumination).
    strength: float = 0.5


@dataclass(frozen=True)
class RuntimeConfig:
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: Literal["auto", "on", "off"] = "auto"  # torch.compile the hot paths (accel.py)
    compile_min_frames: int = 240  # "auto" compiles CPU streams at least this long
    # A network checkpoint that cannot be loaded: false = error; true = warn once and run the
    # classical stage in its place.
    net_fallback: bool = False
    # Networks in bfloat16 on the CPU: auto = where the CPU has native bf16 (2.3-2.6x faster
    # here, -0.006 dB); on; off = float32.
    cpu_bf16: Literal["auto", "on", "off"] = "auto"
    tile: int = 1024  # networks run on tiles of at most this many pixels a side (memory bound)
    tile_overlap: int = 32  # tiles share 2x this; outputs blend over it (no seams)


@dataclass(frozen=True)
class Config:
    """Everything a render needs; every profile is a partial override of these defaults."""

    output: OutputConfig = field(default_factory=OutputConfig)
    lens_shading: LensShadingConfig = field(default_factory=LensShadingConfig)
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    white_balance: WhiteBalanceConfig = field(default_factory=WhiteBalanceConfig)
    tone: ToneConfig = field(default_factory=ToneConfig)
    color: ColorConfig = field(default_factory=ColorConfig)
    sky: SkyConfig = field(default_factory=SkyConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    illumination: IlluminationConfig = field(default_factory=IlluminationConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)
    profile: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def profile_names() -> list[str]:
    """Names of the bundled profiles (``configs/*.toml``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def load_config(profile: str = "default", overrides: dict[str, Any] | None = None) -> Config:
    """Load a profile by name or path, apply dotted-key ``overrides``, validate.

    Raises:
        ConfigError: unknown profile, unknown key (names it and lists the valid ones), bad type.
    """
    path = Path(profile)
    if path.suffix != ".toml":
        path = CONFIG_DIR / f"{profile}.toml"
    if not path.is_file():
        raise ConfigError(f"profile: unknown profile {profile!r}; bundled: "
                          f"{', '.join(profile_names())}")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read profile ({exc})") from None
    data.setdefault("profile", path.stem)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    return _build(Config, data, "", str(path))


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are TOML literals, else plain strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set: expected key=value, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key.strip()] = value
    return out


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: {p!r} is a value, not a section")
    node[parts[-1]] = value


def _build(cls: type, data: dict[str, Any], prefix: str, src: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            valid = ", ".join(f"{prefix}{k}" for k in fields)
            raise ConfigError(f"{dotted}: unknown key ({src}); valid keys: {valid}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}: expected a table, got {value!r} ({src})")
            kwargs[key] = _build(hint, value, f"{dotted}.", src)
        else:
            kwargs[key] = _coerce(value, hint, dotted, src)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, dotted: str, src: str) -> Any:
    """Check ``value`` against a field's type (bool, int, float, str, Literal, tuple, Optional)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], dotted, src)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{dotted}: expected one of {', '.join(map(str, args))}, "
                              f"got {value!r} ({src})")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{dotted}: expected {len(args)} values, got {value!r} ({src})")
        return tuple(_coerce(v, a, dotted, src) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{dotted}: expected true or false, got {value!r} ({src})")
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    name = getattr(hint, "__name__", hint)
    raise ConfigError(f"{dotted}: expected {name}, got {value!r} ({src})")
