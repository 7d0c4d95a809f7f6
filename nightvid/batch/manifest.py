"""The batch manifest: one JSON object per line in ``OUTDIR/batch-manifest.jsonl``.

Each line records one event of one job: ``running`` when an attempt starts (host, pid), then
``done``, ``failed``, ``crashed`` or ``interrupted`` with timings, frames and the one-line
error. Append-only, written by the driver alone and flushed to disk line by line, so a killed
driver loses at most the line it was writing (an unreadable line is skipped) and the file is
the batch's full history. A re-run reads it to skip finished jobs and to count attempts.

Records count for a job only when their ``fingerprint`` matches (same input bytes and the same
render settings): changing the profile or editing an input makes new work.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .records import Job, JobResult

MANIFEST_NAME = "batch-manifest.jsonl"
FAILED = ("failed", "crashed")


@dataclass
class History:
    """What earlier runs recorded for one job (with one fingerprint)."""

    status: str | None = None  # the latest final status
    attempts: int = 0  # attempts that started and reached a final status
    failures: int = 0  # of which failed or crashed
    error: str | None = None  # the latest failure's reason


class Manifest:
    """Reads the manifest in ``outdir`` (if any) and appends to it."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / MANIFEST_NAME
        self._history: dict[tuple[str, str], History] = {}
        self._file: TextIO | None = None
        if self.path.exists():
            for rec in self._records():
                self._fold(rec)

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:  # a line torn by a killed driver
                continue
            if isinstance(rec, dict) and "key" in rec and "status" in rec:
                out.append(rec)
        return out

    def _fold(self, rec: dict[str, Any]) -> None:
        h = self._history.setdefault((rec["key"], rec.get("fingerprint", "")), History())
        status = rec["status"]
        if status == "running":
            return
        h.status = status
        h.attempts += 1
        if status in FAILED:
            h.failures += 1
            h.error = rec.get("error")

    def history(self, job: Job, fingerprint: str) -> History:
        return self._history.get((job.key, fingerprint), History())

    def started(self, job: Job, fingerprint: str, attempt: int, host: str, pid: int,
                runner: str) -> None:
        self._append(_base(job, fingerprint, attempt, runner) | {
            "status": "running", "host": host, "pid": pid})

    def finished(self, job: Job, fingerprint: str, attempt: int, result: JobResult,
                 runner: str) -> None:
        rec = _base(job, fingerprint, attempt, runner) | {
            "status": result.status, "host": result.host, "pid": result.pid,
            "frames": result.frames, "wall_s": round(result.wall_s, 3),
            "fps": round(result.frames / result.wall_s, 2) if result.wall_s > 0 else None,
            "error": result.error, "signal": result.signal}
        self._append(rec)
        self._fold(rec)

    def _append(self, rec: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # held open: one line per event
        self._file.write(json.dumps(rec) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _base(job: Job, fingerprint: str, attempt: int, runner: str) -> dict[str, Any]:
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "job": job.name, "key": job.key,
            "fingerprint": fingerprint, "input": str(job.input), "output": str(job.output),
            "kind": job.kind, "attempt": attempt, "runner": runner}
