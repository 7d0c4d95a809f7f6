"""The batch driver: plan from the manifest, dispatch to a runner, retry, report.

The driver alone writes the manifest and draws the progress bar; runners (a local pool, Ray)
only start attempts and hand back events. So both runners share every rule: which jobs to
skip, when to retry, what goes in the manifest.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError
from .manifest import Manifest
from .progress import ProgressBar
from .records import (
    Event,
    Fault,
    Finished,
    Job,
    JobResult,
    Progress,
    RenderSettings,
    Started,
    Ticket,
)
from .report import BatchReport, JobRow

#: Bookkeeping folder in the output folder: job logs, fault markers.
STATE_DIR = ".batch"


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch.

    Attributes:
        jobs: jobs at once (local pool size, or Ray tasks in flight); None: the default.
        ray: None for the local pool; ``local``, ``auto`` or an address for Ray.
        cpus_per_job, gpus_per_job: Ray resource requests per task (GPU fractions allowed).
        retries: extra attempts a job gets after a crash or failure, over all runs.
        progress: draw the progress bar.
    """

    jobs: int | None = None
    ray: str | None = None
    cpus_per_job: float = 1.0
    gpus_per_job: float = 0.0
    retries: int = 2
    progress: bool = True


class Runner(Protocol):
    kind: str
    capacity: int
    threads: int
    description: str

    @property
    def busy(self) -> int: ...
    def submit(self, ticket: Ticket) -> None: ...
    def poll(self, timeout: float) -> list[Event]: ...
    def abort(self, grace_s: float = 10.0) -> list[Finished]: ...
    def close(self) -> None: ...


def default_workers() -> int:
    """Local pool size when ``--jobs`` is not given: one job per CPU, each with one torch
    thread. Processes scale better than threads here (decode, encode and Python are serial
    per job), and an OpenMP thread team stalls whenever another process takes one of its
    cores: on the shared 2-core machine, 8 jobs took 94 s one at a time with 2 threads and
    12 s two at a time with 1 thread each (``benchmarks/batch_speed.py``, README)."""
    return _cpus()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def make_runner(options: BatchOptions) -> Runner:
    if options.ray is not None:
        from .ray_runner import RayRunner

        return RayRunner(options.ray, options.cpus_per_job, options.gpus_per_job, options.jobs)
    from .local import LocalRunner

    workers = options.jobs or default_workers()
    return LocalRunner(workers, threads=max(1, _cpus() // workers))


def run_batch(jobs: list[Job], outdir: str | Path, settings: RenderSettings,
              options: BatchOptions | None = None) -> BatchReport:
    """Render ``jobs`` into ``outdir``: skip what an earlier run finished, retry failures.

    Args:
        jobs: from :func:`~nightvid.batch.discover.discover`.
        outdir: the output folder (created); holds the manifest.
        settings: the resolved render settings (``threads`` is set per runner).
        options: runner and retry options.
    Returns:
        The run's :class:`BatchReport` (``exit_code`` 1 when any job is not done).

    Job processes start from a fork server, so a script that calls this must do so under
    ``if __name__ == "__main__":`` (multiprocessing's rule: each job process imports the main
    module).
    Raises:
        ConfigError: bad options. MissingDependencyError: ``ray`` requested, not installed.
    """
    opts = options or BatchOptions()
    if opts.retries < 0 or (opts.jobs is not None and opts.jobs < 1):
        raise ConfigError(f"--retries/--jobs: expected retries >= 0 and jobs >= 1, got "
                          f"{opts.retries} and {opts.jobs}")
    out = Path(os.path.abspath(outdir))
    out.mkdir(parents=True, exist_ok=True)
    fault = Fault.from_env()
    manifest = Manifest(out)
    t0 = time.perf_counter()
    rows, todo = _plan(jobs, manifest, settings, opts.retries)
    runner_name, interrupted = "nothing to run: earlier runs settled every job", False
    try:
        if todo:
            runner = make_runner(opts)
            runner_name = runner.description
            try:
                run_settings = dataclasses.replace(settings, threads=runner.threads)
                dispatch = _Dispatch(runner, manifest, run_settings, out / STATE_DIR, fault,
                                     opts, rows)
                interrupted = dispatch.run(todo)
            finally:
                runner.close()
    finally:
        manifest.close()
    return BatchReport(out, runner_name, [rows[j.key] for j in jobs],
                       time.perf_counter() - t0, interrupted)


@dataclass
class _Todo:
    job: Job
    attempt: int  # number of the next attempt, over all runs
    failures: int  # failed attempts so far, over all runs


def _plan(jobs: list[Job], manifest: Manifest, settings: RenderSettings,
          retries: int) -> tuple[dict[str, JobRow], list[_Todo]]:
    """Rows for jobs settled by earlier runs; the rest to run, with their attempt counts."""
    rows: dict[str, JobRow] = {}
    todo: list[_Todo] = []
    for job in jobs:
        h = manifest.history(job, settings.fingerprint(job.kind))
        if h.status == "done" and job.output.exists():
            rows[job.key] = JobRow(job, "skipped")
        elif h.failures > retries:
            rows[job.key] = JobRow(job, "failed", error=f"{h.error} (not retried: {h.failures} "
                                   f"attempts failed, --retries {retries})")
        else:
            rows[job.key] = JobRow(job, "pending")
            todo.append(_Todo(job, h.attempts + 1, h.failures))
    return rows, todo


class _Dispatch:
    """The event loop of one run: keep the runner full, record events, retry failures."""

    def __init__(self, runner: Runner, manifest: Manifest, settings: RenderSettings,
                 state_dir: Path, fault: Fault | None, opts: BatchOptions,
                 rows: dict[str, JobRow]) -> None:
        if fault is not None and fault.target == "host" and runner.kind != "ray":
            raise ConfigError("NIGHTVID_BATCH_KILL: '@host' kills a Ray worker; the local "
                              "pool's host is this process")
        self.runner, self.manifest, self.settings = runner, manifest, settings
        self.state_dir, self.fault, self.retries = state_dir, fault, opts.retries
        self.rows = rows
        self.active: dict[str, _Todo] = {}
        self.seen: dict[str, int] = {}  # frames reported by each running attempt
        self.where: dict[str, tuple[str, int, float]] = {}  # host, pid, start of each attempt
        self.pending: deque[_Todo] = deque()
        self.bar = ProgressBar(opts.progress)

    def run(self, todo: list[_Todo]) -> bool:
        """Run every job to a final state; True when interrupted (Ctrl-C, SIGTERM)."""
        self.pending.extend(todo)
        self.bar.start([t.job for t in todo], self.settings.fps)
        try:
            with _sigterm_as_interrupt():
                while self.pending or self.active:
                    while self.pending and self.runner.busy < self.runner.capacity:
                        self._submit(self.pending.popleft())
                    for event in self.runner.poll(0.25):
                        self._on_event(event)
            return False
        except KeyboardInterrupt:
            for event in self.runner.abort():
                self._on_event(event, aborted=True)
            for t in self.pending:
                row = self.rows[t.job.key]
                row.status, row.error = "interrupted", "not started: the batch was stopped"
            return True
        finally:
            self.bar.close()

    def _submit(self, t: _Todo) -> None:
        self.active[t.job.key] = t
        self.seen[t.job.key] = 0
        self.rows[t.job.key].attempts += 1
        self.runner.submit(Ticket(t.job, t.attempt, self.settings, self.state_dir, self.fault))

    def _on_event(self, event: Event, aborted: bool = False) -> None:
        t = self.active.get(event.key)
        if t is None:  # a late event of an attempt already settled (Ray)
            return
        if isinstance(event, Started):
            self.where[event.key] = (event.host, event.pid, time.perf_counter())
            self.manifest.started(t.job, self._fp(t), t.attempt, event.host, event.pid,
                                  self.runner.kind)
        elif isinstance(event, Progress):
            self.bar.frames(event.frames - self.seen[event.key])
            self.seen[event.key] = event.frames
        else:
            self._finish(t, event.result, aborted)

    def _finish(self, t: _Todo, result: JobResult, aborted: bool) -> None:
        key = t.job.key
        del self.active[key]
        seen = self.seen.pop(key)
        if aborted:
            result = dataclasses.replace(result, status="interrupted",
                                         error="stopped with the batch (Ctrl-C or SIGTERM)")
        host, pid, t0 = self.where.pop(key, ("", 0, time.perf_counter()))
        if not result.host:  # the process died with its knowledge (a Ray worker crash)
            result = dataclasses.replace(result, host=host, pid=pid,
                                         wall_s=time.perf_counter() - t0)
        result = dataclasses.replace(result, frames=max(result.frames, seen))
        self.manifest.finished(t.job, self._fp(t), t.attempt, result, self.runner.kind)
        row = self.rows[key]
        row.frames, row.wall_s, row.host = result.frames, row.wall_s + result.wall_s, result.host
        row.status, row.error, row.signal = result.status, result.error, result.signal
        self.bar.frames(result.frames - seen)
        # An attempt that ended any other way than done counts against the budget here; the
        # manifest, for later runs, counts failed and crashed ones only.
        failures = t.failures + (result.status != "done")
        if result.status != "done" and not aborted and result.retryable and \
                failures <= self.retries:
            row.retried.append(f"{result.status}: {result.error}")
            self.bar.retry(result.frames)
            self.pending.appendleft(_Todo(t.job, t.attempt + 1, failures))
        else:
            self.bar.settled(t.job, result)

    def _fp(self, t: _Todo) -> str:
        return self.settings.fingerprint(t.job.kind)


class _sigterm_as_interrupt:
    """SIGTERM to the driver stops the batch like Ctrl-C: running jobs close their outputs
    and the manifest says where things stand (main thread only)."""

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
