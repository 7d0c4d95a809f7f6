"""DngSequence: natural order, FrameRate/TimeCodes tags, exact pixels, per-frame errors, start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nightvid.errors import ConfigError, MetadataError, SourceError
from nightvid.io.dng_write import write_dng
from nightvid.sources.dng_seq import DngSequence, decode_timecode
from nightvid.types import RawMeta

H, W = 48, 64
RATE = Fraction(24000, 1001)
META = RawMeta(black_level=(64.0, 64.0, 64.0, 64.0), white_level=4095.0, cfa="GRBG",
               as_shot_neutral=(0.5, 1.0, 0.6), camera="Seq Cam")


def timecode_bytes(hh: int, mm: int, ss: int, ff: int, drop: bool = False) -> bytes:
    """SMPTE 12M BCD, as CinemaDNG's TimeCodes tag stores it (frames byte first)."""
    def bcd(v: int) -> int:
        return (v // 10) << 4 | v % 10

    return bytes([bcd(ff) | (0x40 if drop else 0), bcd(ss), bcd(mm), bcd(hh), 0, 0, 0, 0])


def mosaic(i: int, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 4096, (h, w)).astype(np.uint16)


def write_seq(folder: Path, names: list[str], *, rate: Fraction | None = RATE) -> list[Path]:
    """One 12-bit DNG per name; frame k (in ``names`` order) holds mosaic(k), TC 01:00:00:k."""
    folder.mkdir(exist_ok=True)
    return [write_dng(folder / n, mosaic(k), META, bits=12, frame_rate=rate,
                      time_code=timecode_bytes(1, 0, 0, k)) for k, n in enumerate(names)]


@pytest.fixture
def seq(tmp_path: Path) -> Path:
    write_seq(tmp_path / "clip", [f"frame_{i:04d}.dng" for i in range(5)])
    return tmp_path / "clip"


class TestRead:
    def test_frames_timing_and_pixels(self, seq: Path) -> None:
        with DngSequence(seq) as src:
            frames = list(src)
            assert len(src) == 5 and src.fps == RATE and src.time_base == 1 / RATE
            assert src.size == (W, H) and src.kind == "raw" and src.audio_path is None
        for i, f in enumerate(frames):
            assert f.index == i and f.pts == i and f.time_base == Fraction(1001, 24000)
            assert f.data.dtype == np.uint16 and np.array_equal(f.data, mosaic(i))
            assert f.meta is not None and f.meta.cfa == "GRBG"
            assert f.meta.black_level == META.black_level
            assert f.meta.timestamp_s == pytest.approx(i * 1001 / 24000)
            assert f.timecode == f"01:00:00:{i:02d}"

    def test_natural_order_and_any_case_suffix(self, tmp_path: Path) -> None:
        # Written in this order, so frame k of the stream must hold mosaic(k).
        names = ["frame_1.dng", "frame_2.DNG", "frame_10.dng", "frame_11.Dng"]
        write_seq(tmp_path / "c", names)
        (tmp_path / "c" / "notes.txt").write_text("not a frame")
        src = DngSequence(tmp_path / "c")
        assert [p.name for p in src.files] == names
        for k, f in enumerate(src):
            assert np.array_equal(f.data, mosaic(k))

    def test_fps_argument_overrides_tag(self, seq: Path) -> None:
        src = DngSequence(seq, fps=25)
        assert src.fps == 25 and next(iter(src)).time_base == Fraction(1, 25)

    def test_fps_argument_when_no_tag(self, tmp_path: Path) -> None:
        write_seq(tmp_path / "c", ["a_0.dng", "a_1.dng"], rate=None)
        assert DngSequence(tmp_path / "c", fps="29.97").fps == Fraction(30000, 1001)

    def test_start_skips_frames_keeps_absolute_index(self, seq: Path) -> None:
        src = DngSequence(seq, start=3)
        frames = list(src)
        assert len(src) == 2 and [f.index for f in frames] == [3, 4]
        assert [f.pts for f in frames] == [3, 4] and np.array_equal(frames[0].data, mosaic(3))
        assert len(DngSequence(seq, start=9)) == 0 and list(DngSequence(seq, start=9)) == []

    def test_loaders_in_a_thread_pool_keep_order(self, seq: Path) -> None:
        src = DngSequence(seq)
        with ThreadPoolExecutor(2) as pool:
            frames = list(pool.map(lambda load: load(), src.loaders()))
        assert [f.index for f in frames] == list(range(5))
        assert all(np.array_equal(f.data, mosaic(f.index)) for f in frames)


class TestErrors:
    def test_empty_folder(self, tmp_path: Path) -> None:
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "a.txt").write_text("x")
        with pytest.raises(SourceError, match=r"empty: no \.dng frames"):
            DngSequence(tmp_path / "empty")

    def test_not_a_folder(self, seq: Path) -> None:
        with pytest.raises(SourceError, match="frame_0000.dng: not a folder"):
            DngSequence(seq / "frame_0000.dng")

    def test_no_frame_rate_says_pass_fps(self, tmp_path: Path) -> None:
        write_seq(tmp_path / "c", ["a_0.dng"], rate=None)
        with pytest.raises(MetadataError, match=r"a_0\.dng: no FrameRate tag.*--fps"):
            DngSequence(tmp_path / "c")

    def test_bad_start(self, seq: Path) -> None:
        with pytest.raises(ConfigError, match="start"):
            DngSequence(seq, start=-1)

    def test_size_mismatch_raises_at_that_frame(self, seq: Path) -> None:
        write_dng(seq / "frame_0003.dng", mosaic(3, h=H - 4), META, bits=12)
        src = DngSequence(seq)
        it = iter(src)
        assert [next(it).index for _ in range(3)] == [0, 1, 2]
        with pytest.raises(SourceError, match=r"frame_0003\.dng: size 64x44 differs from the "
                                              r"sequence's 64x48"):
            next(it)

    @pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
    def test_corrupt_frame_named_after_earlier_frames(self, seq: Path, damage: str) -> None:
        bad = seq / "frame_0002.dng"
        blob = bad.read_bytes()
        bad.write_bytes({"truncate": blob[: len(blob) // 2], "garbage": b"\x00junk" * 50,
                         "empty": b""}[damage])
        loaders = DngSequence(seq).loaders()  # opening does not touch frame 2
        assert [next(loaders)().index for _ in range(2)] == [0, 1]
        with pytest.raises(SourceError, match=r"frame_0002\.dng"):
            next(loaders)()


class TestTimecode:
    @pytest.mark.parametrize(("args", "text"), [
        ((23, 59, 59, 29), "23:59:59:29"),
        ((0, 0, 0, 0), "00:00:00:00"),
        ((10, 20, 30, 12, True), "10:20:30;12"),
    ])
    def test_bcd(self, args: tuple, text: str) -> None:
        assert decode_timecode(timecode_bytes(*args)) == text

    @pytest.mark.parametrize("code", [None, b"\x01\x02", bytes([0x0A, 0, 0, 0, 0, 0, 0, 0]),
                                      bytes([0, 0x60, 0, 0, 0, 0, 0, 0])])
    def test_malformed_is_none(self, code: bytes | None) -> None:
        assert decode_timecode(code) is None


def test_real_cinemadng_tags(tmp_path: Path) -> None:
    """A real Blackmagic CinemaDNG frame: FrameRate 30, TimeCodes 08:01:55:14."""
    import shutil

    from _helpers.data import require

    real = require("raw/cinemadng/Blackmagic.dng")
    (tmp_path / "bm").mkdir()
    shutil.copy(real, tmp_path / "bm" / "BM_000001.dng")
    src = DngSequence(tmp_path / "bm")
    (frame,) = list(src)
    assert src.fps == 30 and frame.timecode == "08:01:55:14"
    assert frame.data.shape == (src.size[1], src.size[0])
