"""The batch's one progress bar: frames rendered (rate, ETA) with the jobs in its label.

Frames, not jobs, drive the rate and the ETA: a 10,000-frame clip and a photo are not the
same amount of work. Each stream's length is read up front (cheap: a folder listing, an array
header, a container's frame count); a job whose length cannot be read counts as one frame.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from ..errors import NightvidError
from .records import Job, JobResult


class ProgressBar:
    """One bar for the whole batch (tqdm: frames, frames/s, ETA; label: jobs done, failed)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.jobs, self.done, self.failed = 0, 0, 0
        self.expected: dict[str, int] = {}
        self.bar: Any = None

    def start(self, jobs: list[Job], fps: str | None) -> None:
        self.jobs = len(jobs)
        self.expected = {j.key: estimate_frames(j, fps) if self.enabled else 1 for j in jobs}
        self.bar = tqdm(total=sum(self.expected.values()), unit="frame", dynamic_ncols=True,
                        disable=not self.enabled, desc=self._label())

    def _label(self) -> str:
        return f"{self.done}/{self.jobs} jobs" + (f", {self.failed} failed" if self.failed
                                                  else "")

    def frames(self, n: int) -> None:
        if n:
            self.bar.update(n)

    def retry(self, lost: int) -> None:
        self.bar.total += lost  # those frames are rendered again
        self.bar.refresh()

    def settled(self, job: Job, result: JobResult) -> None:
        self.bar.total += result.frames - self.expected.get(job.key, 0)
        if result.status == "done":
            self.done += 1
        else:
            self.failed += 1
        self.bar.set_description_str(self._label())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def estimate_frames(job: Job, fps: str | None) -> int:
    """Frames ``job`` will render, for the progress bar's ETA (1 when it cannot tell)."""
    if job.kind == "photo":
        return 1
    from ..sources import open_source

    try:
        with open_source(job.input, fps=fps) as src:
            return max(1, len(src))
    except (NightvidError, OSError, TypeError, ValueError):  # the job will say what is wrong
        return 1
