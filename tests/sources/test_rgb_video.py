"""RgbVideoSource: RGB frames with the stream's timing, lossless round trips, audio, start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nightvid.errors import SourceError
from nightvid.sources.rgb_video import RgbVideoSource

N, H, W = 5, 48, 64


def rgb_frames(n: int = N, deep: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    hi, dtype = (65536, np.uint16) if deep else (256, np.uint8)
    return [rng.integers(0, hi, (H, W, 3)).astype(dtype) for _ in range(n)]


def encode(path: Path, frames: list[np.ndarray], codec: str, pix_fmt: str,
           rate: Fraction = Fraction(25), audio: bool = False) -> Path:
    """Encode RGB frames with PyAV (plus a short silent AAC track when ``audio``)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        a = c.add_stream("aac", rate=48000) if audio else None
        fmt = "rgb48le" if frames[0].dtype == np.uint16 else "rgb24"
        for img in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format=fmt)))
        c.mux(s.encode())
        if a is not None:
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts = 48000, 0
            c.mux(a.encode(af))
            c.mux(a.encode())
    return path


class TestRead:
    def test_lossless_8bit_exact(self, tmp_path: Path) -> None:
        frames = rgb_frames()
        p = encode(tmp_path / "v.mkv", frames, "ffv1", "bgr0", rate=Fraction(30000, 1001))
        with RgbVideoSource(p) as src:
            out = list(src)
            assert src.kind == "rgb" and src.fps == Fraction(30000, 1001)
            assert len(src) == N and src.size == (W, H) and src.audio_path is None
        for i, f in enumerate(out):
            assert f.meta is None and f.index == i and f.data.shape == (H, W, 3)
            assert f.data.dtype == np.uint8 and np.array_equal(f.data, frames[i])
        # mkv: millisecond time base, pts in it.
        assert out[0].time_base == Fraction(1, 1000)
        assert [f.pts for f in out] == [round(i * 1001 / 30) for i in range(N)]

    def test_lossless_16bit_is_uint16(self, tmp_path: Path) -> None:
        frames = rgb_frames(deep=True)
        src = RgbVideoSource(encode(tmp_path / "v.mkv", frames, "ffv1", "gbrp16le"))
        out = list(src)
        assert out[0].data.dtype == np.uint16
        assert all(np.array_equal(f.data, frames[f.index]) for f in out)

    def test_h264_mp4_with_audio(self, tmp_path: Path) -> None:
        frames = [np.full((H, W, 3), (40 * i, 200, 90), np.uint8) for i in range(N)]
        p = encode(tmp_path / "v.mp4", frames, "libx264", "yuv420p", audio=True)
        src = RgbVideoSource(p)
        assert src.audio_path == p and src.fps == 25 and len(src) == N
        out = list(src)
        assert [f.pts * f.time_base for f in out] == [Fraction(i, 25) for i in range(N)]
        for f in out:  # lossy, flat colour: within a few codes
            assert np.abs(f.data.astype(int) - frames[f.index]).max() <= 4

    def test_fps_argument_conforms_timestamps(self, tmp_path: Path) -> None:
        p = encode(tmp_path / "v.mkv", rgb_frames(), "ffv1", "bgr0")
        out = list(RgbVideoSource(p, fps=50))
        assert [(f.pts, f.time_base) for f in out] == [(i, Fraction(1, 50)) for i in range(N)]

    def test_start_skips_keeps_absolute_index(self, tmp_path: Path) -> None:
        frames = rgb_frames()
        src = RgbVideoSource(encode(tmp_path / "v.mkv", frames, "ffv1", "bgr0"), start=3)
        out = list(src)
        assert len(src) == 2 and [f.index for f in out] == [3, 4]
        assert out[0].pts == 120 and np.array_equal(out[0].data, frames[3])

    def test_loaders_in_a_thread_pool_keep_order(self, tmp_path: Path) -> None:
        frames = rgb_frames()
        src = RgbVideoSource(encode(tmp_path / "v.mkv", frames, "ffv1", "bgr0"))
        with ThreadPoolExecutor(2) as pool:
            out = list(pool.map(lambda load: load(), src.loaders()))
        assert [f.index for f in out] == list(range(N))
        assert all(np.array_equal(f.data, frames[f.index]) for f in out)


class TestErrors:
    def test_not_a_video(self, tmp_path: Path) -> None:
        p = tmp_path / "fake.mp4"
        p.write_bytes(b"not a video at all" * 20)
        with pytest.raises(SourceError, match=r"fake\.mp4: cannot open as video"):
            RgbVideoSource(p)

    def test_no_video_stream(self, tmp_path: Path) -> None:
        p = tmp_path / "sound.mkv"
        with av.open(str(p), "w") as c:
            a = c.add_stream("aac", rate=48000)
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts = 48000, 0
            c.mux(a.encode(af))
            c.mux(a.encode())
        with pytest.raises(SourceError, match=r"sound\.mkv: no video stream"):
            RgbVideoSource(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"gone\.mp4: no such file"):
            RgbVideoSource(tmp_path / "gone.mp4")
