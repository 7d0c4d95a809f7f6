"""The local runner: up to N jobs at a time on this machine, each in its own process."""

from __future__ import annotations

import time

from .process import JobProcess, wait
from .records import Event, Finished, Ticket


class LocalRunner:
    """A pool of ``workers`` job slots; a crashed job frees its slot and nothing else.

    Args:
        workers: jobs running at once.
        threads: torch threads per job (CPUs / workers, so the pool does not oversubscribe).
    """

    kind = "local"

    def __init__(self, workers: int, threads: int = 1) -> None:
        self.capacity = max(1, workers)
        self.threads = max(1, threads)
        self.description = f"local pool of {self.capacity}"
        self._running: dict[str, JobProcess] = {}

    @property
    def busy(self) -> int:
        return len(self._running)

    def submit(self, ticket: Ticket) -> None:
        self._running[ticket.job.key] = JobProcess(ticket)

    def poll(self, timeout: float) -> list[Event]:
        """Events of the running jobs; waits up to ``timeout`` s for the first one."""
        wait(list(self._running.values()), timeout)
        events: list[Event] = []
        for key, proc in list(self._running.items()):
            events += proc.pump()
            if proc.exited:
                events.append(proc.result())
                del self._running[key]
        return events

    def abort(self, grace_s: float = 10.0) -> list[Finished]:
        """Stop every running job (SIGTERM, SIGKILL after ``grace_s``); their final events."""
        procs = list(self._running.values())
        for proc in procs:
            proc.terminate()
        events: list[Finished] = []
        deadline = time.monotonic() + grace_s
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            events.append(proc.result())
        self._running.clear()
        return events

    def close(self) -> None:
        self.abort(grace_s=0.0)
