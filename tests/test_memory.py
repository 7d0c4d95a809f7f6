"""The engine holds a bounded number of tensors however long the stream (no per-frame leak).

Counting live tensors is exact and does not depend on the allocator, unlike RSS; the peak RSS
of long clips is measured by ``benchmarks/memory.py``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial

import numpy as np
import torch

from nightvid.config import load_config
from nightvid.engine import Engine
from nightvid.sources.base import FrameSource
from nightvid.types import Frame, RawMeta

META = RawMeta(black_level=(64.0,) * 4, white_level=1023.0, cfa="GRBG",
               as_shot_neutral=(0.5, 1.0, 0.6), noise_profile=(2e-3, 1e-5))


class TinyClip(FrameSource):
    """A panning noisy 64x48 gradient, made on demand."""

    fps = Fraction(24)
    time_base = Fraction(1, 24)

    def __init__(self, n: int) -> None:
        self.n = n
        yy, xx = np.mgrid[0:48, 0:96]
        self.scene = 64 + 200 * (1 + np.sin(xx / 5.0) * np.cos(yy / 7.0))

    def __len__(self) -> int:
        return self.n

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        for i in range(self.n):
            yield partial(self._load, i)

    def _load(self, i: int) -> Frame:
        dx = 2 * (i % 16)
        rng = np.random.default_rng(i)
        crop = self.scene[:, dx: dx + 64] + rng.normal(0, 4, (48, 64))
        return Frame(np.clip(crop, 0, 1023).astype(np.uint16), pts=i,
                     time_base=self.time_base, meta=META, index=i)


def live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is torch.Tensor)


#: Frames after which tensors are counted: the same phase of every refresh schedule (2, 4, 8).
CHECK = (16, 40)


def test_mosaic_stream_keeps_no_frames_behind():
    counts = {}
    for i, _ in enumerate(Engine(load_config("fast")).mosaics(TinyClip(CHECK[1]))):
        _ = None  # keep no reference to the frame just cleaned
        if i + 1 in CHECK:
            counts[i + 1] = live_tensors()
    assert counts[CHECK[1]] <= counts[CHECK[0]] + 4, counts


def test_display_run_keeps_no_frames_behind():
    class NullSink:
        def __init__(self) -> None:
            self.n = 0

        def write(self, display: np.ndarray, pts: int | None = None) -> None:
            self.n += 1
            if self.n in CHECK:
                counts[self.n] = live_tensors()

        def close(self) -> None:
            pass

    counts: dict[int, int] = {}
    sink = NullSink()
    Engine(load_config("fast")).run(TinyClip(CHECK[1]), sink, progress=False)
    assert sink.n == CHECK[1]
    assert counts[CHECK[1]] <= counts[CHECK[0]] + 4, counts
