"""The Ray runner: each job is a Ray task with its own CPU/GPU request.

``ray.init(address)`` joins a cluster (``auto``: the one this node belongs to, ``ray start``),
or starts a local Ray (``local``). Each task runs the job in a child process
(:class:`~.process.JobProcess`), exactly as the local pool does, so the task survives a job's
crash and reports its exit signal; a task whose Ray worker itself dies (node lost, Ray's
memory monitor) comes back as a Ray error and is reported as crashed too. Frame progress
flows back through a small actor the driver drains.

Ray retries nothing by itself (``max_retries=0``): the driver retries, so every attempt is in
the manifest.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from .process import JobProcess, wait
from .records import Event, Finished, JobResult, Ticket

INSTALL_HINT = "pip install 'nightvid[scale]'"


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(f"--ray: Ray is not installed; {INSTALL_HINT} "
                                     "(or pip install 'ray>=2.9')") from None
    return ray


def run_ray_task(ticket: Ticket, box: Any) -> JobResult:
    """Body of a Ray task: run one attempt in a child process, forward its events to ``box``.

    The child gets this task's GPUs (CUDA_VISIBLE_DEVICES as Ray set it) or none, so a job
    never lands on a GPU it did not reserve.
    """
    import ray

    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "") if ray.get_gpu_ids() else ""
    ticket = dataclasses.replace(ticket, env={**ticket.env, "CUDA_VISIBLE_DEVICES": gpus},
                                 host_pid=os.getpid())
    proc = JobProcess(ticket)
    try:
        while not proc.exited:
            wait([proc], 0.5)
            events = proc.pump()
            if events:
                box.put.remote(events)
        return proc.result().result
    finally:
        if not proc.exited:  # cancelled: stop the job, it closes its temporary output
            proc.terminate()
            proc.join(10.0)


class RayRunner:
    """Jobs as Ray tasks.

    Args:
        address: ``local`` (start Ray here), ``auto`` or a cluster address; ignored when Ray is
            already initialised in this process (then it is left running at the end).
        cpus: CPUs each task requests (torch uses that many threads).
        gpus: GPUs each task requests; fractions share a GPU between tasks.
        jobs: tasks in flight at most; None: twice what the cluster can run at once.
    """

    kind = "ray"

    def __init__(self, address: str, cpus: float, gpus: float, jobs: int | None) -> None:
        ray = self.ray = import_ray()
        self._owns = not ray.is_initialized()
        if self._owns:
            _init(ray, address)
        self._box = _event_box(ray).remote()
        self._task = ray.remote(run_ray_task).options(num_cpus=cpus, num_gpus=gpus,
                                                      max_retries=0)
        self.capacity = jobs or 2 * _slots(ray.cluster_resources(), cpus, gpus)
        self.threads = max(1, round(cpus))
        self.description = (f"Ray ({'local' if self._owns and address == 'local' else 'cluster'}"
                            f", {cpus:g} CPU" + (f", {gpus:g} GPU" if gpus else "")
                            + f" per job, up to {self.capacity} at once)")
        self._refs: dict[Any, Ticket] = {}

    @property
    def busy(self) -> int:
        return len(self._refs)

    def submit(self, ticket: Ticket) -> None:
        self._refs[self._task.remote(ticket, self._box)] = ticket

    def poll(self, timeout: float) -> list[Event]:
        ray = self.ray
        refs = list(self._refs)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout) if refs else ([], [])
        events: list[Event] = [e for batch in ray.get(self._box.drain.remote()) for e in batch]
        for ref in ready:
            events.append(self._finished(ref))
        return events

    def _finished(self, ref: Any) -> Finished:
        ticket = self._refs.pop(ref)
        job = ticket.job
        try:
            return Finished(job.key, self.ray.get(ref))
        except self.ray.exceptions.TaskCancelledError:
            return Finished(job.key, JobResult("interrupted", error="interrupted"))
        except self.ray.exceptions.RayError as exc:
            job.part.unlink(missing_ok=True)  # the dead worker's child was writing it
            first = next((s.strip() for s in str(exc).splitlines() if s.strip()), "")
            return Finished(job.key, JobResult(
                "crashed", error=f"{job.input}: Ray worker died ({type(exc).__name__}: {first})",
                retryable=True))

    def abort(self, grace_s: float = 10.0) -> list[Finished]:
        """Cancel every task (the job gets SIGTERM and closes its output); their results."""
        refs = list(self._refs)
        for ref in refs:
            self.ray.cancel(ref)
        self.ray.wait(refs, num_returns=len(refs), timeout=grace_s)
        return [Finished(self._refs.pop(ref).job.key,
                         JobResult("interrupted", error="interrupted")) for ref in refs]

    def close(self) -> None:
        if self._refs:
            self.abort(grace_s=0.0)
        self.ray.kill(self._box)
        if self._owns:
            self.ray.shutdown()


def _init(ray: Any, address: str) -> None:
    local = address == "local"
    try:
        ray.init(address=address, logging_level=logging.WARNING,
                 log_to_driver=False, **({"include_dashboard": False} if local else {}))
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = next((s.strip() for s in str(exc).splitlines() if s.strip()), type(exc).__name__)
        raise ConfigError(f"--ray {address}: cannot start or reach Ray ({first})") from None


def _slots(resources: dict[str, float], cpus: float, gpus: float) -> int:
    """How many tasks the cluster runs at once with these requests."""
    slots = int(resources.get("CPU", 0) // cpus) if cpus > 0 else 1 << 20
    if gpus > 0:
        if resources.get("GPU", 0) < gpus:
            raise ConfigError(f"--gpus-per-job: {gpus:g} requested, but the Ray cluster has "
                              f"{resources.get('GPU', 0):g} GPUs")
        slots = min(slots, int(resources["GPU"] // gpus))
    return max(1, slots)


def _event_box(ray: Any) -> Any:
    """An actor class that collects events from running tasks until the driver drains them."""

    @ray.remote(num_cpus=0)
    class EventBox:
        def __init__(self) -> None:
            self.items: list[Any] = []

        def put(self, events: list[Any]) -> None:
            self.items.append(events)

        def drain(self) -> list[Any]:
            items, self.items = self.items, []
            return items

    return EventBox
