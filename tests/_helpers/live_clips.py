"""Clips for the live-preview tests: a dark sRGB clip made with PyAV (the RGB path).

Each test module has its own small fixture that calls :func:`make_dark_clip`: a conftest.py in
tests/preview would collide with tests/conftest.py under ``--doctest-modules``."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

CLIP_SIZE = (320, 240)  # (W, H)
CLIP_FPS = 30
CLIP_FRAMES = 75  # 2.5 s


def make_dark_clip(path: Path, frames: int = CLIP_FRAMES, size: tuple[int, int] = CLIP_SIZE,
                   fps: int = CLIP_FPS, fmt: str | None = None) -> Path:
    """A dark, noisy sRGB clip (levels 5-40 of 255) with a square moving 4 px per frame."""
    w, h = size
    xx = np.arange(w, dtype=np.float32)[None, :, None]
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "16", "preset": "ultrafast", "bf": "0"}
        for i in range(frames):
            img = np.broadcast_to(6.0 + 10.0 * xx / w, (h, w, 3)).copy()
            x0 = (i * 4) % (w - w // 5)
            img[h // 4: h // 4 + h // 3, x0: x0 + w // 5] = (40.0, 28.0, 18.0)
            img[2 * h // 3: 2 * h // 3 + h // 6, w // 8: w // 8 + w // 4] = (14.0, 30.0, 20.0)
            img += rng.normal(0.0, 2.0, img.shape)
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def read_video(path: Path) -> tuple[int, tuple[int, int], float]:
    """(frames, (W, H), seconds of the last frame) as PyAV decodes them."""
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    last = float(frames[-1].time or 0.0) if frames else 0.0
    return len(frames), (frames[0].width, frames[0].height) if frames else (0, 0), last
