"""The frame-streaming engine: decode workers -> device worker -> encode worker.

Raw decoding (LibRaw) is CPU work, so a small thread pool decodes ahead of the device worker;
the encoder runs in its own thread. Both hand-offs are bounded (``engine.queue_depth``), so
memory does not grow with the clip's length, and frame order is preserved: results are taken
from the decode pool in submission order. Offline mode never drops or duplicates a frame.

Interrupting (Ctrl-C, SIGTERM) stops decoding, encodes what was already rendered and closes
the sink, so a video plays up to its last frame and written images stay.
"""

from __future__ import annotations

import dataclasses
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from . import accel
from .config import Config
from .errors import SourceError
from .pipeline import Pipeline, RenderInfo
from .runtime import to_uint
from .state import StreamState
from .types import Frame


@dataclass(frozen=True)
class RenderedFrame:
    """One output frame: its source frame, the display image (1, 3, h, w) and the decisions."""

    frame: Frame
    display: Tensor
    info: RenderInfo


@dataclass
class Summary:
    """What a run did: counts, wall time and mean milliseconds per stage."""

    frames: int = 0
    wall_s: float = 0.0
    decode_ms: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    cuts: list[int] = field(default_factory=list)
    interrupted: bool = False
    warmup: int = 0  # frames rendered but not written (a resumed run's warm-up)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def format(self) -> str:
        head = (f"{self.frames} frames in {self.wall_s:.2f} s ({self.fps:.1f} fps)"
                + (f" (+{self.warmup} re-rendered to resume)" if self.warmup else "")
                + (", interrupted" if self.interrupted else "")
                + (f", scene cuts at {self.cuts}" if self.cuts else ""))
        parts = [f"decode {self.decode_ms:.1f}"] + [f"{k} {v:.1f}" for k, v in
                                                     self.stage_ms.items()]
        return head + "\nms per frame: " + ", ".join(parts)


def _frame_name(frame: Frame) -> str:
    src = frame.meta.source if frame.meta is not None else ""
    return src or f"frame {frame.index}"


class Engine:
    """Runs a source's frames through one :class:`Pipeline` with a stream state.

    Args:
        config: the resolved config (``engine.decode_workers``, ``engine.queue_depth``, ...).
        device: overrides ``config.runtime.device``.
        timings: record per-stage milliseconds (syncs the device per stage; for measuring).
        compile: compile the hot paths (:mod:`nightvid.accel`); None decides per source by
            ``runtime.compile`` ("auto": on CUDA, and for CPU streams of at least
            ``runtime.compile_min_frames`` frames).
    """

    def __init__(self, config: Config, device: str | None = None, timings: bool = False,
                 compile: bool | None = None) -> None:
        self.config = config
        self._compile = compile
        self.pipeline = Pipeline(config, device=device, timings=timings, compile=compile)
        self.summary = Summary()

    def _decoded(self, source: Any) -> Iterator[tuple[Frame, float]]:
        """Frames in order, decoded ``decode_workers`` at a time, at most ``queue_depth`` ahead."""
        e = self.config.engine
        workers, depth = max(1, e.decode_workers), max(1, e.queue_depth)

        def timed(load: Any) -> tuple[Frame, float]:
            t0 = time.perf_counter()
            return load(), (time.perf_counter() - t0) * 1e3

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nightvid-decode")
        pending: deque[Future[tuple[Frame, float]]] = deque()
        loaders = iter(source.loaders())
        try:
            for load in loaders:
                pending.append(pool.submit(timed, load))
                if len(pending) >= depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _plan_compile(self, source: Any) -> None:
        """Decide ``runtime.compile = "auto"`` for this source: compile once it pays."""
        if self._compile is not None:
            self.pipeline.kernels.enabled = self._compile
            return
        try:
            n: int | None = len(source)
        except TypeError:  # a live device: unknown length
            n = None
        rt = self.config.runtime
        self.pipeline.kernels.enabled = accel.resolve(rt.compile, self.pipeline.device, n,
                                                      rt.compile_min_frames)

    def _checked(self, source: Any) -> Iterator[tuple[Frame, float]]:
        """Decoded frames in order; a frame whose size differs from the first one raises."""
        self._plan_compile(source)
        first_shape: tuple[int, ...] | None = None
        for frame, decode_ms in self._decoded(source):
            shape = tuple(frame.data.shape)
            if first_shape is None:
                first_shape = shape
            elif shape != first_shape:
                raise SourceError(f"{_frame_name(frame)}: size {shape[1]}x{shape[0]} differs "
                                  f"from the stream's {first_shape[1]}x{first_shape[0]}")
            yield frame, decode_ms

    def frames(self, source: Any, state: StreamState | None = None) -> Iterator[RenderedFrame]:
        """Render every frame of ``source`` in order (the iterator form of the engine).

        Raises:
            SourceError: a frame cannot be decoded, or its size differs from the first frame's
                (the message names the frame); frames before it have been yielded.
        """
        st = state if state is not None else StreamState(self.config.stream)
        rgb = getattr(source, "kind", "raw") == "rgb"
        for frame, decode_ms in self._checked(source):
            if rgb:
                display, info = self.pipeline.render_rgb(frame.data, st)
            else:
                display, info = self.pipeline.render(frame.data, frame.meta, st)
            self._account(info, decode_ms, frame.index)
            yield RenderedFrame(frame, display, info)

    def mosaics(self, source: Any,
                state: StreamState | None = None) -> Iterator[tuple[Frame, RenderInfo]]:
        """Temporally filter and denoise every raw frame of ``source``, keeping its geometry.

        Yields:
            (the source frame with ``data`` replaced by the cleaned (H, W) uint16 mosaic in
            sensor DN and ``meta`` by its updated RawMeta; RenderInfo), in order. See
            :func:`nightvid.raw_out.clean_mosaic`.
        Raises:
            SourceError: an sRGB source (no mosaic to clean), or as :meth:`frames`.
        """
        from .raw_out import clean_mosaic

        if getattr(source, "kind", "raw") == "rgb":
            raise SourceError(f"{getattr(source, 'path', 'source')}: raw output needs a raw "
                              "source; this one is sRGB video")
        st = state if state is not None else StreamState(self.config.stream)
        for frame, decode_ms in self._checked(source):
            if frame.meta is None:
                raise SourceError(f"{_frame_name(frame)}: a raw frame without metadata")
            data, meta, info = clean_mosaic(self.pipeline, frame.data, frame.meta, st)
            self._account(info, decode_ms, frame.index)
            yield dataclasses.replace(frame, data=data, meta=meta), info

    def _account(self, info: RenderInfo, decode_ms: float, index: int) -> None:
        s = self.summary
        n = s.frames
        s.decode_ms = (s.decode_ms * n + decode_ms) / (n + 1)
        for k, v in info.stage_ms.items():
            s.stage_ms[k] = (s.stage_ms.get(k, 0.0) * n + v) / (n + 1)
        if info.cut:
            s.cuts.append(index)
        s.frames = n + 1

    def run(self, source: Any, sink: Any, *, progress: bool = True, warmup: int = 0,
            on_frame: Callable[[int], None] | None = None) -> Summary:
        """Render ``source`` into ``sink`` (closed at the end, also on error or interrupt).

        A sink with ``wants == "mosaic"`` (:class:`~nightvid.sinks.base.MosaicSink`) gets the
        cleaned raw mosaics of :meth:`mosaics`; any other sink gets display frames.

        Args:
            source: an open source.
            sink: an open sink.
            progress: show a progress bar.
            warmup: render the first ``warmup`` frames without writing them. A resumed run
                starts that many frames early, so the temporal memory and the smoothed
                estimates reach the state an uninterrupted run had (no jump in noise or colour
                where the run resumed).
            on_frame: called with the number of frames rendered so far after each frame, so
                a caller that runs many jobs (``nightvid batch``) can show one progress bar.
        Returns:
            The run's :class:`Summary` (``frames`` counts the frames written; ``interrupted``
            set after Ctrl-C or SIGTERM, the sink then closed with every frame rendered so far).
        """
        from tqdm import tqdm

        try:
            total: int | None = len(source)
        except TypeError:
            total = None
        mosaic = getattr(sink, "wants", "display") == "mosaic"
        bits = 16 if getattr(sink, "bit_depth", 8) > 8 else 8
        writer = _EncodeWorker(sink.write_mosaic if mosaic else sink.write, sink.close,
                               self.config.engine.queue_depth)
        bar = tqdm(total=total, unit="frame", disable=not progress, dynamic_ncols=True,
                   desc="nightvid")
        t0 = time.perf_counter()
        self.summary = Summary()
        skipped = 0
        with _sigterm_as_interrupt():
            try:
                outs = self.mosaics(source) if mosaic else self.frames(source)
                for n, out in enumerate(outs, 1):
                    bar.update(1)
                    if on_frame is not None:
                        on_frame(n)
                    if skipped < warmup:
                        skipped += 1
                    elif isinstance(out, RenderedFrame):
                        writer.put(to_uint(out.display, bits), out.frame.pts)
                    else:
                        writer.put(out[0])
            except KeyboardInterrupt:
                self.summary.interrupted = True
            finally:
                bar.close()
                writer.finish()  # drains the queue and closes the sink, even after an error
        self.summary.frames -= skipped
        self.summary.warmup = skipped
        self.summary.wall_s = time.perf_counter() - t0
        return self.summary


class _EncodeWorker:
    """A thread that calls ``write(*item)`` for items from a bounded queue, then ``close()``;
    errors surface in put() and finish()."""

    def __init__(self, write: Callable[..., None], close: Callable[[], None],
                 depth: int) -> None:
        self.write, self.close = write, close
        self.q: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=max(1, depth))
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="nightvid-encode", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (item := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.write(*item)
                except BaseException as exc:  # handed to the main thread
                    self.error = exc

    def put(self, *item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(item)

    def finish(self) -> None:
        self.q.put(None)
        self.thread.join()
        try:
            self.close()
        finally:
            if self.error is not None:
                raise self.error


class _sigterm_as_interrupt:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only), so a killed job
    finalises its output like Ctrl-C does."""

    def __enter__(self) -> None:
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGTERM, self._raise)

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
