"""VideoSink: codec x bit depth matrix, colour tags, timing, audio, interrupt safety, errors.

Every file is written to ``tmp_path`` and read back with PyAV; no timing assertions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nightvid.errors import ShapeError, SinkError
from nightvid.sinks.av_video import VideoSink, rgb_to_ycbcr
from nightvid.sinks.base import open_sink

NTSC = Fraction(24000, 1001)
H, W = 48, 64


def clip(n: int = 12, dtype: type = np.uint8, seed: int = 0, h: int = H, w: int = W) -> list:
    """Seeded gradient + grain: a smooth colour ramp, luma noise and faint chroma noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([0.2 + 0.6 * xx / (w - 1), 0.15 + 0.7 * yy / (h - 1),
                     0.8 - 0.5 * xx / (w - 1)], -1)
    top = np.iinfo(dtype).max
    frames = []
    for _ in range(n):
        img = base + rng.normal(0, 0.004, (h, w, 1)) + rng.normal(0, 0.003, (h, w, 3))
        frames.append(np.rint(np.clip(img, 0, 1) * top).astype(dtype))
    return frames


def write(path: Path, frames: list, **kwargs) -> Path:
    with VideoSink(path, fps=kwargs.pop("fps", NTSC), **kwargs) as sink:
        for frame in frames:
            sink.write(frame)
        assert sink.frames_written == len(frames)
    return path


def decode(path: Path) -> tuple[av.VideoStream, list[av.VideoFrame]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream, list(container.decode(stream))


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame -> (H, W, 3) float RGB in [0, 1], honouring its matrix and range tags."""
    rgb = frame.to_ndarray(format="rgb48le", src_colorspace=frame.colorspace,
                           src_color_range=frame.color_range, dst_color_range="JPEG")
    return rgb.astype(np.float64) / 65535


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Y, Cb, Cr planes of a decoded planar YUV frame, padding cut off."""
    dtype = np.uint8 if frame.format.components[0].bits == 8 else np.uint16
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype).reshape(plane.height, -1)
        out.append(rows[:, : plane.width])
    return out


MATRIX = [  # codec, bit depth, suffix, pixel format, range (1 tv, 2 pc), minimum PSNR
    ("h264", 8, ".mp4", "yuv420p", 1, 35),
    ("h264", 10, ".mp4", "yuv420p10le", 1, 35),
    ("hevc", 8, ".mp4", "yuv420p", 1, 35),
    ("hevc", 10, ".mp4", "yuv420p10le", 1, 35),
    ("prores", 10, ".mov", "yuv422p10le", 1, 38),
    ("ffv1", 8, ".mkv", "yuv444p", 2, 48),
    ("ffv1", 10, ".mkv", "yuv444p10le", 2, 58),
    ("ffv1", 16, ".mkv", "yuv444p16le", 2, 90),
]
DECODER = {"h264": "h264", "hevc": "hevc", "prores": "prores", "ffv1": "ffv1"}


class TestCodecMatrix:
    @pytest.mark.parametrize("codec,bits,suffix,pix_fmt,rng,min_psnr", MATRIX,
                             ids=[f"{m[0]}-{m[1]}" for m in MATRIX])
    def test_round_trip(self, tmp_path, codec, bits, suffix, pix_fmt, rng, min_psnr):
        frames = clip(12, np.uint8 if bits == 8 else np.uint16)
        path = write(tmp_path / f"out{suffix}", frames, codec=codec, bit_depth=bits)
        stream, decoded = decode(path)
        cc = stream.codec_context
        assert len(decoded) == 12
        assert stream.average_rate == NTSC
        assert (cc.name, cc.pix_fmt) == (DECODER[codec], pix_fmt)
        # BT.709 primaries, transfer and matrix, on the stream and on every frame
        assert (cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range) == (1, 1, 1, rng)
        for f in decoded:
            assert (f.color_primaries, f.color_trc, f.colorspace, f.color_range) == (1, 1, 1, rng)
        top = np.iinfo(frames[0].dtype).max
        got = np.stack([to_rgb(f) for f in decoded])
        assert psnr(got, np.stack(frames) / top) > min_psnr
        times = [float(f.pts * f.time_base) for f in decoded]
        tolerance = 1e-3 if suffix == ".mkv" else 1e-9  # Matroska stores milliseconds
        np.testing.assert_allclose(times, [i / float(NTSC) for i in range(12)], atol=tolerance)

    def test_hevc_in_mp4_is_tagged_hvc1(self, tmp_path):
        stream, _ = decode(write(tmp_path / "o.mp4", clip(3), codec="hevc"))
        assert stream.codec_context.codec_tag == "hvc1"

    def test_prores_is_422_hq(self, tmp_path):
        stream, _ = decode(write(tmp_path / "o.mov", clip(3)))  # .mov defaults to ProRes
        assert stream.codec_context.codec_tag == "apch"  # ProRes 422 HQ

    @pytest.mark.parametrize("suffix,codec", [(".mp4", "h264"), (".mov", "prores"),
                                              (".mkv", "ffv1")])
    def test_default_codec_from_suffix(self, tmp_path, suffix, codec):
        assert VideoSink(tmp_path / f"o{suffix}", fps=NTSC).codec == codec

    def test_uint8_into_10_bit_and_uint16_into_8_bit(self, tmp_path):
        for dtype, bits in ((np.uint8, 10), (np.uint16, 8)):
            frames = clip(4, dtype)
            _, decoded = decode(write(tmp_path / f"o{bits}.mp4", frames, bit_depth=bits))
            got = np.stack([to_rgb(f) for f in decoded])
            assert psnr(got, np.stack(frames) / np.iinfo(dtype).max) > 35


class TestColour:
    def test_conversion_golden_bt709(self):
        rgb = np.array([[[255, 0, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0]]], np.uint8)
        y, cb, cr = rgb_to_ycbcr(rgb, 8, False, 1, 1)
        assert y.tolist() == [[63, 32, 235, 16]]  # BT.601 would give 81 and 41 for red, blue
        assert cb.tolist() == [[102, 240, 128, 128]]
        assert cr.tolist() == [[240, 118, 128, 128]]
        y10, _, _ = rgb_to_ycbcr(rgb, 10, False, 1, 1)
        assert y10.tolist() == [[250, 127, 940, 64]]
        yf, cbf, crf = rgb_to_ycbcr(rgb, 10, True, 1, 1)
        assert yf.tolist() == [[217, 74, 1023, 0]] and crf[0, 0] == 1023 and cbf[0, 1] == 1023

    def test_16_bit_input_keeps_its_precision(self):
        grey = (np.arange(64, dtype=np.uint16) * 64 + 20000)[None, :, None].repeat(3, 2)
        y10, _, _ = rgb_to_ycbcr(grey, 10, False, 1, 1)
        y10_from_8, _, _ = rgb_to_ycbcr((grey >> 8).astype(np.uint8), 10, False, 1, 1)
        assert len(np.unique(y10)) > 3 * len(np.unique(y10_from_8))

    def test_chroma_is_cosited_left(self):
        rgb = np.zeros((2, 4, 3), np.uint8)
        rgb[:, 1] = (0, 0, 255)  # a blue column between chroma sites 0 and 2
        _, cb, _ = rgb_to_ycbcr(rgb, 8, True, 2, 2)
        assert cb.shape == (1, 2) and cb[0, 0] == cb[0, 1] > 128  # [1, 2, 1] / 4 shares it

    @pytest.mark.parametrize("codec,suffix,bits,expected", [
        ("h264", ".mp4", 8, (63, 102, 240)), ("ffv1", ".mkv", 10, (217, 395, 1023))])
    def test_flat_red_in_the_file(self, tmp_path, codec, suffix, bits, expected):
        red = np.zeros((H, W, 3), np.uint8)
        red[..., 0] = 255
        _, decoded = decode(write(tmp_path / f"r{suffix}", [red] * 3, codec=codec,
                                  bit_depth=bits))
        for plane, want in zip(planes(decoded[-1]), expected, strict=True):
            assert abs(int(np.median(plane)) - want) <= (0 if codec == "ffv1" else 1)


class TestTiming:
    def test_source_pts_and_time_base_are_kept(self, tmp_path):
        pts = [0, 3754, 7508, 11262, 18770, 22524]  # 90 kHz, ~24 fps, one frame missing (VFR)
        with VideoSink(tmp_path / "o.mp4", fps=Fraction(24), time_base=Fraction(1, 90000)) as s:
            for p, frame in zip(pts, clip(len(pts)), strict=True):
                s.write(frame, pts=p)
        _, decoded = decode(tmp_path / "o.mp4")
        assert [round(f.pts * f.time_base * 90000) for f in decoded] == pts

    def test_pts_must_increase(self, tmp_path):
        frames = clip(4)
        with VideoSink(tmp_path / "o.mp4", fps=NTSC) as sink:
            sink.write(frames[0], pts=0)
            sink.write(frames[1], pts=1)
            with pytest.raises(SinkError, match=r"o\.mp4: frame 2 pts 1 is not after"):
                sink.write(frames[2], pts=1)
            sink.write(frames[3], pts=2)
        assert len(decode(tmp_path / "o.mp4")[1]) == 3


def make_source(path: Path, audio_codec: str, seconds: float = 1.0, rate: int = 48000) -> Path:
    """A small clip with 24 fps video and a 440 Hz mono sine."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        audio = out.add_stream(audio_codec, rate=rate)
        audio.codec_context.layout = "mono"
        sine = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)
        fmt = "s16" if audio_codec.startswith("pcm") else "fltp"
        for start in range(0, len(sine), 1024):
            chunk = sine[start: start + 1024]
            data = (chunk * 32767).astype(np.int16) if fmt == "s16" else chunk.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(data[None], format=fmt, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for i in range(int(24 * seconds)):
            frame = av.VideoFrame.from_ndarray(np.zeros((H, W, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


class TestAudio:
    @pytest.mark.parametrize("source,target,codec,copied", [
        ("src.mp4", "o.mp4", "aac", True),  # AAC into MP4: packets copied
        ("src.mkv", "o.mp4", "aac", False),  # PCM does not play in MP4: re-encoded to AAC
        ("src.mkv", "o.mov", "pcm_s16le", True),  # ... but does in MOV
    ])
    def test_pass_through(self, tmp_path, source, target, codec, copied):
        src = make_source(tmp_path / source, "aac" if source.endswith("mp4") else "pcm_s16le")
        sink = VideoSink(tmp_path / target, fps=Fraction(24), audio_from=src,
                         codec="h264" if target.endswith("mp4") else "prores")
        with sink:
            for frame in clip(18):  # 0.75 s of video: the audio is cut to match
                sink.write(frame)
        assert sink._audio is not None and sink._audio.copy is copied
        with av.open(str(tmp_path / target)) as out:
            stream = out.streams.audio[0]
            assert stream.codec_context.name == codec
            samples = np.concatenate([f.to_ndarray().reshape(-1) for f in out.decode(stream)])
        seconds = len(samples) / stream.codec_context.sample_rate
        assert 0.75 <= seconds < 0.75 + 0.05
        spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
        peak_hz = np.argmax(spectrum) * stream.codec_context.sample_rate / len(samples)
        assert abs(peak_hz - 440) < 5
        assert len(decode(tmp_path / target)[1]) == 18

    def test_source_without_audio(self, tmp_path):
        silent = write(tmp_path / "silent.mp4", clip(2))
        with pytest.raises(SinkError, match=r"o\.mp4: audio_from .*silent\.mp4 has no audio"):
            VideoSink(tmp_path / "o.mp4", fps=NTSC, audio_from=silent)


CHILD = """
import sys
from fractions import Fraction
import numpy as np
from nightvid.sinks.av_video import VideoSink
rng = np.random.default_rng(0)
sink = VideoSink(sys.argv[1], fps=Fraction(10))
for i in range(100000):
    sink.write(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    print(sink.frames_written, sink.frames_buffered, flush=True)
"""


class TestInterruptSafety:
    # Unfinished fragment (mp4: < 0.5 s) or cluster (mkv: < 1 s) at 10 fps, plus the frame
    # being written.
    @pytest.mark.parametrize("name,unflushed", [("killed.mp4", 6), ("killed.mkv", 11)])
    def test_sigkill_leaves_a_playable_file(self, tmp_path, name, unflushed):
        path = tmp_path / name
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(path)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if len(lines) >= 40:
                break
        os.kill(child.pid, signal.SIGKILL)
        lines += child.stdout.read().splitlines()
        child.wait()
        written, buffered = map(int, lines[-1].split())
        assert written >= 40
        _, decoded = decode(path)
        # Lost: the frames inside the encoder plus the unflushed tail: about one GOP (10 frames
        # here) on two cores.
        assert written - buffered - unflushed <= len(decoded) <= written
        assert len(decoded) >= written - 2 * 10


class TestErrors:
    def test_bad_arguments(self, tmp_path):
        cases = [
            (dict(codec="vp9"), r"o\.mp4: codec: expected one of h264"),
            (dict(codec="prores"), r"o\.mp4: prores does not fit \.mp4"),
            (dict(bit_depth=12), r"o\.mp4: h264 bit_depth: expected one of 8, 10, got 12"),
        ]
        for kwargs, message in cases:
            with pytest.raises(SinkError, match=message):
                VideoSink(tmp_path / "o.mp4", fps=NTSC, **kwargs)
        with pytest.raises(SinkError, match=r"o\.mov: prores quality: expected 0\.\.3, got 4"):
            VideoSink(tmp_path / "o.mov", fps=NTSC, quality=4)
        with pytest.raises(SinkError, match=r"o\.mkv: ffv1 is lossless"):
            VideoSink(tmp_path / "o.mkv", fps=NTSC, quality=10)
        with pytest.raises(SinkError, match=r"o\.mp4: a video file cannot be resumed"):
            open_sink(tmp_path / "o.mp4", fps=NTSC, resume=True)

    def test_missing_or_unwritable_folder(self, tmp_path):
        with pytest.raises(SinkError, match=r"nowhere/o\.mp4: output folder .* does not exist"):
            VideoSink(tmp_path / "nowhere" / "o.mp4", fps=NTSC)
        (tmp_path / "dir.mp4").mkdir()
        with pytest.raises(SinkError, match=r"dir\.mp4: is a folder") as info:
            VideoSink(tmp_path / "dir.mp4", fps=NTSC)
        assert isinstance(info.value, OSError)

    @pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores modes")
    def test_read_only_folder(self, tmp_path):
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
        with pytest.raises(SinkError, match=r"ro/o\.mp4: output folder .* is not writable"):
            write(folder / "o.mp4", clip(1))

    def test_odd_size_for_420_is_refused_and_creates_nothing(self, tmp_path):
        odd = clip(1, h=48, w=65)[0]
        with pytest.raises(SinkError, match=r"o\.mp4: frame 0 is 65x48; h264 yuv420p needs"):
            write(tmp_path / "o.mp4", [odd])
        assert not (tmp_path / "o.mp4").exists()
        _, decoded = decode(write(tmp_path / "o.mkv", clip(2, h=49, w=65)))  # 4:4:4 takes it
        assert (decoded[0].width, decoded[0].height) == (65, 49)

    def test_size_change_names_file_and_frame(self, tmp_path):
        frames = clip(5)
        with VideoSink(tmp_path / "o.mp4", fps=NTSC) as sink:
            for frame in frames:
                sink.write(frame)
            with pytest.raises(SinkError, match=r"o\.mp4: frame 5 is 32x24, expected 64x48"):
                sink.write(clip(1, h=24, w=32)[0])
        assert len(decode(tmp_path / "o.mp4")[1]) == 5

    def test_bad_display_array(self, tmp_path):
        sink = VideoSink(tmp_path / "o.mp4", fps=NTSC)
        with pytest.raises(ShapeError, match=r"display: expected \(H, W, 3\) uint8 or uint16"):
            sink.write(np.zeros((H, W, 3), np.float32))
        with pytest.raises(ShapeError, match="display"):
            sink.write(np.zeros((H, W), np.uint8))
        sink.close()
        with pytest.raises(SinkError, match="write after close"):
            sink.write(clip(1)[0])

    def test_exception_inside_with_still_finalises(self, tmp_path):
        with pytest.raises(KeyboardInterrupt):
            with VideoSink(tmp_path / "o.mp4", fps=NTSC) as sink:
                for frame in clip(5):
                    sink.write(frame)
                raise KeyboardInterrupt
        assert len(decode(tmp_path / "o.mp4")[1]) == 5

    def test_no_frames_no_file_and_close_twice(self, tmp_path):
        sink = VideoSink(tmp_path / "o.mp4", fps=NTSC)
        sink.close()
        sink.close()
        assert not (tmp_path / "o.mp4").exists()

    @pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
    def test_disk_full(self, tmp_path):
        (tmp_path / "full.mp4").symlink_to("/dev/full")  # every write fails with ENOSPC
        sink = VideoSink(tmp_path / "full.mp4", fps=Fraction(24))
        frames = clip(60, seed=1)
        with pytest.raises(SinkError, match=r"full\.mp4: cannot write \(disk full\)"):
            for frame in frames:
                sink.write(frame)
        with pytest.raises(SinkError, match="an earlier write failed"):
            sink.write(frames[0])
        sink.close()  # must not crash (PyAV segfaults when muxing after a failed mux)
