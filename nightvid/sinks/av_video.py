"""Video files through PyAV: H.264, HEVC, ProRes 422 HQ and FFV1, tagged BT.709.

Colour: display RGB becomes Y'CbCr here, in float32 with the exact BT.709 matrix (ITU-R
BT.709-6: Kr = 0.2126, Kb = 0.0722), not through swscale, whose 16-bit RGB path is off by up
to ~0.4 %. Chroma is subsampled co-sited with the left sample ([1, 2, 1] / 4 across, the
H.264/HEVC default chroma location) and averaged down for 4:2:0. Tags go on the codec context
and on every frame, so they reach the bitstream and the container: primaries 1 (BT.709),
transfer 1 (BT.709), matrix 1 (BT.709); range limited ("tv") for h264/hevc/prores and full
("pc") for ffv1, a lossless intermediate where every code value counts.

Interrupt safety: .mp4/.mov are fragmented MP4 (``empty_moov``; a fragment at each keyframe,
every ~1 s, and at least every 0.5 s), flushed to the OS as each fragment completes, so a
killed process leaves a file that plays up to its last complete fragment; .mkv writes a
cluster per second. A SIGKILL loses the frames inside the encoder (lookahead capped at half a
GOP, plus frame threads; see ``frames_buffered``) and the unfinished fragment: about one
second. Odd sizes for 4:2:0 (odd widths for 4:2:2) raise SinkError at the first
frame: sources crop to even sizes (DESIGN.md), so an odd size is an upstream bug that silent
cropping would hide.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from ..errors import SinkError
from .base import SINKS, FrameSink, SinkOptions

_KR, _KB = 0.2126, 0.0722  # BT.709 luma coefficients
BT709 = 1  # H.273 code point shared by primaries, transfer and matrix
RANGE_LIMITED, RANGE_FULL = 1, 2  # AVColorRange: MPEG ("tv") and JPEG ("pc")


@dataclass(frozen=True)
class CodecSpec:
    """How one codec is driven: encoder, pixel format per bit depth, range, options."""

    encoder: str
    pix_fmts: dict[int, str]
    full_range: bool
    containers: tuple[str, ...]
    default_quality: int | None = None  # None: lossless, takes no quality
    quality_range: tuple[int, int] = (0, 0)
    options: dict[str, str] = field(default_factory=dict)


CODECS: dict[str, CodecSpec] = {
    "h264": CodecSpec("libx264", {8: "yuv420p", 10: "yuv420p10le"}, False,
                      (".mp4", ".mov", ".mkv"), 18, (0, 51)),
    "hevc": CodecSpec("libx265", {8: "yuv420p", 10: "yuv420p10le"}, False,
                      (".mp4", ".mov", ".mkv"), 20, (0, 51)),
    # ProRes is 10-bit whatever is asked: 8-bit input loses nothing in it.
    "prores": CodecSpec("prores_ks", {8: "yuv422p10le", 10: "yuv422p10le"}, False,
                        (".mov", ".mkv"), 3, (0, 3), {"vendor": "apl0"}),
    "ffv1": CodecSpec("ffv1", {8: "yuv444p", 10: "yuv444p10le", 12: "yuv444p12le",
                               16: "yuv444p16le"}, True, (".mkv",), None, (0, 0),
                      {"level": "3", "slicecrc": "1"}),
}
ALIASES = {"h265": "hevc", "avc": "h264", "x264": "h264", "x265": "hevc"}
DEFAULT_CODEC = {".mp4": "h264", ".mov": "prores", ".mkv": "ffv1"}
# Fragmented MP4: a moov without samples up front, then self-contained moof+mdat fragments.
# A fragment at each keyframe and at least every 0.5 s; flush_packets hands each finished
# fragment to the OS at once, not when 32 KiB have piled up in PyAV's buffer.
_MP4_OPTIONS = {"movflags": "+frag_keyframe+empty_moov+default_base_moof+write_colr",
                "frag_duration": "500000", "flush_packets": "1"}


def rgb_to_ycbcr(display: np.ndarray, bits: int, full_range: bool, sub_x: int,
                 sub_y: int) -> list[np.ndarray]:
    """BT.709 Y'CbCr planes of display RGB, quantised to ``bits``.

    Args:
        display: (H, W, 3) uint8 or uint16, full-range gamma-encoded RGB.
        bits: output bits per sample (8 to 16).
        full_range: full ("pc") quantisation instead of limited ("tv", 16-235 at 8 bits).
        sub_x: chroma subsampling across (1 or 2); W must be a multiple.
        sub_y: chroma subsampling down (1 or 2); H must be a multiple.

    Returns:
        [Y (H, W), Cb (H/sub_y, W/sub_x), Cr (same)], uint8 for 8 bits else uint16.

    >>> red = np.zeros((2, 2, 3), np.uint8); red[..., 0] = 255
    >>> [int(p[0, 0]) for p in rgb_to_ycbcr(red, 8, False, 2, 2)]
    [63, 102, 240]
    """
    rgb = display.astype(np.float32) * np.float32(1 / np.iinfo(display.dtype).max)
    y = _KR * rgb[..., 0] + (1 - _KR - _KB) * rgb[..., 1] + _KB * rgb[..., 2]
    cb = (rgb[..., 2] - y) * np.float32(0.5 / (1 - _KB))
    cr = (rgb[..., 0] - y) * np.float32(0.5 / (1 - _KR))
    if sub_x == 2:  # co-sited with even columns: [1, 2, 1] / 4, edge sample repeated
        cb, cr = (_half_width(c) for c in (cb, cr))
    if sub_y == 2:  # (H, w) -> (H/2, w)
        cb, cr = ((c[0::2] + c[1::2]) * np.float32(0.5) for c in (cb, cr))
    top = (1 << bits) - 1
    if full_range:
        y_gain, c_gain, y_off = top, top, 0.0
    else:
        y_gain, c_gain, y_off = 219 << (bits - 8), 224 << (bits - 8), 16 << (bits - 8)
    dtype = np.uint8 if bits == 8 else np.uint16
    c_off = 1 << (bits - 1)
    planes = [y * y_gain + y_off, cb * c_gain + c_off, cr * c_gain + c_off]
    return [np.clip(np.rint(p), 0, top).astype(dtype) for p in planes]


def _half_width(c: np.ndarray) -> np.ndarray:
    odd = c[:, 1::2]
    left = np.concatenate([c[:, :1], odd[:, :-1]], axis=1)  # c[2i-1], c[0] at the edge
    return (left + 2 * c[:, 0::2] + odd) * np.float32(0.25)


@SINKS.register("video", suffixes=tuple(DEFAULT_CODEC))
class VideoSink(FrameSink):
    """Encode display frames into a video file (colour and interrupt safety: module docstring).

    Args:
        path: ``.mp4``, ``.mov`` or ``.mkv``; its folder must exist. The file is created at the
            first frame, so a sink closed before any frame leaves nothing behind.
        fps: exact frame rate, e.g. ``Fraction(24000, 1001)``.
        codec: ``h264``, ``hevc``, ``prores`` or ``ffv1``; ``None`` picks from the suffix
            (.mp4 h264, .mov prores, .mkv ffv1).
        bit_depth: 8 or 10 (ffv1 also 12 and 16; ProRes is always 10-bit).
        quality: CRF for h264 (default 18) and hevc (20); ProRes profile 0-3 (3 = 422 HQ).
        audio_from: a container whose audio is carried over (see :class:`AudioRemux`).
        time_base: time base of the pts given to ``write``; ``None`` means ``1 / fps``.
        preset: x264/x265 speed preset (default ``medium``).

    Raises:
        SinkError: unknown suffix or codec, codec/container or bit depth that do not fit, a
            missing folder, an ``audio_from`` without audio.
    """

    def __init__(self, path: str | Path, *, fps: Fraction, codec: str | None = None,
                 bit_depth: int = 8, quality: int | None = None,
                 audio_from: str | Path | None = None, time_base: Fraction | None = None,
                 preset: str | None = None) -> None:
        super().__init__(path)
        suffix = self.path.suffix.lower()
        if suffix not in DEFAULT_CODEC:
            raise SinkError(f"{self.path}: expected a .mp4, .mov or .mkv file, got {suffix!r}")
        name = (codec or DEFAULT_CODEC[suffix]).lower()
        name = ALIASES.get(name, name)
        spec = CODECS.get(name)
        if spec is None:
            raise SinkError(f"{self.path}: codec: expected one of {', '.join(CODECS)}, "
                            f"got {codec!r}")
        if suffix not in spec.containers:
            raise SinkError(f"{self.path}: {name} does not fit {suffix}; use "
                            f"{' or '.join(spec.containers)}")
        if bit_depth not in spec.pix_fmts:
            raise SinkError(f"{self.path}: {name} bit_depth: expected one of "
                            f"{', '.join(map(str, spec.pix_fmts))}, got {bit_depth}")
        if quality is not None and spec.default_quality is None:
            raise SinkError(f"{self.path}: {name} is lossless and takes no quality")
        low, high = spec.quality_range
        if quality is not None and not low <= quality <= high:
            raise SinkError(f"{self.path}: {name} quality: expected {low}..{high}, got {quality}")
        _check_target(self.path)
        self.codec, self.spec, self.fps, self.preset = name, spec, Fraction(fps), preset
        self.pix_fmt = spec.pix_fmts[bit_depth]
        fmt = av.VideoFormat(self.pix_fmt)
        self._bits = fmt.components[0].bits
        self._sub = (2 // fmt.chroma_width(2), 2 // fmt.chroma_height(2))  # chroma (x, y) step
        self.time_base = Fraction(time_base) if time_base is not None else 1 / self.fps
        self.quality = spec.default_quality if quality is None else int(quality)
        self._audio = AudioRemux(Path(audio_from), self.path) if audio_from is not None else None
        self._out: tuple[av.container.OutputContainer, av.VideoStream] | None = None
        self._last_pts: int | None = None
        self._packets = 0  # video packets out of the encoder
        self._failed = False  # PyAV segfaults when muxing again after a failed mux

    @classmethod
    def from_options(cls, path: Path, options: SinkOptions) -> VideoSink:
        if options.resume:
            raise SinkError(f"{path}: a video file cannot be resumed; write an image sequence "
                            "(out/frame_%05d.png) to resume an interrupted job")
        return cls(path, fps=options.fps, codec=options.codec, bit_depth=options.bit_depth,
                   quality=options.quality, audio_from=options.audio_from,
                   time_base=options.time_base)

    @property
    def frames_buffered(self) -> int:
        """Frames handed to the encoder that have not come out yet (lost if killed now)."""
        return self._count - self._packets

    @property
    def gop_size(self) -> int:
        """Frames between keyframes: about one second, so a kill loses little."""
        return 1 if self.codec == "ffv1" else max(1, round(self.fps))

    def write(self, display: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame (see :meth:`FrameSink.write`); a rejected frame changes nothing."""
        display = self._check_display(display)
        (h, w), (sub_x, sub_y) = display.shape[:2], self._sub
        if w % sub_x or h % sub_y:
            raise SinkError(f"{self.path}: frame {self.next_index} is {w}x{h}; {self.codec} "
                            f"{self.pix_fmt} needs a width divisible by {sub_x} and a height by "
                            f"{sub_y} (crop upstream, or use ffv1)")
        if self._failed:
            raise SinkError(f"{self.path}: frame {self.next_index} not written: an earlier "
                            "write failed")
        pts = self._next_pts(pts)
        frame = self._frame(rgb_to_ycbcr(display, self._bits, self.spec.full_range, sub_x, sub_y),
                            w, h, pts)
        try:
            if self._out is None:
                self._out = self._open(w, h)
            container, stream = self._out
            for packet in stream.encode(frame):
                container.mux(packet)
                self._packets += 1
            if self._audio is not None:
                self._audio.mux_until(container, float((pts + self._duration()) * self.time_base))
        except (av.FFmpegError, OSError) as exc:
            self._failed = True
            raise _write_error(self.path, exc) from None
        self._last_pts = pts
        self._count += 1

    def close(self) -> None:
        """Flush the encoder, add the remaining audio and write the trailer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        out, self._out = self._out, None
        try:
            if out is not None and not self._failed:
                container, stream = out
                for packet in stream.encode(None):
                    container.mux(packet)
                if self._audio is not None and self._last_pts is not None:
                    end = (self._last_pts + self._duration()) * self.time_base
                    self._audio.mux_until(container, float(end), final=True)
        except (av.FFmpegError, OSError) as exc:
            raise _write_error(self.path, exc) from None
        finally:
            if self._audio is not None:
                self._audio.close()
            if out is not None:  # writes the trailer (mfra index, mkv cues); safe after errors
                out[0].close()

    def _next_pts(self, pts: int | None) -> int:
        pts = round(self.next_index / (self.fps * self.time_base)) if pts is None else int(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            raise SinkError(f"{self.path}: frame {self.next_index} pts {pts} is not after the "
                            f"previous pts {self._last_pts}")
        return pts

    def _duration(self) -> int:
        return max(1, round(1 / (self.fps * self.time_base)))

    def _frame(self, planes: list[np.ndarray], w: int, h: int, pts: int) -> av.VideoFrame:
        frame = av.VideoFrame(w, h, self.pix_fmt)
        for plane, data in zip(frame.planes, planes, strict=True):
            # (plane.height, line_size / itemsize): padded rows; fill the visible part
            rows = np.frombuffer(memoryview(plane), data.dtype).reshape(plane.height, -1)
            rows[:, : data.shape[1]] = data
        frame.pts, frame.time_base, frame.duration = pts, self.time_base, self._duration()
        # tags on the frame too: FFmpeg 8's prores_ks writes the frame's, not the context's
        frame.color_primaries = frame.color_trc = frame.colorspace = BT709
        frame.color_range = RANGE_FULL if self.spec.full_range else RANGE_LIMITED
        return frame

    def _open(self, w: int, h: int) -> tuple[av.container.OutputContainer, av.VideoStream]:
        mp4 = self.path.suffix.lower() in (".mp4", ".mov")
        options = dict(_MP4_OPTIONS) if mp4 else {"cluster_time_limit": "1000"}
        if self.codec == "prores":  # all-intra: a fragment per half second, not per frame
            options["min_frag_duration"] = "500000"
        container = av.open(str(self.path), "w", container_options=options)
        try:
            stream = cast(av.VideoStream, container.add_stream(self.spec.encoder, rate=self.fps))
            cc = stream.codec_context
            cc.width, cc.height, cc.pix_fmt, cc.gop_size = w, h, self.pix_fmt, self.gop_size
            cc.time_base = stream.time_base = self.time_base
            cc.color_primaries = cc.color_trc = cc.colorspace = BT709
            cc.color_range = RANGE_FULL if self.spec.full_range else RANGE_LIMITED
            cc.options = self._codec_options()
            if mp4 and self.codec in ("h264", "hevc"):
                # A fragmented file has no edit list to hide the B-frame reorder delay: FFmpeg
                # readers would see every pts 2 frames late (and audio out of sync). Without
                # B-frames pts stay exact, at roughly 10 % more bits for the same CRF.
                cc.max_b_frames = 0
                if self.codec == "hevc":
                    cc.codec_tag = "hvc1"  # parameter sets in hvcC: what Apple players need
            if self._audio is not None:
                self._audio.add_stream(container)
        except BaseException:
            container.close()
            raise
        return container, stream

    def _codec_options(self) -> dict[str, str]:
        options = dict(self.spec.options)
        if self.codec in ("h264", "hevc"):
            # Lookahead of half a GOP, not x264's 40 / x265's 20 frames: it bounds the frames
            # held inside the encoder, which a killed process loses.
            lookahead = max(1, self.gop_size // 2)
            options["crf"] = str(self.quality)
            options["preset"] = self.preset or "medium"
            if self.codec == "h264":
                options["rc-lookahead"] = str(lookahead)
            else:
                options["x265-params"] = f"log-level=error:rc-lookahead={lookahead}"
        elif self.codec == "prores":
            options["profile"] = str(self.quality)
        return options


def _check_target(path: Path) -> None:
    # FFmpeg opens even a folder "for writing" and fails only at the first flush: check first.
    if not path.parent.is_dir():
        raise SinkError(f"{path}: output folder {path.parent} does not exist")
    if path.is_dir():
        raise SinkError(f"{path}: is a folder, expected a video file name")
    if not os.access(path.parent, os.W_OK):
        raise SinkError(f"{path}: output folder {path.parent} is not writable")


def _write_error(path: Path, exc: BaseException, what: str = "cannot write") -> SinkError:
    code = getattr(exc, "errno", None)
    reason = "disk full" if code == errno.ENOSPC else (getattr(exc, "strerror", None) or str(exc))
    return SinkError(f"{path}: {what} ({reason})")


class AudioRemux:
    """Carry the first audio stream of ``source`` into a video output, interleaved as we go.

    Packets are copied untouched when the target container plays the codec well (.mp4: AAC,
    MP3, AC-3, E-AC-3, ALAC; .mov: those and PCM; .mkv: anything its muxer takes), otherwise
    decoded and re-encoded to AAC. Timestamps are kept, so the audio lines up with video whose
    pts start where the source's do (frame index from 0, or the source's own pts). Audio past
    the end of the video is dropped.
    """

    _COPY = {".mp4": {"aac", "mp3", "ac3", "eac3", "alac"},
             ".mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le",
                      "pcm_s24be", "pcm_f32le"}}

    def __init__(self, source: Path, target: Path) -> None:
        self.source, self.target = source, target
        try:
            self._input = av.open(str(source))
        except (av.FFmpegError, OSError) as exc:
            raise _write_error(target, exc, f"cannot read audio_from {source}") from None
        if not self._input.streams.audio:
            self._input.close()
            raise SinkError(f"{target}: audio_from {source} has no audio stream")
        self._in = self._input.streams.audio[0]
        self._packets = self._input.demux(self._in)
        self._pending: av.Packet | None = None
        self._out: av.AudioStream | None = None
        self.copy = False

    def add_stream(self, container: av.container.OutputContainer) -> None:
        """Add the output audio stream (before the first packet is muxed)."""
        name = self._in.codec_context.name
        allowed = self._COPY.get(self.target.suffix.lower())
        self.copy = name in container.supported_codecs and (allowed is None or name in allowed)
        if self.copy:
            self._out = container.add_stream_from_template(self._in)
        else:
            self._out = container.add_stream("aac", rate=self._in.codec_context.sample_rate)
            layout = self._in.codec_context.layout
            named = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(layout.nb_channels)
            if named is not None and "channels" in layout.name:  # "1 channels": AAC refuses
                layout = av.AudioLayout(named)
            self._out.codec_context.layout = layout

    def mux_until(self, container: av.container.OutputContainer, end_s: float,
                  final: bool = False) -> None:
        """Mux the audio that starts before ``end_s`` seconds; ``final`` also flushes."""
        while True:
            packet, self._pending = self._pending or next(self._packets, None), None
            if packet is None:
                break
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None or packet.time_base is None:
                continue  # the demuxer's empty end-of-stream packet
            if ts * packet.time_base >= end_s:
                self._pending = packet
                break
            self._mux(container, packet)
        if final and not self.copy and self._out is not None:
            for frame in self._in.codec_context.decode(None):
                self._encode(container, frame)
            for out_packet in self._out.encode(None):
                container.mux(out_packet)

    def _mux(self, container: av.container.OutputContainer, packet: av.Packet) -> None:
        if self.copy:
            packet.stream = self._out
            container.mux(packet)
            return
        for frame in self._in.codec_context.decode(packet):
            self._encode(container, frame)

    def _encode(self, container: av.container.OutputContainer, frame: av.AudioFrame) -> None:
        for out_packet in self._out.encode(frame) if self._out is not None else ():
            container.mux(out_packet)

    def close(self) -> None:
        self._input.close()
