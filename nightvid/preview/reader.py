"""The latest-frame reader: a thread that reads a capture and keeps only the newest frame.

A live preview must show what the camera sees *now*. Queueing frames while the device is busy
would make latency grow without bound on a slow machine, so the reader holds one slot: a new
frame replaces an untaken one, and the replaced frame is counted as dropped. Frames carry the
monotonic time at which the capture returned them, the start of the latency the preview
reports (capture timestamp to frame ready).

Network sources (``capture.live``) that fail are reopened with exponential backoff until
``reconnect_max_s`` has passed without a frame; other failures end the reader, and the error
is raised to the consumer by :meth:`LatestFrameReader.take`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from ..errors import SourceError
from ..sources.base import FrameSource
from ..types import Frame, RawMeta
from .capture import Capture

log = logging.getLogger(__name__)

#: Time base of live frames' pts: microseconds of the capture clock since the reader started.
LIVE_TIME_BASE = Fraction(1, 1_000_000)


@dataclass(frozen=True)
class Captured:
    """One captured image: data as the capture returned it, sequence number, capture time."""

    data: np.ndarray
    meta: RawMeta | None
    seq: int  # 0, 1, 2 ... over every frame read (gaps in what is taken are the drops)
    t_capture: float  # time.monotonic() when the capture returned it
    native_shape: tuple[int, ...]  # data's shape as captured, before the reader's transform


class LatestFrameReader:
    """Reads ``capture`` in a thread; :meth:`take` returns the newest frame not yet taken.

    Args:
        capture: an unopened capture; :meth:`start` opens it (in the caller's thread, so an
            unreachable device raises at once).
        reconnect_max_s: live captures: give up after this long without a frame.
        backoff_s: (first, longest) pause between reconnection attempts; doubles each time.
        transform: applied to each image's data in the reader thread before it is published
            (the preview shrinks big sRGB frames there, off the render thread).
    """

    def __init__(self, capture: Capture, *, reconnect_max_s: float = 30.0,
                 backoff_s: tuple[float, float] = (0.5, 8.0),
                 transform: Callable[[np.ndarray, RawMeta | None], np.ndarray] | None = None,
                 ) -> None:
        self.capture = capture
        self.transform = transform
        self.reconnect_max_s = reconnect_max_s
        self.backoff_s = backoff_s
        self.captured = 0  # frames read
        self.dropped = 0  # frames replaced before anyone took them
        self.reconnects = 0  # successful reopenings
        self.status = ""  # what the reader is doing when it is not reading ("reconnecting ...")
        self.t0 = time.monotonic()
        self._slot: Captured | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._finished = False
        self._error: BaseException | None = None
        self._last_frame_t = self.t0
        self._thread = threading.Thread(target=self._run, name="nightvid-capture", daemon=True)

    @property
    def kind(self) -> Literal["raw", "rgb"]:
        return self.capture.kind

    def start(self) -> LatestFrameReader:
        """Open the capture and start reading. Raises SourceError when it cannot be opened."""
        self.capture.open()
        self.t0 = self._last_frame_t = time.monotonic()
        self._thread.start()
        return self

    def take(self, timeout: float | None = None) -> Captured | None:
        """The newest frame not taken yet, waiting up to ``timeout`` seconds for one.

        Returns:
            The frame, or None when none came in time or the stream ended (see :attr:`ended`).
        Raises:
            SourceError (or the capture's error): the capture failed for good; raised once the
                frames read before the failure have been taken.
        """
        with self._cond:
            if self._slot is None and not self._finished:
                self._cond.wait(timeout)
            item, self._slot = self._slot, None
            if item is None and self._finished and self._error is not None:
                error, self._error = self._error, None
                raise error
            return item

    @property
    def ended(self) -> bool:
        """True once the capture has ended (end of a file, failure, :meth:`stop`) and the last
        frame has been taken."""
        with self._cond:
            return self._finished and self._slot is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and close the capture (waits up to ``timeout`` for a blocked read)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif not self._thread.ident:  # never started: close what start() opened, if anything
            self.capture.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    image = self.capture.read()
                except SourceError as exc:
                    if not self.capture.live:
                        raise
                    self._reconnect(exc)
                    continue
                if image is None:
                    break  # end of a file
                self._publish(*image)
        except BaseException as exc:  # handed to the consumer by take()
            self._error = exc
        finally:
            self.capture.close()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _publish(self, data: np.ndarray, meta: RawMeta | None) -> None:
        now = time.monotonic()  # the capture time: before any transform
        native = data.shape
        if self.transform is not None:
            data = self.transform(data, meta)
        item = Captured(data, meta, self.captured, now, native)
        with self._cond:
            if self._slot is not None:
                self.dropped += 1
            self._slot = item
            self.captured += 1
            self._last_frame_t = now
            self._cond.notify_all()

    def _reconnect(self, exc: SourceError) -> None:
        """Reopen a live capture with exponential backoff; raise when the time is up."""
        self.capture.close()
        delay, attempt = self.backoff_s[0], 0
        while not self._stop.is_set():
            waited = time.monotonic() - self._last_frame_t
            if waited > self.reconnect_max_s:
                raise SourceError(f"{exc}; gave up reconnecting after {waited:.0f} s") from None
            attempt += 1
            self.status = f"reconnecting in {delay:.1f} s (attempt {attempt})"
            log.warning("%s; %s", exc, self.status)
            if self._stop.wait(delay):
                return
            try:
                self.capture.open()
            except SourceError as again:
                exc = again
                delay = min(delay * 2, self.backoff_s[1])
                continue
            self.reconnects += 1
            self.status = ""
            return


class LiveSource(FrameSource):
    """The reader as a frame source for :meth:`nightvid.engine.Engine.frames`.

    Iteration takes the newest frame each time the engine asks for the next one, so a slow
    device sees fewer, fresh frames. ``Frame.index`` is the capture sequence number and
    ``Frame.pts`` the capture time in microseconds since the reader started
    (:data:`LIVE_TIME_BASE`). Live sources have no length.

    Args:
        reader: a started reader.
        should_stop: polled while waiting; True ends the iteration (quit key, Ctrl-C handler).
        idle: called while waiting for a frame (keeps a window responsive on a stalled camera).
        taken: called with each frame taken, before the engine renders it.
    """

    def __init__(self, reader: LatestFrameReader, should_stop: Callable[[], bool],
                 idle: Callable[[], None] = lambda: None,
                 taken: Callable[[Captured], None] = lambda item: None) -> None:
        self.reader = reader
        self.kind = reader.kind
        self.time_base = LIVE_TIME_BASE
        self.fps = None
        self.should_stop, self.idle, self.taken = should_stop, idle, taken
        self.last_taken = 0.0  # monotonic time the newest frame was taken (its render began)
        self.size_changed = False
        self._pending: Captured | None = None

    def __iter__(self) -> Iterator[Frame]:
        """Frames of one size; a frame of another size (the camera or stream changed mode, or
        the preview now shrinks frames to another display size) ends the iteration and
        starts the next one (:attr:`size_changed`): the engine checks that a stream keeps
        its size."""
        self.size_changed = False
        shape: tuple[int, ...] | None = None
        while not self.should_stop():
            item, self._pending = self._pending or self.reader.take(timeout=0.05), None
            if item is None:
                if self.reader.ended:
                    return
                self.idle()
                continue
            if shape is not None and item.data.shape != shape:
                self._pending, self.size_changed = item, True
                return
            shape = item.data.shape
            pts = round((item.t_capture - self.reader.t0) / LIVE_TIME_BASE)
            self.last_taken = time.monotonic()
            self.taken(item)
            yield Frame(data=item.data, pts=pts, time_base=LIVE_TIME_BASE, meta=item.meta,
                        index=item.seq)

    def capture_time(self, frame: Frame) -> float:
        """The monotonic time at which ``frame`` was captured."""
        return self.reader.t0 + float(frame.pts * LIVE_TIME_BASE)
