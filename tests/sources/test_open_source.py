"""open_source picks the right source; FrameSource's loaders/iter defaults; parse_fps; registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nightvid.errors import ConfigError, MetadataError, SourceError
from nightvid.io.dng_write import write_dng
from nightvid.sources import (
    SOURCES,
    BayerStack,
    DngSequence,
    FrameSource,
    PhotoSource,
    RawVideoSource,
    RgbVideoSource,
    open_source,
)
from nightvid.sources.base import natural_key, parse_fps
from nightvid.types import Frame, RawMeta

H, W = 48, 64
META = RawMeta(black_level=(64.0,) * 4, white_level=4095.0, cfa="RGGB")
LEVELS = {"black_level": 64, "white_level": 4095, "cfa_pattern": "RGGB"}


def mosaic(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4096, (H, W)).astype(np.uint16)


def dng(path: Path, seed: int = 0) -> Path:
    return write_dng(path, mosaic(seed), META, bits=12, frame_rate=Fraction(24))


class TestDispatch:
    def test_folder_is_dng_sequence(self, tmp_path: Path) -> None:
        for i in range(2):
            dng(tmp_path / f"f{i}.dng", i)
        src = open_source(tmp_path, start=1)
        assert isinstance(src, DngSequence) and src.start == 1 and len(src) == 1

    def test_folder_without_dng(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"no \.dng frames"):
            open_source(tmp_path)

    @pytest.mark.parametrize("suffix", [".npy", ".npz"])
    def test_stack(self, tmp_path: Path, suffix: str) -> None:
        p = tmp_path / f"s{suffix}"
        frames = np.stack([mosaic(0), mosaic(1)])
        np.save(p, frames) if suffix == ".npy" else np.savez(p, frames=frames)
        p.with_suffix(".json").write_text(json.dumps(LEVELS))
        src = open_source(p, fps=24)
        assert isinstance(src, BayerStack) and len(src) == 2

    @pytest.mark.parametrize("how", ["suffix", "pix_fmt", "sidecar"])
    def test_rawvideo(self, tmp_path: Path, how: str) -> None:
        name = {"suffix": "s.bayer", "pix_fmt": "s.dat", "sidecar": "s.raw"}[how]
        p = tmp_path / name
        p.write_bytes(mosaic().tobytes())
        if how == "sidecar":
            p.with_suffix(".json").write_text(json.dumps(
                {"pix_fmt": "bayer_rggb16le", "width": W, "height": H, "fps": 24}))
        kwargs = {} if how == "sidecar" else {"size": (W, H), "fps": 24}
        src = open_source(p, pix_fmt="bayer_rggb16le" if how == "pix_fmt" else None, **kwargs)
        assert isinstance(src, RawVideoSource)
        assert np.array_equal(next(iter(src)).data, mosaic())

    def test_video(self, tmp_path: Path) -> None:
        p = tmp_path / "v.MOV"
        with av.open(str(p), "w", format="mov") as c:
            s = c.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = W, H, "yuv420p"
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.zeros((H, W, 3), np.uint8), "rgb24")))
            c.mux(s.encode())
        src = open_source(p)
        assert isinstance(src, RgbVideoSource) and src.kind == "rgb" and len(src) == 1

    def test_photo(self, tmp_path: Path) -> None:
        src = open_source(dng(tmp_path / "one.DNG"))
        assert isinstance(src, PhotoSource) and len(src) == 1
        (frame,) = list(src)
        assert np.array_equal(frame.data, mosaic()) and frame.meta is not None
        assert list(open_source(tmp_path / "one.DNG", start=1)) == []

    def test_npr_png_with_plain_sidecar_stays_a_photo(self, tmp_path: Path) -> None:
        import cv2

        cv2.imwrite(str(tmp_path / "n.png"), mosaic())
        (tmp_path / "n.json").write_text(json.dumps(LEVELS))
        assert isinstance(open_source(tmp_path / "n.png"), PhotoSource)

    def test_unknown_suffix_lists_supported(self, tmp_path: Path) -> None:
        p = tmp_path / "clip.xyz"
        p.write_bytes(b"?")
        with pytest.raises(SourceError, match=r"clip\.xyz: unsupported input '\.xyz'.*\.npz.*"
                                              r"\.bayer.*\.mp4.*\.dng"):
            open_source(p)

    def test_missing(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"nothing\.mp4: no such file or folder"):
            open_source(tmp_path / "nothing.mp4")

    def test_registered_for_nightvid_list(self) -> None:
        assert {"dng_seq", "bayer_stack", "rawvideo", "rgb_video", "photo"} <= set(SOURCES.names())
        assert SOURCES.for_path("a.npz")[1] is BayerStack
        assert SOURCES.for_path("a.webm")[1] is RgbVideoSource
        assert SOURCES.for_path("a.bayer")[1] is RawVideoSource


class _Seq(FrameSource):
    """A sequential source that only defines __iter__."""

    def __iter__(self) -> Iterator[Frame]:
        for i in range(3):
            yield Frame(data=np.full((4, 4), i, np.uint16), index=i)


class TestFrameSourceDefaults:
    def test_loaders_wrap_iter_in_order(self) -> None:
        with ThreadPoolExecutor(2) as pool:
            frames = list(pool.map(lambda load: load(), _Seq().loaders()))
        assert [f.index for f in frames] == [0, 1, 2]
        assert [int(f.data[0, 0]) for f in frames] == [0, 1, 2]

    def test_iter_calls_loaders(self, tmp_path: Path) -> None:
        src = PhotoSource(dng(tmp_path / "p.dng"))  # defines loaders() only
        assert [f.index for f in src] == [0]

    def test_neither_overridden(self) -> None:
        with pytest.raises(NotImplementedError, match="FrameSource: override"):
            list(FrameSource())

    def test_live_source_has_no_len(self) -> None:
        with pytest.raises(TypeError, match="no length"):
            len(_Seq())

    def test_defaults(self) -> None:
        src = _Seq()
        assert (src.fps, src.time_base, src.kind, src.audio_path, src.start) == (
            None, Fraction(1), "raw", None, 0)

    @pytest.mark.parametrize("start", [-1, 1.5, "2", True])
    def test_bad_start(self, tmp_path: Path, start: object) -> None:
        with pytest.raises(ConfigError, match="start: expected an integer >= 0"):
            PhotoSource(tmp_path / "x.dng", start=start)  # type: ignore[arg-type]


class TestHelpers:
    @pytest.mark.parametrize(("value", "rate"), [
        (24, Fraction(24)), ("25", Fraction(25)), (29.97, Fraction(30000, 1001)),
        ("23.976", Fraction(24000, 1001)), (Fraction(2997, 100), Fraction(30000, 1001)),
        ("30000/1001", Fraction(30000, 1001)), (12.5, Fraction(25, 2)), ("59.94",
                                                                          Fraction(60000, 1001)),
    ])
    def test_parse_fps(self, value: object, rate: Fraction) -> None:
        assert parse_fps(value, "fps") == rate

    @pytest.mark.parametrize("value", [0, -24, "fast", float("nan"), None, "1/0", True])
    def test_parse_fps_rejects(self, value: object) -> None:
        with pytest.raises(ConfigError, match="fps: expected a frame rate"):
            parse_fps(value, "fps")

    def test_parse_fps_error_class(self) -> None:
        with pytest.raises(MetadataError, match="x.json: fps"):
            parse_fps("zero", "x.json: fps", MetadataError)

    def test_natural_key(self) -> None:
        names = ["a_10.dng", "a1b2.dng", "A_010.dng", "a_9.dng", "b_1.dng", "a_10b.dng",
                 "a1b.dng"]
        assert sorted(names, key=natural_key) == ["a1b2.dng", "a1b.dng", "a_9.dng",
                                                  "A_010.dng", "a_10.dng", "a_10b.dng",
                                                  "b_1.dng"]
