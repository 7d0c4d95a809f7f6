"""RawVideoSource: every FFmpeg Bayer format read bit-exactly; sidecar, defaults, errors, start."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nightvid.errors import ConfigError, MetadataError, SourceError
from nightvid.sources.rawvideo import BAYER_PIX_FMTS, RawVideoSource

N, H, W = 4, 48, 64
_STORED = {"8": np.uint8, "16le": "<u2", "16be": ">u2"}


def frames_for(pix_fmt: str, n: int = N, h: int = H, w: int = W) -> np.ndarray:
    """(n, h, w) samples in the dtype ``pix_fmt`` stores, distinct per frame."""
    depth = pix_fmt[10:]
    hi = 256 if depth == "8" else 65536
    return np.random.default_rng(3).integers(0, hi, (n, h, w)).astype(_STORED[depth])


def write_stream(path: Path, frames: np.ndarray, sidecar: dict | None = None) -> Path:
    path.write_bytes(frames.tobytes())
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


class TestRead:
    @pytest.mark.parametrize("pix_fmt", BAYER_PIX_FMTS)
    def test_every_bayer_format_bit_exact(self, tmp_path: Path, pix_fmt: str) -> None:
        frames = frames_for(pix_fmt)
        p = write_stream(tmp_path / "s.bayer", frames)
        src = RawVideoSource(p, pix_fmt=pix_fmt, size=(W, H), fps=24)
        out = list(src)
        assert len(src) == N and len(out) == N
        for i, f in enumerate(out):
            assert f.data.dtype == np.uint16 and f.data.shape == (H, W)
            assert np.array_equal(f.data, frames[i].astype(np.uint16))
            assert f.index == f.pts == i and f.time_base == Fraction(1, 24)
            assert f.meta is not None and f.meta.cfa == pix_fmt[6:10].upper()

    def test_sidecar_gives_layout_rate_and_levels(self, tmp_path: Path) -> None:
        frames = frames_for("bayer_gbrg16be")
        side = {"pix_fmt": "bayer_gbrg16be", "width": W, "height": H, "fps": "30000/1001",
                "black_level": 256, "white_level": 4095, "as_shot_neutral": [0.5, 1, 0.7]}
        src = RawVideoSource(write_stream(tmp_path / "s.rawvideo", frames, side))
        assert src.pix_fmt == "bayer_gbrg16be" and src.size == (W, H)
        assert src.fps == Fraction(30000, 1001)
        assert src.meta.black_level == (256,) * 4 and src.meta.white_level == 4095
        assert src.meta.as_shot_neutral == (0.5, 1.0, 0.7)
        assert "black_level" not in src.meta.assumed and src.meta.origin["cfa"].startswith("pix")
        f = list(src)[2]
        assert np.array_equal(f.data, frames[2].astype(np.uint16))
        assert f.meta is not None and f.meta.timestamp_s == pytest.approx(2 * 1001 / 30000)

    def test_arguments_override_sidecar(self, tmp_path: Path) -> None:
        side = {"pix_fmt": "bayer_rggb8", "width": 8, "height": 8, "fps": 10}
        frames = frames_for("bayer_bggr16le")
        src = RawVideoSource(write_stream(tmp_path / "s.bayer", frames, side),
                             pix_fmt="bayer_bggr16le", size=f"{W}x{H}", fps=50)
        assert (src.pix_fmt, src.size, src.fps) == ("bayer_bggr16le", (W, H), 50)
        assert np.array_equal(next(iter(src)).data, frames[0])

    def test_default_levels_warn_listing_assumed(self, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
        p = write_stream(tmp_path / "warned.bayer", frames_for("bayer_rggb8"))
        with caplog.at_level(logging.WARNING, logger="nightvid"):
            src = RawVideoSource(p, pix_fmt="bayer_rggb8", size=(W, H), fps=24)
        assert src.meta.black_level == (0,) * 4 and src.meta.white_level == 255
        assert src.meta.assumed[:2] == ("black_level", "white_level")
        assert "warned.bayer" in caplog.text and "black_level, white_level" in caplog.text

    def test_odd_size_cropped_to_even(self, tmp_path: Path) -> None:
        frames = frames_for("bayer_grbg16le", h=H + 1, w=W + 1)
        p = write_stream(tmp_path / "s.bayer", frames)
        f = next(iter(RawVideoSource(p, pix_fmt="bayer_grbg16le", size=(W + 1, H + 1), fps=24)))
        assert np.array_equal(f.data, frames[0, :H, :W])

    def test_start_skips_without_reading(self, tmp_path: Path) -> None:
        frames = frames_for("bayer_rggb16le", n=6)
        src = RawVideoSource(write_stream(tmp_path / "s.bayer", frames),
                             size=(W, H), fps=24, start=4)
        out = list(src)
        assert len(src) == 2 and [(f.index, f.pts) for f in out] == [(4, 4), (5, 5)]
        assert np.array_equal(out[0].data, frames[4])
        assert list(RawVideoSource(src.path, size=(W, H), fps=24, start=6)) == []

    def test_loaders_in_a_thread_pool_keep_order(self, tmp_path: Path) -> None:
        frames = frames_for("bayer_rggb16le", n=8)
        src = RawVideoSource(write_stream(tmp_path / "s.bayer", frames), size=(W, H), fps=24)
        with ThreadPoolExecutor(2) as pool:
            out = list(pool.map(lambda load: load(), src.loaders()))
        assert [f.index for f in out] == list(range(8))
        assert all(np.array_equal(f.data, frames[f.index]) for f in out)


class TestErrors:
    def test_truncated_last_frame_names_file_and_index(self, tmp_path: Path) -> None:
        p = tmp_path / "cut.bayer"
        p.write_bytes(frames_for("bayer_rggb16le").tobytes()[:-100])
        src = RawVideoSource(p, size=(W, H), fps=24)
        assert len(src) == N  # the partial frame counts: it is where the error shows
        loaders = src.loaders()
        assert [next(loaders)().index for _ in range(N - 1)] == [0, 1, 2]
        with pytest.raises(SourceError, match=r"cut\.bayer: frame 3 is truncated"):
            next(loaders)()

    def test_unknown_pix_fmt_lists_known(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"))
        with pytest.raises(ConfigError, match=r"pix_fmt: expected a Bayer .*bayer_grbg16be.*"
                                              r"'rgb24'"):
            RawVideoSource(p, pix_fmt="rgb24", size=(W, H), fps=24)

    def test_bad_pix_fmt_in_sidecar_names_sidecar(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"),
                         {"pix_fmt": "bayer_rggb12le", "width": W, "height": H, "fps": 24})
        with pytest.raises(MetadataError, match=r"s\.json: pix_fmt"):
            RawVideoSource(p)

    def test_missing_size(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"))
        with pytest.raises(MetadataError, match=r"s\.bayer: frame size unknown.*--size"):
            RawVideoSource(p, pix_fmt="bayer_rggb8", fps=24)

    def test_missing_fps(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"))
        with pytest.raises(MetadataError, match=r"s\.bayer: frame rate unknown.*--fps"):
            RawVideoSource(p, pix_fmt="bayer_rggb8", size=(W, H))

    def test_bad_size(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"))
        with pytest.raises(ConfigError, match="size: expected"):
            RawVideoSource(p, pix_fmt="bayer_rggb8", size="64by48", fps=24)

    def test_sidecar_cfa_contradicting_pix_fmt(self, tmp_path: Path) -> None:
        p = write_stream(tmp_path / "s.bayer", frames_for("bayer_rggb8"),
                         {"cfa_pattern": "BGGR"})
        with pytest.raises(MetadataError, match=r"s\.json: cfa_pattern 'BGGR' contradicts"):
            RawVideoSource(p, pix_fmt="bayer_rggb8", size=(W, H), fps=24)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"nope\.bayer: no such file"):
            RawVideoSource(tmp_path / "nope.bayer", size=(W, H), fps=24)
