"""The live preview: capture -> engine -> before/after composite -> window, browser, recording.

One loop, in the calling (main) thread: take the newest captured frame, render it with the
:class:`~nightvid.engine.Engine` (iterator form, one frame in flight), compose it beside the
original, hand the composite to the window and the browser hub, queue the enhanced frame for
the recording, and let the adaptive controller pick the next frame's quality. Commands (keys,
browser buttons) are queued and applied between frames, so the pipeline is only ever changed
by the thread that runs it.

Ending: the quit key or button, ``max_frames``/``duration_s``, the end of a file, Ctrl-C or
SIGTERM all close everything in order: the reader, the recording (finalised, playable), the
server, the window. A capture that fails for good raises SourceError naming the source, after
the same clean-up, with what was recorded in the message.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import EngineConfig
from ..engine import Engine, RenderedFrame, _sigterm_as_interrupt
from ..errors import ConfigError, SinkError, SourceError
from ..pipeline import Pipeline
from ..runtime import to_uint
from ..state import StreamState
from .adaptive import describe
from .capture import Capture
from .compose import VIEWS, View, compose, fit, original_display, with_hud
from .controls import CommandQueue, validate
from .files import PreviewFiles
from .levels import RenderLevels
from .reader import Captured, LatestFrameReader, LiveSource
from .server import FrameHub, PreviewServer
from .stats import LiveStats, PreviewSummary
from .status import control_state, hud_lines, status_dict
from .window import PreviewWindow

log = logging.getLogger(__name__)

_WARMUP_FRAMES = 3  # left out of the summary's latency: first renders allocate and estimate


@dataclass
class PreviewOptions:
    """Where the preview goes and when it stops (the profile decides how it renders)."""

    window: bool = False
    serve: tuple[str, int] | None = None
    record: Path | None = None
    snapshot_dir: Path = Path(".")
    max_frames: int | None = None  # stop after this many frames shown
    duration_s: float | None = None  # stop after this long
    announce: Callable[[str], None] = lambda text: None  # e.g. the server's address


@contextmanager
def _cpu_threads(device: torch.device, threads: int) -> Iterator[None]:
    """On the CPU, render with ``threads`` torch threads (0: one fewer than the cores), so
    capture, display and encoding keep a core; restored afterwards."""
    if device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads if threads > 0 else max(1, (os.cpu_count() or 2) - 1))
    try:
        yield
    finally:
        torch.set_num_threads(old)


class PreviewSession:
    """A live preview of one capture.

    Args:
        capture: an unopened capture (:func:`~nightvid.preview.capture.open_capture`).
        profile: profile name or .toml path (``preview`` is tuned for latency).
        overrides: dotted-key config overrides (``--set``), applied under every level.
        options: views, recording and limits.
    Raises:
        ConfigError: bad profile or overrides (raised here, before anything opens).
    """

    def __init__(self, capture: Capture, profile: str = "preview",
                 overrides: dict[str, Any] | None = None,
                 options: PreviewOptions | None = None) -> None:
        self.options = options or PreviewOptions()
        self.levels = RenderLevels(profile, overrides or {})
        p = self.levels.base.preview
        self.view: View = p.view
        self.show_hud = True
        self.reader = LatestFrameReader(capture, reconnect_max_s=p.reconnect_max_s,
                                        transform=self.levels.shrink)
        self.stats = LiveStats()
        self.hub = FrameHub(p.jpeg_quality)
        self.files = PreviewFiles(self.options.record, self.options.snapshot_dir,
                                  p.record_preset)
        self._commands = CommandQueue()
        self.window = PreviewWindow(self._commands.put) if self.options.window else None
        self.server: PreviewServer | None = None
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {"frames": 0, "hud": ["starting..."]}
        self._quit = False
        self._last: tuple[Any, Any, int] | None = None  # (composite, enhanced, index)
        self.last_snapshot: list[str] = []
        self._engine: Engine | None = None
        self._state: StreamState | None = None
        self._t_start = time.monotonic()

    # -- commands ---------------------------------------------------------------------------
    def command(self, name: str, arg: str = "", wait_s: float = 2.0) -> dict[str, Any]:
        """Run a command from any thread; returns the status once the loop has applied it
        (or after ``wait_s``). Commands: :mod:`nightvid.preview.controls`.

        Raises:
            ConfigError: unknown command or argument (the message lists the valid ones).
        """
        validate(name, arg, describe(self.levels.base))
        self._commands.put(name, arg, wait_s)
        return self.status()

    def _apply_commands(self) -> None:
        self._commands.drain(self._apply)

    def _apply(self, name: str, arg: str) -> None:
        try:
            validate(name, arg, describe(self.levels.base))  # a toggle for a stage the new
            self._apply_valid(name, arg)                     # profile lacks, say
        except ConfigError as exc:
            log.warning("%s", exc)
        with self._lock:  # the new state shows at once, not only with the next frame
            self._status.update(control_state(self))

    def _apply_valid(self, name: str, arg: str) -> None:
        if name == "quit":
            self._quit = True
        elif name == "view":
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)] if arg == "next" else (
                arg)  # type: ignore[assignment]
        elif name == "hud":
            self.show_hud = not self.show_hud
        elif name == "snapshot":
            self._snapshot()
        elif name == "record":
            self.files.toggle()
        elif name in ("adapt", "profile", "toggle"):
            if name == "adapt":
                self.levels.toggle_adaptive()
            elif name == "profile":
                self.levels.set_profile(arg)
            else:
                self.levels.toggle(arg)
            self._apply_level()

    def _apply_level(self) -> None:
        """Give the engine a pipeline for the current level (between frames only)."""
        if self._engine is None:
            return
        old = self._engine.pipeline
        cfg = self.levels.config()
        if cfg.output != old.config.output and self._state is not None:
            self._state.sky.reset()  # the sky mask's thumbnail size may change with the size
        new = Pipeline(cfg, device=str(old.device), compile=old.kernels.enabled)
        # Compiled kernels and loaded networks carry over: a level change must not stall the
        # preview with a recompile or a reload (both are keyed by function / model name).
        new.kernels = old.kernels
        if getattr(old, "nets", None) is not None and old.nets.fallback == new.nets.fallback:
            new.nets = old.nets
        self._engine.pipeline = new

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> PreviewSummary:
        """Preview until quit, a limit, the end of a file or Ctrl-C; the summary.

        Raises:
            SourceError: the capture cannot be opened, or failed for good (reconnection gave
                up, camera unplugged); the message names the source and what was recorded.
            ConfigError: a view cannot open (no display, port in use).
        """
        self.reader.start()
        interrupted, error = False, None
        try:
            with _sigterm_as_interrupt():
                self._open_views()
                self._loop()
        except KeyboardInterrupt:
            interrupted = True
        except SourceError as exc:
            error = exc
        finally:
            self.reader.stop()
            notes = self.files.close_all()
            self._close_views()
        summary = PreviewSummary.from_stats(
            self.stats, skip=_WARMUP_FRAMES, captured=self.reader.captured,
            dropped=self.reader.dropped, reconnects=self.reader.reconnects,
            wall_s=time.monotonic() - self._t_start, quality=self.levels.step.label,
            recordings=self.files.done,
            interrupted=interrupted)
        if error is not None:
            raise SourceError("; ".join([str(error), *notes])) from None
        return summary

    def _open_views(self) -> None:
        if self.window is not None:
            self.window.open()
        if self.options.serve is not None:
            self.server = PreviewServer(self.options.serve, self.hub, self.status,
                                        self.command).start()
            self.options.announce(f"browser view at {self.server.url}")

    def _close_views(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.window is not None:
            self.window.close()

    def _loop(self) -> None:
        cfg = self.levels.config()
        # One frame in flight whatever the profile says: a live frame is fetched only when the
        # device is free, so it is the newest one.
        self._engine = Engine(dataclasses.replace(cfg, engine=EngineConfig(1, 1)))
        self._state = StreamState(cfg.stream)
        source = LiveSource(self.reader, self._should_stop, self._idle, self._taken)
        with _cpu_threads(self._engine.pipeline.device, cfg.preview.cpu_threads):
            while True:
                for out in self._engine.frames(source, self._state):
                    self._on_frame(out, source)
                    self._apply_commands()
                    if self._should_stop():
                        return
                if not source.size_changed:
                    return  # the end of a file, or stopped while waiting
                # New frame size: the stream state goes on (the temporal filter restarts by
                # itself), but the sky mask's thumbnail may change shape.
                self._state.sky.reset()

    def _should_stop(self) -> bool:
        o = self.options
        return (self._quit or (o.max_frames is not None and self.stats.shown >= o.max_frames)
                or (o.duration_s is not None
                    and time.monotonic() - self._t_start >= o.duration_s))

    def _idle(self) -> None:
        """While waiting for a frame: keep the window responsive and apply commands."""
        if self.window is not None:
            self.window.poll()
        self._apply_commands()

    def _taken(self, item: Captured) -> None:
        """A frame is about to render: the first one, or one of a new capture size, sets the
        work size of every level (the display size depends on the capture's own size)."""
        if self.levels.set_source(item.native_shape, item.meta):
            self._apply_level()

    def _on_frame(self, out: RenderedFrame, source: LiveSource) -> None:
        frame = out.frame
        t_capture = source.capture_time(frame)
        enhanced = to_uint(out.display, 8)
        slow_ms = self.levels.base.preview.slow_ms
        if slow_ms > 0:  # an artificially slow device (tests, measurements)
            time.sleep(slow_ms / 1e3)
        size = self.levels.display_wh()
        enhanced = fit(enhanced, size)
        composite = compose(original_display(frame.data, frame.meta, size), enhanced, self.view)
        t_ready = time.monotonic()
        self.stats.add(t_ready, (t_ready - t_capture) * 1e3, (t_ready - source.last_taken) * 1e3)
        self._last = (composite, enhanced, frame.index)
        self.files.write(enhanced, t_capture, size, self.reader.capture.fps)
        hud = hud_lines(self, out.info)
        with self._lock:
            self._status = status_dict(self, out.info, composite.shape, hud)
        self.hub.publish(composite)
        if self.window is not None:
            self.window.show(with_hud(composite, hud) if self.show_hud else composite)
        # The controller judges the whole cycle: render, compose, show (what delays the next).
        frame_ms = (time.monotonic() - source.last_taken) * 1e3
        if self.levels.controller.update(frame_ms) is not None:
            self._apply_level()

    def status(self) -> dict[str, Any]:
        """The newest HUD figures and control state (thread-safe; the browser's /status)."""
        with self._lock:
            return dict(self._status)

    def _snapshot(self) -> None:
        if self._last is None:
            return
        composite, enhanced, index = self._last
        try:
            paths = self.files.snapshot(composite, enhanced, index)
        except SinkError as exc:
            log.warning("snapshot not saved: %s", exc)
            return
        self.last_snapshot = [str(p) for p in paths]
        with self._lock:
            self._status["snapshot"] = self.last_snapshot
