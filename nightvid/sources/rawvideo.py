"""Headerless Bayer video (FFmpeg's ``rawvideo`` with a ``bayer_*`` pixel format) via PyAV.

Every Bayer pixel format FFmpeg knows is read: ``bayer_{rggb,bggr,gbrg,grbg}{8,16le,16be}``.
The CFA comes from the format name. FFmpeg's demuxer cuts the stream into frames; each
packet's bytes are the frame's samples, which become an ``(H, W)`` uint16 mosaic unchanged
(8-bit samples widened, big-endian swapped): FFmpeg never demosaics or rescales them.

Size, format and rate come from the arguments, else a JSON sidecar beside the file::

    {"pix_fmt": "bayer_grbg16le", "width": 1920, "height": 1080, "fps": "30000/1001",
     "black_level": 256, "white_level": 4095, ...}

The rest of the sidecar uses the NPR/plain vocabulary of :mod:`.sidecar_meta`. Without levels,
black is 0 and white the format's maximum, with a warning naming every assumed field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import ConfigError, MetadataError, SourceError
from ..types import Frame, RawMeta
from ..warnings_once import warn
from .base import SOURCES, FrameSource, check_start, fps_from_sidecar
from .sidecar_meta import find_sidecar, load_sidecar, meta_from_sidecar, parse_cfa

__all__ = ["BAYER_PIX_FMTS", "DEFAULT_PIX_FMT", "RawVideoSource"]

#: FFmpeg's Bayer pixel formats: pattern x (8-bit, 16-bit little-endian, 16-bit big-endian).
BAYER_PIX_FMTS = tuple(f"bayer_{cfa}{depth}" for cfa in ("rggb", "bggr", "gbrg", "grbg")
                       for depth in ("8", "16le", "16be"))
DEFAULT_PIX_FMT = "bayer_rggb16le"
_DTYPES: dict[str, np.dtype[Any]] = {
    "8": np.dtype(np.uint8), "16le": np.dtype("<u2"), "16be": np.dtype(">u2")}
#: pixel format -> (CFA, sample dtype as stored).
_LAYOUT: dict[str, tuple[str, np.dtype[Any]]] = {
    f: (f[6:10].upper(), _DTYPES[f[10:]]) for f in BAYER_PIX_FMTS}


def _parse_size(value: Any, where: str) -> tuple[int, int]:
    try:
        if isinstance(value, str):
            value = value.lower().split("x")
        w, h = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected (width, height) or 'WxH', got {value!r}") from None
    if w < 4 or h < 4:
        raise ConfigError(f"{where}: expected a frame of at least 4x4, got {w}x{h}")
    return w, h


@SOURCES.register("rawvideo", suffixes=(".bayer", ".rawvideo"))
class RawVideoSource(FrameSource):
    """A headerless Bayer stream, frame after frame, as a raw stream.

    Args:
        path: the stream file.
        pix_fmt: one of :data:`BAYER_PIX_FMTS`; else the sidecar's ``pix_fmt``, else
            ``bayer_rggb16le`` (with a warning).
        size: (width, height) or ``"WxH"``; else the sidecar's ``width``/``height``.
        fps: frame rate; else the sidecar's ``fps``.
        meta_sidecar: the JSON sidecar, when it is not ``<stem>.json`` beside ``path``.
        start: frames to skip at the beginning (resume): the demuxer starts at that byte
            offset, nothing before it is read. Frame.index and pts stay absolute.
    Attributes:
        pix_fmt, size, meta, frame_bytes: the resolved layout and metadata.
    Raises:
        ConfigError: unknown pixel format, bad size or rate in the arguments.
        MetadataError: size or rate unknown, sidecar CFA contradicting ``pix_fmt``.
        SourceError: missing file, FFmpeg cannot open it. A truncated last frame raises
            from that frame's loader, naming the file and frame index.

    Frames are ``(H, W)`` uint16 (cropped to even), ``pts = index``, ``time_base = 1 / fps``.
    """

    def __init__(self, path: str | Path, *, pix_fmt: str | None = None,
                 size: tuple[int, int] | str | None = None,
                 fps: Fraction | float | str | None = None,
                 meta_sidecar: str | Path | None = None, start: int = 0) -> None:
        self.path = p = Path(path)
        self.start = check_start(start)
        if not p.is_file():
            raise SourceError(f"{p}: no such file")
        sidecar = Path(meta_sidecar) if meta_sidecar is not None else find_sidecar(p)
        data = load_sidecar(sidecar) if sidecar is not None else {}
        where = str(sidecar) if sidecar is not None else f"{p} (no sidecar)"
        self.pix_fmt = self._resolve_pix_fmt(pix_fmt, data, where)
        if size is not None:
            self.size = _parse_size(size, "size")
        elif data.get("width") is not None and data.get("height") is not None:
            self.size = _parse_size((data["width"], data["height"]), f"{where}: width/height")
        else:
            raise MetadataError(f"{p}: frame size unknown; pass --size WxH or add "
                                f"\"width\"/\"height\" to {p.with_suffix('.json').name}")
        self.fps = fps_from_sidecar(fps, data, where, p, p.with_suffix(".json").name)
        self.time_base = 1 / self.fps
        cfa, self._dtype = _LAYOUT[self.pix_fmt]
        w, h = self.size
        self.frame_bytes = w * h * self._dtype.itemsize
        self.meta = _stream_meta(data, sidecar or p.with_suffix(".json"), p, self.pix_fmt,
                                 cfa, float(np.iinfo(self._dtype).max))
        self._container: Any = None

    def _resolve_pix_fmt(self, pix_fmt: str | None, data: dict[str, Any], where: str) -> str:
        if pix_fmt is not None:
            fmt, origin = pix_fmt, "pix_fmt"
        elif data.get("pix_fmt") is not None:
            fmt, origin = str(data["pix_fmt"]), f"{where}: pix_fmt"
        else:
            warn(f"{self.path}: no pix_fmt given or in a sidecar; assuming {DEFAULT_PIX_FMT}")
            return DEFAULT_PIX_FMT
        fmt = fmt.strip().lower()
        if fmt not in _LAYOUT:
            error = ConfigError if pix_fmt is not None else MetadataError
            raise error(f"{origin}: expected a Bayer pixel format "
                        f"({', '.join(BAYER_PIX_FMTS)}), got {fmt!r}")
        return fmt

    def __len__(self) -> int:
        total = -(-self.path.stat().st_size // self.frame_bytes)  # a partial frame counts
        return max(0, total - self.start)

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        w, h = self.size
        fps = self.fps or Fraction(1)
        options = {"pixel_format": self.pix_fmt, "video_size": f"{w}x{h}",
                   "framerate": f"{fps.numerator}/{fps.denominator}"}
        if self.start:
            options["skip_initial_bytes"] = str(self.start * self.frame_bytes)
        index = self.start
        try:
            with av.open(str(self.path), format="rawvideo", options=options) as container:
                self._container = container
                for packet in container.demux(video=0):
                    if packet.size == 0:  # the demuxer's end-of-stream flush packet
                        continue
                    yield partial(self._convert, packet, index)
                    index += 1
        except av.FFmpegError as exc:
            raise SourceError(f"{self.path}: frame {index}: FFmpeg cannot read it "
                              f"({exc})") from None
        finally:
            self._container = None

    def _convert(self, packet: av.Packet, index: int) -> Frame:
        if packet.size < self.frame_bytes:
            raise SourceError(f"{self.path}: frame {index} is truncated ({packet.size} of "
                              f"{self.frame_bytes} bytes)")
        w, h = self.size
        samples = np.frombuffer(memoryview(packet), dtype=self._dtype, count=w * h).reshape(h, w)
        # astype copies (off the packet), widens 8-bit and byte-swaps big-endian samples.
        mosaic = samples[: h // 2 * 2, : w // 2 * 2].astype(np.uint16, order="C")
        meta = self.meta.replace(timestamp_s=float(index * self.time_base))
        return Frame(data=mosaic, pts=index, time_base=self.time_base, meta=meta, index=index)

    def close(self) -> None:
        """Close the demuxer of an iteration still in progress."""
        if self._container is not None:
            self._container.close()
            self._container = None


def _stream_meta(data: dict[str, Any], sidecar: Path, path: Path, pix_fmt: str, cfa: str,
                 max_value: float) -> RawMeta:
    """RawMeta from the sidecar, with the CFA from ``pix_fmt`` and default levels."""
    fields = dict(data)
    if fields.get("cfa_pattern") is not None and parse_cfa(fields["cfa_pattern"],
                                                           str(sidecar)) != cfa:
        raise MetadataError(f"{sidecar}: cfa_pattern {fields['cfa_pattern']!r} contradicts "
                            f"pix_fmt {pix_fmt} ({cfa})")
    fields["cfa_pattern"] = cfa
    defaulted = []
    for key, default in (("black_level", 0.0), ("white_level", max_value)):
        if fields.get(key) is None:
            fields[key] = default
            defaulted.append(key)
    meta = meta_from_sidecar(fields, sidecar, path)
    origin = {k: v for k, v in meta.origin.items() if k not in defaulted}
    origin["cfa"] = f"pix_fmt {pix_fmt}"
    meta = meta.replace(origin=origin, assumed=(*defaulted, *meta.assumed))
    if meta.assumed:
        warn(f"{path}: metadata not given, assumed: {', '.join(meta.assumed)} (black 0, white "
             f"{max_value:g} for levels; add them to {sidecar.name})")
    return meta
