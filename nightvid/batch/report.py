"""What a batch run did: one row per job, totals, the closing table and ``--report`` JSON."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sinks.images import write_atomic
from .records import Job

#: Rows in the printed table at most; ``--report`` has them all.
TABLE_ROWS = 40


@dataclass
class JobRow:
    """One job's outcome in this run.

    ``status``: ``done`` (rendered now), ``skipped`` (done by an earlier run), ``failed``,
    ``crashed`` or ``interrupted``. ``attempts`` counts this run's attempts.
    """

    job: Job
    status: str
    attempts: int = 0
    frames: int = 0
    wall_s: float = 0.0
    error: str | None = None
    signal: str | None = None
    host: str = ""
    retried: list[str] = field(default_factory=list)  # reasons of this run's failed attempts

    @property
    def ok(self) -> bool:
        return self.status in ("done", "skipped")

    def to_dict(self) -> dict[str, Any]:
        j = self.job
        return {"job": j.name, "input": str(j.input), "output": str(j.output), "kind": j.kind,
                "status": self.status, "attempts": self.attempts, "frames": self.frames,
                "wall_s": round(self.wall_s, 3),
                "fps": round(self.frames / self.wall_s, 2) if self.wall_s > 0 else None,
                "error": self.error, "signal": self.signal, "host": self.host,
                "retried": self.retried}


@dataclass
class BatchReport:
    """A batch run's result; :attr:`exit_code` is what ``nightvid batch`` returns."""

    outdir: Path
    runner: str
    rows: list[JobRow]
    wall_s: float
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)

    @property
    def failures(self) -> list[JobRow]:
        return [r for r in self.rows if not r.ok]

    @property
    def ran(self) -> int:
        """Jobs this run attempted (not skipped, not given up on before starting)."""
        return sum(r.attempts > 0 for r in self.rows)

    @property
    def frames(self) -> int:
        """Frames of the jobs this run completed."""
        return sum(r.frames for r in self.rows if r.status == "done")

    @property
    def jobs_per_s(self) -> float:
        return self.count("done") / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0: every job is done; 1: a job failed; 130: interrupted."""
        return 130 if self.interrupted else (1 if self.failures else 0)

    def headline(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in
                           ("done", "skipped", "failed", "crashed", "interrupted")
                           if self.count(s))
        return (f"{len(self.rows)} jobs ({counts}) in {self.wall_s:.1f} s ({self.runner}): "
                f"{self.frames} frames, {self.jobs_per_s:.2f} jobs/s, "
                f"{self.frames_per_s:.2f} frames/s")

    def table(self) -> str:
        """The closing table: jobs that ran (first ``TABLE_ROWS``), then every failure."""
        ran = [r for r in self.rows if r.status != "skipped"]
        lines = [f"{'status':<11} {'tries':>5} {'frames':>6} {'time':>8} {'fps':>6}  job"]
        for r in ran[:TABLE_ROWS]:
            fps = f"{r.frames / r.wall_s:.1f}" if r.wall_s > 0 and r.frames else "-"
            lines.append(f"{r.status:<11} {r.attempts:>5} {r.frames:>6} {r.wall_s:>6.1f} s "
                         f"{fps:>6}  {r.job.name}")
        if len(ran) > TABLE_ROWS:
            lines.append(f"... {len(ran) - TABLE_ROWS} more (--report writes every job)")
        if self.count("skipped"):
            lines.append(f"{self.count('skipped')} jobs skipped: done by an earlier run")
        return "\n".join(lines + [self.headline()] + self.failure_lines())

    def failure_lines(self) -> list[str]:
        if not self.failures:
            return []
        return [f"failures ({len(self.failures)}):"] + [
            f"  {r.job.name}: {r.status}: {r.error}" for r in self.failures]

    def to_dict(self) -> dict[str, Any]:
        return {"outdir": str(self.outdir), "runner": self.runner,
                "wall_s": round(self.wall_s, 3), "interrupted": self.interrupted,
                "exit_code": self.exit_code, "jobs": len(self.rows), "ran": self.ran,
                "counts": {s: self.count(s) for s in
                           ("done", "skipped", "failed", "crashed", "interrupted")},
                "frames": self.frames, "jobs_per_s": round(self.jobs_per_s, 4),
                "frames_per_s": round(self.frames_per_s, 3),
                "failures": [{"job": r.job.name, "status": r.status, "error": r.error}
                             for r in self.failures],
                "rows": [r.to_dict() for r in self.rows]}

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically)."""
        p = Path(os.path.abspath(path))
        write_atomic(p, (json.dumps(self.to_dict(), indent=2) + "\n").encode())
        return p
