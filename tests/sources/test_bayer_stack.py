"""BayerStack: .npy (memory-mapped) and .npz stacks with a JSON sidecar; errors name the file."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nightvid.errors import MetadataError, SourceError
from nightvid.sources.bayer_stack import BayerStack

N, H, W = 4, 48, 64
SIDECAR = {"black_level": [60, 61, 62, 63], "white_level": 4095, "cfa_pattern": [1, 0, 2, 1],
           "as_shot_neutral": [0.5, 1.0, 0.6], "fps": 25}


def stack(n: int = N, h: int = H, w: int = W, dtype: type = np.uint16) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 4096, (n, h, w)).astype(dtype)


def write(path: Path, frames: np.ndarray | dict[str, np.ndarray],
          sidecar: dict | None = SIDECAR, compressed: bool = False) -> Path:
    """``frames`` to .npy, or a dict of named arrays to .npz; plus the sidecar."""
    if isinstance(frames, dict):
        (np.savez_compressed if compressed else np.savez)(path, **frames)
    else:
        np.save(path, frames)
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


class TestRead:
    def test_npy_frames_timing_meta(self, tmp_path: Path) -> None:
        frames = stack()
        src = BayerStack(write(tmp_path / "s.npy", frames))
        assert isinstance(src._frames, np.memmap)  # read frame by frame, not loaded whole
        assert len(src) == N and src.fps == 25 and src.size == (W, H) and src.kind == "raw"
        out = list(src)
        for i, f in enumerate(out):
            assert np.array_equal(f.data, frames[i]) and f.data.dtype == np.uint16
            assert f.index == f.pts == i and f.time_base == Fraction(1, 25)
            assert f.meta is not None and f.meta.cfa == "GRBG"
            assert f.meta.timestamp_s == pytest.approx(i / 25)
        # Black levels by 2x2 position GR/BG -> planes R, Gr, Gb, B.
        assert out[0].meta is not None and out[0].meta.black_level == (61, 60, 63, 62)

    @pytest.mark.parametrize("compressed", [False, True])
    def test_npz_prefers_frames_key(self, tmp_path: Path, compressed: bool) -> None:
        frames = stack()
        arrays = {"aaa": np.zeros((2, 8, 8), np.uint16), "frames": frames}
        p = write(tmp_path / "s.npz", arrays, compressed=compressed)
        src = BayerStack(p)
        assert isinstance(src._frames, np.memmap) is not compressed
        assert all(np.array_equal(f.data, frames[f.index]) for f in src)

    def test_npz_first_array(self, tmp_path: Path) -> None:
        frames = stack(dtype=np.uint8)
        src = BayerStack(write(tmp_path / "s.npz", {"arr_0": frames, "other": frames[:1]}))
        assert len(src) == N and np.array_equal(next(iter(src)).data, frames[0])

    def test_odd_size_cropped_to_even(self, tmp_path: Path) -> None:
        frames = stack(h=H + 1, w=W + 1)
        src = BayerStack(write(tmp_path / "s.npy", frames))
        f = next(iter(src))
        assert src.size == (W, H) and np.array_equal(f.data, frames[0, :H, :W])
        assert f.data.flags.c_contiguous

    def test_signed_ints_in_range(self, tmp_path: Path) -> None:
        frames = stack(dtype=np.int32)
        src = BayerStack(write(tmp_path / "s.npy", frames))
        assert np.array_equal(next(iter(src)).data, frames[0])

    def test_fps_argument_and_start(self, tmp_path: Path) -> None:
        frames = stack()
        src = BayerStack(write(tmp_path / "s.npy", frames), fps="30000/1001", start=2)
        out = list(src)
        assert src.fps == Fraction(30000, 1001) and len(src) == 2
        assert [f.index for f in out] == [2, 3] and np.array_equal(out[0].data, frames[2])

    def test_loaders_in_a_thread_pool_keep_order(self, tmp_path: Path) -> None:
        frames = stack(n=8)
        src = BayerStack(write(tmp_path / "s.npy", frames))
        with ThreadPoolExecutor(2) as pool:
            out = list(pool.map(lambda load: load(), src.loaders()))
        assert [f.index for f in out] == list(range(8))
        assert all(np.array_equal(f.data, frames[f.index]) for f in out)


class TestErrors:
    def test_missing_sidecar(self, tmp_path: Path) -> None:
        with pytest.raises(MetadataError, match=r"s\.npy: no JSON sidecar \(s\.json\)"):
            BayerStack(write(tmp_path / "s.npy", stack(), sidecar=None))

    def test_sidecar_without_levels(self, tmp_path: Path) -> None:
        with pytest.raises(MetadataError, match=r"s\.json: missing required field 'white_level'"):
            BayerStack(write(tmp_path / "s.npy", stack(), sidecar={"black_level": 0,
                                                                   "cfa_pattern": "RGGB"}))

    def test_no_fps(self, tmp_path: Path) -> None:
        side = {k: v for k, v in SIDECAR.items() if k != "fps"}
        with pytest.raises(MetadataError, match=r"s\.npy: frame rate unknown.*--fps"):
            BayerStack(write(tmp_path / "s.npy", stack(), sidecar=side))

    @pytest.mark.parametrize("shape", [(H, W), (1, 2, H, W)])
    def test_wrong_ndim(self, tmp_path: Path, shape: tuple[int, ...]) -> None:
        with pytest.raises(SourceError, match=r"s\.npy: expected an \(N, H, W\) stack"):
            BayerStack(write(tmp_path / "s.npy", np.zeros(shape, np.uint16)))

    def test_float_dtype(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"s\.npy: expected integer mosaics.*float32"):
            BayerStack(write(tmp_path / "s.npy", stack().astype(np.float32)))

    def test_values_out_of_range_name_the_frame(self, tmp_path: Path) -> None:
        frames = stack(dtype=np.int32)
        frames[2, 5, 5] = -3
        loaders = BayerStack(write(tmp_path / "s.npy", frames)).loaders()
        assert [next(loaders)().index for _ in range(2)] == [0, 1]
        with pytest.raises(SourceError, match=r"s\.npy: frame 2: values -3\.\."):
            next(loaders)()

    @pytest.mark.parametrize("suffix", [".npy", ".npz"])
    def test_not_numpy(self, tmp_path: Path, suffix: str) -> None:
        p = tmp_path / f"s{suffix}"
        p.write_bytes(b"definitely not numpy")
        p.with_suffix(".json").write_text(json.dumps(SIDECAR))
        with pytest.raises(SourceError, match=rf"s\{suffix}: not a readable"):
            BayerStack(p)

    def test_too_small(self, tmp_path: Path) -> None:
        with pytest.raises(SourceError, match=r"s\.npy: frames too small \(2x2\)"):
            BayerStack(write(tmp_path / "s.npy", np.zeros((3, 2, 2), np.uint16)))
