"""ImageSequenceSink and open_sink routing: formats, depths, naming, resume, errors."""

from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from nightvid.errors import ShapeError, SinkError
from nightvid.sinks.av_video import VideoSink
from nightvid.sinks.base import SINKS, open_sink
from nightvid.sinks.image_seq import ImageSequenceSink

FPS = Fraction(24)


def frames(n: int, dtype: type = np.uint8, h: int = 12, w: int = 16, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, np.iinfo(dtype).max + 1, (h, w, 3), dtype=dtype) for _ in range(n)]


def read(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert bgr is not None, path
    return bgr[..., ::-1]


class TestOpenSink:
    @pytest.mark.parametrize("name,cls", [
        ("o.mp4", VideoSink), ("O.MOV", VideoSink), ("o.mkv", VideoSink),
        ("f_%05d.png", ImageSequenceSink), ("frames", ImageSequenceSink),
        ("one.jpg", ImageSequenceSink)])
    def test_routing_by_suffix_pattern_or_folder(self, tmp_path, name, cls):
        sink = open_sink(tmp_path / name, fps=FPS)
        assert type(sink) is cls
        sink.close()

    def test_registry(self):
        assert {"images", "video"} <= set(SINKS.names())
        assert SINKS.suffixes()[".mp4"] == "video" and SINKS.suffixes()[".tif"] == "images"

    def test_unknown_suffix_lists_known(self, tmp_path):
        with pytest.raises(SinkError, match=r"o\.avi: no sink handles '\.avi'; known: .*\.mp4"):
            open_sink(tmp_path / "o.avi", fps=FPS)

    def test_bad_fps(self, tmp_path):
        with pytest.raises(SinkError, match=r"fps: expected > 0, got 0"):
            open_sink(tmp_path / "o.mp4", fps=Fraction(0))

    def test_images_carry_no_audio(self, tmp_path):
        with pytest.raises(SinkError, match=r"f_%03d\.png: image sequences carry no audio"):
            open_sink(tmp_path / "f_%03d.png", fps=FPS, audio_from=tmp_path / "a.mp4")


class TestFormats:
    @pytest.mark.parametrize("name,dtype,bits", [
        ("f_%03d.png", np.uint8, 8), ("f_%03d.png", np.uint16, 16), ("f_%03d.tif", np.uint16, 16)])
    def test_lossless_round_trip(self, tmp_path, name, dtype, bits):
        clip = frames(3, dtype)
        with open_sink(tmp_path / name, fps=FPS, bit_depth=bits) as sink:
            for frame in clip:
                sink.write(frame)
        assert sink.frames_written == 3
        for i, frame in enumerate(clip):
            np.testing.assert_array_equal(read(tmp_path / name.replace("%03d", f"{i:03d}")),
                                          frame)

    def test_depth_conversions(self, tmp_path):
        with open_sink(tmp_path / "a_%d.png", fps=FPS, bit_depth=16) as sink:
            sink.write(np.full((2, 2, 3), 0xAB, np.uint8))  # 8 -> 16: 0xAB -> 0xABAB
        assert (read(tmp_path / "a_0.png") == 0xABAB).all()
        values = np.array([0, 128, 129, 32896, 65535], np.uint16)  # 16 -> 8 rounds
        with open_sink(tmp_path / "b_%d.png", fps=FPS) as sink:
            sink.write(np.repeat(values[None, :, None], 3, 2))
        assert read(tmp_path / "b_0.png")[0, :, 0].tolist() == [0, 0, 1, 128, 255]
        with open_sink(tmp_path / "c_%d.tif", fps=FPS) as sink:  # TIFF is always 16-bit
            sink.write(np.full((2, 2, 3), 1, np.uint8))
        assert read(tmp_path / "c_0.tif").dtype == np.uint16

    def test_jpeg(self, tmp_path):
        smooth = np.repeat(np.linspace(0, 255, 16)[None, :, None], 12, 0).repeat(3, 2)
        with open_sink(tmp_path / "j_%02d.jpg", fps=FPS, quality=95) as sink:
            sink.write(smooth.astype(np.uint8))
        assert np.abs(read(tmp_path / "j_00.jpg").astype(float) - smooth).max() < 8

    def test_folder_with_format(self, tmp_path):
        with open_sink(tmp_path / "out", fps=FPS, codec="tiff") as sink:
            for frame in frames(2, np.uint16):
                sink.write(frame)
        assert sorted(os.listdir(tmp_path / "out")) == ["frame_000000.tif", "frame_000001.tif"]

    def test_single_image_takes_one_frame(self, tmp_path):
        with open_sink(tmp_path / "photo.png", fps=FPS, bit_depth=16) as sink:
            sink.write(frames(1, np.uint16)[0])
            with pytest.raises(SinkError, match=r"photo\.png: a single image holds one frame"):
                sink.write(frames(1, np.uint16)[0])
        assert os.listdir(tmp_path) == ["photo.png"]


class TestResume:
    def test_resume_counts_complete_frames(self, tmp_path):
        pattern = tmp_path / "f_%05d.png"
        with open_sink(pattern, fps=FPS) as sink:
            for frame in frames(5):
                sink.write(frame)
        before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
        stale = tmp_path / ".f_00005.png.k2j3.part"  # write_image's temporary from a killed run
        stale.write_bytes(b"half a png")
        with open_sink(pattern, fps=FPS, resume=True) as sink:
            assert isinstance(sink, ImageSequenceSink)
            assert sink.resume_from == sink.next_index == 5
            assert not stale.exists()
            for frame in frames(3, seed=1):
                sink.write(frame)
        assert sink.frames_written == 3
        assert sorted(os.listdir(tmp_path)) == [f"f_{i:05d}.png" for i in range(8)]
        assert all((tmp_path / n).stat().st_mtime_ns == t for n, t in before.items())

    def test_resume_stops_at_the_first_gap(self, tmp_path):
        with open_sink(tmp_path / "frames", fps=FPS) as sink:
            for frame in frames(4):
                sink.write(frame)
        (tmp_path / "frames" / "frame_000002.png").unlink()
        assert open_sink(tmp_path / "frames", fps=FPS, resume=True).resume_from == 2

    def test_resume_of_nothing_and_of_a_single_image(self, tmp_path):
        assert open_sink(tmp_path / "new", fps=FPS, resume=True).resume_from == 0
        cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((2, 2, 3), np.uint8))
        assert open_sink(tmp_path / "photo.png", fps=FPS, resume=True).resume_from == 1


class TestErrors:
    @pytest.mark.parametrize("name,kwargs,message", [
        ("f_%d_%d.png", {}, r"f_%d_%d\.png: expected one frame-number field"),
        ("f_%d.bmp", {}, r"f_%d\.bmp: unknown image format '\.bmp'"),
        ("f_%d.png", {"bit_depth": 10}, r"f_%d\.png: bit_depth: expected 8 or 16"),
        ("f_%d.png", {"codec": "tiff"}, r"f_%d\.png: image format 'tiff' does not match"),
        ("out", {"codec": "webp"}, r"out: image format: expected one of png, tiff, jpeg"),
        ("missing/f_%d.png", {}, r"missing/f_%d\.png: output folder .* does not exist"),
        ("missing/deeper", {}, r"missing/deeper: output folder .* does not exist"),
    ])
    def test_bad_paths_and_options(self, tmp_path, name, kwargs, message):
        with pytest.raises(SinkError, match=message):
            open_sink(tmp_path / name, fps=FPS, **kwargs)

    def test_size_change_and_bad_arrays(self, tmp_path):
        with open_sink(tmp_path / "f_%d.png", fps=FPS) as sink:
            sink.write(frames(1)[0])
            with pytest.raises(SinkError, match=r"f_%d\.png: frame 1 is 8x6, expected 16x12"):
                sink.write(frames(1, h=6, w=8)[0])
            with pytest.raises(ShapeError, match="display: expected"):
                sink.write(np.zeros((12, 16, 4), np.uint8))
        assert sorted(os.listdir(tmp_path)) == ["f_0.png"]

    def test_disk_full_leaves_no_partial_frame(self, tmp_path, monkeypatch):
        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        sink = open_sink(tmp_path / "f_%d.png", fps=FPS)
        with pytest.raises(SinkError, match=r"f_0\.png: cannot write \(disk full\)"):
            sink.write(frames(1)[0])
        assert os.listdir(tmp_path) == [] and sink.frames_written == 0
