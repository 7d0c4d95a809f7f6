"""A job in its own process, forked from a warm fork server.

Why a fresh process per job rather than long-lived pool workers: a crash (SIGKILL, the OOM
killer, a segfault in a codec) ends that job only, its exit signal is known exactly, and
memory a job leaks goes back with it. Why a fork server: the server imports torch and the
pipeline once (:mod:`.job`), so a job process starts in milliseconds instead of the ~2 s an
import costs; and forking from that single-threaded server is safe where forking the driver
(threads, a progress bar, Ray) is not. The same class runs jobs for the local pool and inside
each Ray task. A job process inherits the environment the fork server started with; what
must be current (a Ray task's GPUs) travels in :attr:`Ticket.env`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import time
from typing import Any

from .job import child_main
from .records import Event, Finished, JobResult, Progress, Started, Ticket

_PRELOAD = ["nightvid.batch.job"]


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")  # no fork server (macOS ok, Windows)


class JobProcess:
    """One attempt of one job, running in a child process.

    Use :meth:`waitables` with :func:`multiprocessing.connection.wait`, then :meth:`pump` for
    its events; once :attr:`exited`, :meth:`result` says how it ended.
    """

    def __init__(self, ticket: Ticket) -> None:
        ctx = _context()
        self.ticket = ticket
        self.key = ticket.job.key
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=child_main, args=(child_conn, ticket), daemon=True,
                                 name=f"nightvid-job-{ticket.job.name}")
        self._proc.start()
        child_conn.close()
        self._open = True
        self._result: JobResult | None = None
        self.frames, self.host, self.pid = 0, "", self._proc.pid or 0
        self.t0 = time.perf_counter()

    def waitables(self) -> list[Any]:
        return [self._conn, self._proc.sentinel] if self._open else [self._proc.sentinel]

    @property
    def exited(self) -> bool:
        return not self._open and self._proc.exitcode is not None

    def pump(self) -> list[Event]:
        """Events the child has sent so far (never blocks)."""
        events: list[Event] = []
        while self._open and self._conn.poll():
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):  # the child is gone: crash or normal exit
                self._open = False
                break
            if msg[0] == "start":
                self.host, self.pid = msg[1], msg[2]
                events.append(Started(self.key, self.host, self.pid))
            elif msg[0] == "frames":
                self.frames = msg[1]
                events.append(Progress(self.key, self.frames))
            else:
                self._result = msg[1]
        if not self._open or self._proc.exitcode is not None:
            self._drain()
        return events

    def _drain(self) -> None:
        """The child exited: read a result it sent last, then close the pipe."""
        while self._open:
            try:
                if not self._conn.poll():
                    break
                msg = self._conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "result":
                self._result = msg[1]
            elif msg[0] == "frames":
                self.frames = msg[1]
        if self._open:
            self._conn.close()
            self._open = False
        self._proc.join(timeout=5)

    def result(self) -> Finished:
        """How the attempt ended; a child that died without a result crashed."""
        if self._result is not None:
            return Finished(self.key, self._result)
        code = self._proc.exitcode
        wall = time.perf_counter() - self.t0
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            error = f"worker process killed by {name} ({self.frames} frame(s) reported)"
        else:
            name, error = None, f"worker process exited with code {code} without a result"
        job = self.ticket.job
        job.part.unlink(missing_ok=True)  # what the dead process was writing
        return Finished(self.key, JobResult("crashed", self.frames, wall, f"{job.input}: {error}",
                                            True, self.host, self.pid, name))

    def terminate(self) -> None:
        """Ask the job to stop (SIGTERM: a stream closes its temporary output)."""
        if self._proc.exitcode is None:
            self._proc.terminate()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the process to end, then SIGKILL it if it has not."""
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            self._proc.kill()
            self._proc.join()
        self.pump()


def wait(processes: list[JobProcess], timeout: float) -> None:
    """Block until any of ``processes`` has something to read or exits, or ``timeout``."""
    waitables = [w for p in processes for w in p.waitables()]
    if waitables:
        multiprocessing.connection.wait(waitables, timeout)
    else:
        time.sleep(timeout)
