"""Frame sources: iterables of :class:`~nightvid.types.Frame` that are context managers.

A source yields frames in presentation order, either directly (``for frame in src``) or as
*loaders*: zero-argument callables that each decode one frame, yielded in order, so the engine
can run them in a thread pool and keep the results in order::

    with open_source("clips/n1/") as src, ThreadPoolExecutor(2) as pool:
        for frame in pool.map(lambda load: load(), src.loaders()):
            ...

Every source has ``fps`` (exact, or None when unknown), ``time_base`` (seconds per pts tick),
``kind`` (``"raw"``: ``(H, W)`` mosaic + RawMeta; ``"rgb"``: ``(H, W, 3)`` display RGB, no
meta), ``audio_path`` (a container whose audio a sink may copy) and ``start`` (frames skipped
at the beginning, for resuming). ``len(src)`` counts the frames iteration yields (after
``start``); ``Frame.index`` and ``Frame.pts`` stay absolute, so a resumed run numbers its
output like the original. Live sources have no length: ``len()`` raises TypeError.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ..errors import ConfigError, MetadataError, NightvidError
from ..registry import Registry
from ..types import Frame

SOURCES: Registry[type[FrameSource]] = Registry("source")

#: NTSC-style rates (n * 1000 / 1001) that a decimal such as 29.97 or 23.976 stands for.
_NTSC_BASES = (24, 30, 48, 60, 120, 240)


class FrameSource:
    """Base class: ``with open_source(path) as src: for frame in src: ...``.

    Subclasses override :meth:`loaders` (frames that can decode in parallel) or
    :meth:`__iter__` (sequential decoders); the base class derives the other one.
    """

    path: Path = Path()
    fps: Fraction | None = None
    time_base: Fraction = Fraction(1, 1)
    kind: Literal["raw", "rgb"] = "raw"
    audio_path: Path | None = None
    start: int = 0

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        """Zero-argument callables, one per frame in order; each decodes and returns its frame.

        The default wraps :meth:`__iter__`: frames decode sequentially as the iterator advances
        and each callable just returns its frame. Errors of frame ``i`` raise when loader ``i``
        is produced or called, after frames ``0 .. i-1`` came out.
        """
        if type(self).__iter__ is FrameSource.__iter__:
            raise NotImplementedError(f"{type(self).__name__}: override loaders() or __iter__()")
        for frame in self:
            yield _ready(frame)

    def __iter__(self) -> Iterator[Frame]:
        for load in self.loaders():
            yield load()

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__}: a live source has no length")

    def close(self) -> None:
        """Release the source (files, decoders)."""


def _ready(frame: Frame) -> Callable[[], Frame]:
    """A loader for a frame that is already decoded."""
    return lambda: frame


def check_start(start: int) -> int:
    """Validate the ``start`` option (frames to skip): an int >= 0."""
    try:
        n = operator.index(start)  # int or NumPy integer; not float, str
    except TypeError:
        n = -1
    if isinstance(start, bool) or n < 0:
        raise ConfigError(f"start: expected an integer >= 0, got {start!r}")
    return n


def fps_from_sidecar(fps: Any, data: dict[str, Any], where: str, path: Path,
                     sidecar_name: str) -> Fraction:
    """``fps`` when given (it overrides), else the sidecar's ``"fps"``, else MetadataError."""
    if fps is not None:
        return parse_fps(fps, "fps")
    if data.get("fps") is not None:
        return parse_fps(data["fps"], f"{where}: fps", MetadataError)
    raise MetadataError(f"{path}: frame rate unknown; pass --fps or add \"fps\" to "
                        f"{sidecar_name}")


def parse_fps(value: Any, where: str,
              error: type[NightvidError] = ConfigError) -> Fraction:
    """A frame rate from a number, a Fraction or text ("24", "30000/1001", "29.97").

    Decimals that round an NTSC rate (23.976, 29.97, 59.94 ...) become the exact
    ``n * 1000 / 1001``, so timestamps do not drift over a long clip.

    >>> parse_fps(29.97, "fps"), parse_fps("25", "fps")
    (Fraction(30000, 1001), Fraction(25, 1))

    Raises:
        ``error`` (ConfigError by default): not a positive finite rate; names ``where``.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            rate = Fraction(str(value)) if math.isfinite(value) else Fraction(-1)
        else:
            rate = Fraction(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise error(f"{where}: expected a frame rate (24, 29.97, '30000/1001'), "
                    f"got {value!r}") from None
    if rate <= 0 or rate > 10000:
        raise error(f"{where}: expected a frame rate in (0, 10000], got {value!r}")
    # A decimal (e.g. 29.97, or a DNG's 2997/100) within 0.005 of n/1.001 means NTSC.
    base = round(rate * Fraction(1001, 1000))
    if rate.denominator > 1 and _is_decimal(rate) and base in _NTSC_BASES \
            and abs(rate - Fraction(base * 1000, 1001)) < Fraction(5, 1000):
        rate = Fraction(base * 1000, 1001)
    return rate


def _is_decimal(x: Fraction) -> bool:
    """True when ``x`` has a finite decimal expansion (denominator = 2^a 5^b)."""
    den = x.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def natural_key(name: str) -> tuple[list[Any], str]:
    """Sort key that orders embedded numbers by value: ``frame_2`` before ``frame_10``.

    Case is ignored; the name itself breaks ties (``f_010`` vs ``f_10``), so the order is total.

    >>> sorted(["f_10.dng", "f_2.dng", "F_1.dng"], key=natural_key)
    ['F_1.dng', 'f_2.dng', 'f_10.dng']
    """
    # re.split with a group alternates text, number, text ...: the types line up across keys.
    parts = [int(t) if i % 2 else t.lower() for i, t in enumerate(re.split(r"(\d+)", name))]
    return parts, name


@SOURCES.register("photo", suffixes=(".dng", ".arw", ".cr2", ".cr3", ".nef", ".nrw", ".raf",
                                     ".orf", ".rw2", ".pef", ".srw", ".erf", ".3fr", ".iiq",
                                     ".rwl", ".x3f", ".png", ".pgm", ".raw", ".bin"))
class PhotoSource(FrameSource):
    """A single raw photo as a stream of one frame (decoded lazily, by its loader)."""

    def __init__(self, path: str | Path, *, start: int = 0) -> None:
        self.path = Path(path)
        self.start = check_start(start)

    def __len__(self) -> int:
        return max(0, 1 - self.start)

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        if self.start == 0:
            yield self._load

    def _load(self) -> Frame:
        from . import open_raw

        mosaic, meta = open_raw(self.path)
        return Frame(data=mosaic, pts=0, time_base=Fraction(1, 1), meta=meta, index=0)
