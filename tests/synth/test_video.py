from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from _helpers.data import require
from nightvid.errors import ConfigError, ShapeError, SourceError
from nightvid.synth.samples import STREET_3500K_XY, illuminant_neutral
from nightvid.synth.unprocess import srgb_to_linear
from nightvid.synth.video import clean_clip, noisy_raw_clip, static_mask


def _moving_square(t_len: int = 4, h: int = 32, w: int = 48, step: int = 4) -> np.ndarray:
    clip = np.full((t_len, h, w, 3), 0.2, np.float32)
    for t in range(t_len):
        clip[t, 8:16, 4 + step * t : 12 + step * t] = 0.9
    return clip


def _norm(noisy: np.ndarray, meta) -> np.ndarray:
    return (noisy.astype(np.float64) - meta.black_level[0]) / (meta.white_level
                                                                - meta.black_level[0])


class TestNoisyRawClip:
    def test_shapes_levels_meta(self):
        noisy, clean, meta = noisy_raw_clip(_moving_square(), ratio=50)
        assert noisy.shape == clean.shape == (4, 32, 48)
        assert noisy.dtype == np.uint16 and clean.dtype == np.float32
        assert noisy.max() <= 16383 and 0.0 <= clean.min() and clean.max() <= 1.0
        assert meta.black_level == (512.0,) * 4 and meta.white_level == 16383.0
        assert meta.cfa == "RGGB" and meta.as_shot_neutral == illuminant_neutral(STREET_3500K_XY)
        shot, read = meta.noise_profile
        assert 0 < shot < 1e-2 and 0 < read < 1e-4

    def test_clean_is_unprocessed_grey(self):
        """Grey sRGB 0.5 -> linear 0.214 on G; R and B scaled by the light's camera neutral."""
        _, clean, meta = noisy_raw_clip(np.full((1, 8, 8, 3), 0.5, np.float32))
        lin = float(srgb_to_linear(torch.tensor(0.5)))
        n_r, _, n_b = meta.as_shot_neutral
        assert np.allclose(clean[0, 0::2, 1::2], lin, atol=1e-5)
        assert np.allclose(clean[0, 0::2, 0::2], lin * n_r, rtol=1e-3)
        assert np.allclose(clean[0, 1::2, 1::2], lin * n_b, rtol=1e-3)

    def test_deterministic_seeded_prefix_stable(self):
        clip = _moving_square()
        a, _, _ = noisy_raw_clip(clip, seed=3)
        b, _, _ = noisy_raw_clip(clip, seed=3)
        c, _, _ = noisy_raw_clip(clip, seed=4)
        head, _, _ = noisy_raw_clip(clip[:2], seed=3)
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert np.array_equal(a[:2], head)  # frame t's noise does not depend on T

    def test_noise_matches_profile_and_is_independent(self):
        ratio = 20.0
        noisy, clean, meta = noisy_raw_clip(np.full((3, 192, 192, 3), 0.6, np.float32),
                                            ratio=ratio, iso=6400, seed=1)
        shot, read = meta.noise_profile
        resid = _norm(noisy, meta) - clean / ratio  # noise alone, dark-frame units
        for t in range(3):
            for dy, dx in ((0, 0), (0, 1), (1, 1)):
                x = clean[t, dy::2, dx::2].mean() / ratio
                r = resid[t, dy::2, dx::2]
                assert abs(r.mean()) < 4 * np.sqrt((shot * x + read) / r.size) + 1e-6
                assert r.var() == pytest.approx(shot * x + read, rel=0.06)
        for t in range(2):
            assert abs(np.corrcoef(resid[t].ravel(), resid[t + 1].ravel())[0, 1]) < 0.03

    def test_darkening(self):
        noisy, clean, meta = noisy_raw_clip(np.full((1, 64, 64, 3), 0.8, np.float32), ratio=100)
        assert _norm(noisy, meta).mean() * 100 == pytest.approx(clean.mean(), rel=0.05)

    @pytest.mark.parametrize("shape", [(4, 8, 3), (2, 8, 8), (2, 8, 8, 4), (2, 7, 8, 3)])
    def test_bad_shape(self, shape):
        with pytest.raises(ShapeError, match="clean_srgb"):
            noisy_raw_clip(np.zeros(shape, np.float32))

    def test_bad_ratio(self):
        with pytest.raises(ConfigError, match="ratio"):
            noisy_raw_clip(np.zeros((1, 8, 8, 3), np.float32), ratio=0.5)


class TestStaticMask:
    def test_moving_square(self):
        clip = _moving_square()
        m = static_mask(clip, 0.05)
        assert m.shape == (3, 32, 48) and m.dtype == bool
        assert not m[0, 8:16, 4:8].any() and not m[0, 8:16, 12:16].any()  # left, entered
        assert m[0, 8:16, 8:12].all()  # still covered by the square in both frames
        assert m[:, 20:].all() and m[:, :8].all()  # background never moves
        grown = static_mask(clip, 0.05, radius=2)
        assert (grown <= m).all() and not grown[0, 6:18, 2:18].any()

    def test_threshold(self):
        clip = np.zeros((2, 4, 4, 3), np.float32)
        clip[1] += 0.01
        assert static_mask(clip, 0.02).all() and not static_mask(clip, 0.005).any()

    def test_bad_shape(self):
        with pytest.raises(ShapeError, match="T >= 2"):
            static_mask(np.zeros((1, 4, 4, 3)))


def _write_video(path: Path, frames: np.ndarray, fps: int = 10) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=fps)  # lossless: decoded frames are exact
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "bgr0"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


class TestCleanClip:
    def test_folder_of_frames(self, tmp_path):
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
        for i, f in enumerate(frames):
            cv2.imwrite(str(tmp_path / f"{i:03d}.png"), f[..., ::-1])
        clip = clean_clip(tmp_path, 2)
        assert clip.shape == (2, 12, 16, 3) and clip.dtype == np.float32
        assert np.array_equal(np.round(clip * 255).astype(np.uint8), frames[:2])
        assert clean_clip(tmp_path, size=(6, 8)).shape == (3, 6, 8, 3)

    def test_sixteen_bit_and_grey_frames(self, tmp_path):
        cv2.imwrite(str(tmp_path / "a.png"), np.full((4, 6), 65535, np.uint16))
        clip = clean_clip(tmp_path)
        assert clip.shape == (1, 4, 6, 3) and np.allclose(clip, 1.0)

    def test_video_file(self, tmp_path):
        frames = np.random.default_rng(1).integers(0, 256, (5, 16, 24, 3), dtype=np.uint8)
        _write_video(tmp_path / "v.mkv", frames)
        clip = clean_clip(tmp_path / "v.mkv", 4)
        assert clip.shape == (4, 16, 24, 3)
        assert np.array_equal(np.round(clip * 255).astype(np.uint8), frames[:4])

    def test_errors(self, tmp_path):
        with pytest.raises(SourceError, match="no such"):
            clean_clip(tmp_path / "missing.mp4", 2)
        (tmp_path / "bad.mp4").write_bytes(b"not a video")
        with pytest.raises(SourceError, match="bad.mp4"):
            clean_clip(tmp_path / "bad.mp4", 2)
        with pytest.raises(SourceError, match="frames"):
            clean_clip(tmp_path, 2)  # a folder without frames

    def test_shared_video(self):
        path = require("clean/video/bikes.mp4")
        clip = clean_clip(path, 6, size=(136, 320))
        assert clip.shape == (6, 136, 320, 3) and 0 <= clip.min() and clip.max() <= 1
        noisy, clean, _ = noisy_raw_clip(clip, ratio=100)
        assert noisy.shape == clean.shape == (6, 136, 320)
        assert static_mask(clip, 0.05).mean() > 0.3  # a real clip: much of it is static

    def test_shared_frames(self):
        path = require("clean/video/frames_640x360")
        clip = clean_clip(path, 3)
        assert clip.shape == (3, 360, 640, 3)
