"""Frame sources: iterables of :class:`~nightvid.types.Frame` that are context managers."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

from ..registry import Registry
from ..types import Frame

SOURCES: Registry[type[FrameSource]] = Registry("source")


class FrameSource:
    """Base class: ``with SOURCES...(path) as src: for frame in src: ...``."""

    fps: Fraction | None = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release the source (files, decoders)."""


@SOURCES.register("photo", suffixes=(".dng", ".arw", ".cr2", ".cr3", ".nef", ".nrw", ".raf",
                                     ".orf", ".rw2", ".pef", ".srw", ".erf", ".3fr", ".iiq",
                                     ".rwl", ".x3f", ".png", ".pgm", ".raw", ".bin"))
class PhotoSource(FrameSource):
    """A single raw photo as a stream of one frame (decoded lazily, on iteration)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[Frame]:
        from . import open_raw

        mosaic, meta = open_raw(self.path)
        yield Frame(data=mosaic, pts=0, time_base=Fraction(1, 1), meta=meta, index=0)
