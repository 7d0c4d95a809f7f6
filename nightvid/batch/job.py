"""Worker side: render one job through the same library calls as ``nightvid enhance``.

A photo goes through :func:`nightvid.api.render_file` and :func:`write_image`, a stream through
:func:`nightvid.api.process_stream` (the engine). The output is written under a temporary name
(:attr:`Job.part`) and renamed when complete, so an output that exists is a finished one.

:func:`child_main` is the entry point of the process a job runs in (see :mod:`.process`). This
module imports the whole rendering stack at the top on purpose: the fork server preloads it,
so each job process starts with torch and the pipeline already imported.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from ..api import process_stream, render_file
from ..errors import NightvidError, SourceError
from ..sinks import av_video  # noqa: F401 - preloaded for the fork server
from ..sinks.images import write_image
from .records import Job, JobResult, RenderSettings, Ticket

__all__ = ["child_main", "log_path", "render_job"]


class _Interrupted(Exception):
    """The engine stopped early (SIGTERM from the driver): the output is not complete."""


def render_job(job: Job, settings: RenderSettings,
               on_frame: Callable[[int], None] | None = None) -> int:
    """Render ``job`` to ``job.output`` (via ``job.part`` and a rename); return frames written.

    Raises:
        NightvidError: the input or the output is unusable (the message names the file).
    """
    job.output.parent.mkdir(parents=True, exist_ok=True)
    job.part.unlink(missing_ok=True)  # a crashed attempt's leftovers
    try:
        if job.kind == "photo":
            frames = _render_photo(job, settings, on_frame)
        else:
            frames = _render_stream(job, settings, on_frame)
        os.replace(job.part, job.output)
        return frames
    finally:
        job.part.unlink(missing_ok=True)


def _render_photo(job: Job, settings: RenderSettings,
                  on_frame: Callable[[int], None] | None) -> int:
    cfg = settings.photo_config
    rgb, _ = render_file(job.input, cfg)
    write_image(rgb, job.part, cfg.output.jpeg_quality)
    if on_frame is not None:
        on_frame(1)
    return 1


def _render_stream(job: Job, settings: RenderSettings,
                   on_frame: Callable[[int], None] | None) -> int:
    summary = process_stream(job.input, job.part, settings.stream_config, codec=settings.codec,
                             bit_depth=settings.bit_depth, quality=settings.quality,
                             fps=settings.fps, progress=False, on_frame=on_frame)
    if summary.interrupted:
        raise _Interrupted
    if summary.frames == 0:
        raise SourceError(f"{job.input}: no frames to render")
    return summary.frames


def log_path(state_dir: Path, job: Job) -> Path:
    """Where a job's process writes its stdout/stderr (warnings, codec messages)."""
    return state_dir / "logs" / (job.name.replace("/", "__") + ".log")


def child_main(conn: Connection, ticket: Ticket) -> None:
    """Run one attempt in this (fresh) process and send events to the parent.

    Messages: ``("start", host, pid)``, ``("frames", n)`` at most every 0.2 s, then
    ``("result", JobResult)``. A process that dies before the last message is a crash, and
    its parent reads the exit signal.
    """
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's; it sends SIGTERM
    os.environ.update(ticket.env)
    _redirect_output(log_path(ticket.state_dir, ticket.job))
    torch.set_num_threads(max(1, ticket.settings.threads))
    host, pid, t0 = socket.gethostname(), os.getpid(), time.perf_counter()
    conn.send(("start", host, pid))
    report = _FrameReporter(conn, ticket)
    try:
        frames = render_job(ticket.job, ticket.settings, report)
        result = JobResult("done", frames, retryable=False)
    except (_Interrupted, KeyboardInterrupt):
        result = JobResult("interrupted", report.frames, error="interrupted", retryable=True)
    except NightvidError as exc:
        result = JobResult("failed", report.frames, error=one_line(exc), retryable=False)
    except Exception as exc:  # a bug or a resource problem: worth another attempt
        result = JobResult("failed", report.frames, retryable=True,
                           error=f"{ticket.job.input}: {type(exc).__name__}: {one_line(exc)}")
    wall = time.perf_counter() - t0
    conn.send(("result", JobResult(result.status, result.frames, wall, result.error,
                                   result.retryable, host, pid)))
    conn.close()


class _FrameReporter:
    """The engine's ``on_frame``: forwards frame counts (throttled) and runs the fault hook."""

    def __init__(self, conn: Connection, ticket: Ticket) -> None:
        self.conn, self.ticket = conn, ticket
        self.frames, self.sent_at = 0, 0.0

    def __call__(self, n: int) -> None:
        self.frames = n
        now = time.monotonic()
        if now - self.sent_at >= 0.2:
            self.conn.send(("frames", n))
            self.sent_at = now
        fault = self.ticket.fault
        if fault is not None and fault.name == self.ticket.job.input.name and n >= fault.frame:
            marker = self.ticket.state_dir / "faults" / self.ticket.job.key
            if not marker.exists():
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
                host = self.ticket.host_pid if fault.target == "host" else None
                os.kill(host or os.getpid(), signal.SIGKILL)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (reports and the manifest are line-based)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _redirect_output(path: Path) -> None:
    """Send this process's stdout/stderr (Python and C libraries alike) to the job's log, so
    warnings from many jobs do not tear through the progress bar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(format="nightvid: warning: %(message)s", level=logging.WARNING,
                        stream=sys.stderr, force=True)


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies, so a killed driver or Ray worker
    leaves no job running on its own."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
