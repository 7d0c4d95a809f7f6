"""The Python API: one call renders a raw photo."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import warnings_once
from .config import Config, load_config
from .engine import Summary
from .errors import ConfigError
from .pipeline import Pipeline, RenderInfo
from .runtime import to_uint
from .sinks.images import image_bit_depth, write_image
from .sources import open_raw

#: Keyword shortcuts accepted by :func:`enhance` and the CLI, and the config key each sets.
SHORTCUTS = ("size", "scale", "ev", "wb", "device", "quality", "bit_depth")


def resolve_overrides(**kw: Any) -> dict[str, Any]:
    """Map shortcuts (size, scale, ev, wb, device, quality, bit_depth) and dotted keys to
    config overrides. ``tone__contrast=0.4`` is accepted for ``tone.contrast``.
    """
    out: dict[str, Any] = {}
    for key, value in kw.items():
        if value is None:
            continue
        if key == "size":
            w, h = _parse_size(value)
            out.update({"output.width": w, "output.height": h})
        elif key == "scale":
            out["output.scale"] = float(value)
        elif key == "ev":
            out["exposure.ev"] = float(value)
        elif key == "wb":
            out.update(_parse_wb(value))
        elif key == "device":
            out["runtime.device"] = str(value)
        elif key == "quality":
            out["output.jpeg_quality"] = int(value)
        elif key == "bit_depth":
            out["output.bit_depth"] = int(value)
        else:
            out[key.replace("__", ".")] = value
    return out


def _parse_size(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        parts = value.lower().split("x")
        try:
            w, h = (int(p) if p else 0 for p in parts)
        except ValueError:
            raise ConfigError(f"--size: expected WxH (e.g. 1920x1080 or 1920x), "
                              f"got {value!r}") from None
    else:
        w, h = (int(v) for v in value)
    if w < 0 or h < 0 or (w == 0 and h == 0):
        raise ConfigError(f"--size: expected positive sizes, got {value!r}")
    return w, h


def _parse_wb(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value in ("as-shot", "auto", "fused"):
        return {"white_balance.mode": value}
    try:
        gains = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        gains = []
    if len(gains) != 3 or min(gains) <= 0:
        raise ConfigError(f"--wb: expected as-shot, auto, fused or R,G,B gains > 0, got {value!r}")
    return {"white_balance.mode": "manual", "white_balance.gains": gains}


def render_file(path: str | Path, config: Config,
                pipeline: Pipeline | None = None) -> tuple[np.ndarray, RenderInfo]:
    """Render a raw photo to (H, W, 3) RGB at ``config.output.bit_depth`` (8 or 16)."""
    mosaic, meta = open_raw(path)
    pipe = pipeline or Pipeline(config)
    display, info = pipe.render(mosaic, meta)
    return to_uint(display, config.output.bit_depth), info


def enhance(path: str | Path, output: str | Path | None = None, *, profile: str = "default",
            **overrides: Any) -> np.ndarray:
    """Render a raw night photo.

    Args:
        path: a raw file (DNG, ARW, CR2, NEF, ... or an NPR-format PNG with its JSON).
        output: where to write (format from the suffix: .jpg, .png, .tif); None = don't write.
        profile: a bundled profile name (``default``, ``fast``, ``quality``, ``preview``) or a
            path to a TOML file.
        **overrides: ``size=(w, h)``, ``scale=0.5``, ``ev=3.0``, ``wb="auto"`` or
            ``wb=(r, g, b)``, ``device="cuda"``, ``quality=90``, ``bit_depth=16``, or any config
            key with ``__`` for ``.`` (``tone__contrast=0.4``).
    Returns:
        The rendered image, (H, W, 3) RGB uint8 (uint16 with ``bit_depth=16`` or a .tif
        output).

    Raises:
        SourceError, MetadataError, UnsupportedCFAError: the input is unusable.
        ConfigError: an unknown profile or key, or a bad value.
        SinkError: the output cannot be written.
    """
    over = resolve_overrides(**overrides)
    if output is not None:
        # Checked before any work: an unknown suffix fails fast.
        over["output.bit_depth"] = image_bit_depth(output, over.get("output.bit_depth", 8))
    cfg = load_config(profile, over)
    rgb, _ = render_file(path, cfg)
    if output is not None:
        write_image(rgb, output, cfg.output.jpeg_quality)
    return rgb


def process_stream(source: str | Path, output: str | Path, config: Config, *,
                   codec: str | None = None, bit_depth: int = 8, quality: int | None = None,
                   fps: Any = None, pix_fmt: str | None = None,
                   size: tuple[int, int] | None = None, resume: bool = False,
                   progress: bool = True,
                   on_frame: Callable[[int], None] | None = None) -> Summary:
    """Render a raw sequence, Bayer stack, rawvideo stream or sRGB video into ``output``.

    Args:
        source: a DNG folder, ``.npy``/``.npz`` stack, rawvideo file or video file.
        output: ``.mp4``/``.mov``/``.mkv``, a frame folder or a ``frame_%05d.png`` pattern; or
            ``frame_%04d.dng`` (a folder with ``codec="dng"``) for a linear DNG sequence of the
            temporally filtered, denoised mosaics at the source's geometry and levels (raw
            sources only; the output size settings do not apply).
        config: the resolved config.
        codec, bit_depth, quality: passed to the sink (see :func:`nightvid.sinks.open_sink`).
        fps: frame rate for sources that carry none.
        pix_fmt, size: rawvideo pixel format and (w, h).
        resume: frame-folder outputs: keep complete frames and continue after them. Rendering
            restarts up to :func:`warmup_frames` earlier, unwritten, so the resumed frames
            match an uninterrupted run's.
        progress: show a progress bar.
        on_frame: called after each rendered frame with the count so far (see
            :meth:`~nightvid.engine.Engine.run`).
    Returns:
        The run's :class:`~nightvid.engine.Summary`.
    Raises:
        SourceError: an sRGB source with a DNG output, or the source's own errors.
    """
    from fractions import Fraction

    from .engine import Engine
    from .errors import SourceError
    from .sinks.base import open_sink
    from .sources import open_source

    probe = open_source(source, fps=fps, pix_fmt=pix_fmt, size=size)
    rate = probe.fps or Fraction(24)
    probe.close()
    with open_sink(output, fps=rate, codec=codec, bit_depth=bit_depth, quality=quality,
                   audio_from=getattr(probe, "audio_path", None), resume=resume,
                   time_base=getattr(probe, "time_base", None)) as sink:
        if sink.wants == "mosaic":
            if probe.kind == "rgb":
                raise SourceError(f"{source}: DNG output needs a raw source; this is sRGB video")
            _warn_fixed_geometry(config, output)
        start = getattr(sink, "resume_from", 0) if resume else 0
        warm = min(start, warmup_frames(config))
        with open_source(source, fps=fps, pix_fmt=pix_fmt, size=size, start=start - warm) as src:
            # Per-stage timing syncs the device after each stage: cheap, and the summary needs it.
            return Engine(config, timings=True).run(src, sink, progress=progress, warmup=warm,
                                                    on_frame=on_frame)


def warmup_frames(config: Config) -> int:
    """Frames a resumed stream re-renders before its first new frame: three time constants of
    the slowest memory (temporal filter, smoothed estimates), so what is left of the fresh
    start is a few per cent (36 frames with the defaults)."""
    s = config.stream
    slowest = max(config.temporal.max_frames if config.temporal.enabled else 0.0,
                  s.wb_smoothing_frames, s.tone_smoothing_frames, s.sky_smoothing_frames)
    return math.ceil(3.0 * slowest)


def _warn_fixed_geometry(config: Config, output: str | Path) -> None:
    o = config.output
    if o.width or o.height or o.scale != 1.0:
        warnings_once.warn(f"{output}: DNG frames keep the source's geometry; the output size "
                           f"({o.width or '-'}x{o.height or '-'}, scale {o.scale}) does not "
                           "apply")
