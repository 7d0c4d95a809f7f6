"""The manifest: what a re-run learns from earlier runs."""

from __future__ import annotations

import json
from pathlib import Path

from nightvid.batch.manifest import MANIFEST_NAME, Manifest
from nightvid.batch.records import Job, JobResult


def job(tmp_path: Path, name: str = "a.jpg") -> Job:
    return Job(tmp_path / "a.dng", tmp_path / "o" / name, name, "photo", "sig")


def test_history_counts_final_attempts(tmp_path: Path) -> None:
    j = job(tmp_path)
    m = Manifest(tmp_path)
    m.started(j, "fp", 1, "host", 11, "local")
    m.finished(j, "fp", 1, JobResult("crashed", 3, 1.5, "killed", True, "host", 11, "SIGKILL"),
               "local")
    m.started(j, "fp", 2, "host", 12, "local")
    m.finished(j, "fp", 2, JobResult("interrupted", 0, 0.1, "interrupted"), "local")
    m.close()
    h = Manifest(tmp_path).history(j, "fp")  # read back from the file
    assert (h.status, h.attempts, h.failures, h.error) == ("interrupted", 2, 1, "killed")
    lines = [json.loads(s) for s in (tmp_path / MANIFEST_NAME).read_text().splitlines()]
    assert [r["status"] for r in lines] == ["running", "crashed", "running", "interrupted"]
    assert lines[1]["signal"] == "SIGKILL" and lines[1]["fps"] == 2.0
    assert lines[1]["job"] == "a.jpg" and lines[1]["attempt"] == 1


def test_other_settings_or_job_start_fresh(tmp_path: Path) -> None:
    j = job(tmp_path)
    m = Manifest(tmp_path)
    m.finished(j, "fp", 1, JobResult("done", 1, 0.5), "ray")
    assert m.history(j, "fp").status == "done"
    assert m.history(j, "other settings").attempts == 0
    assert m.history(job(tmp_path, "b.jpg"), "fp").attempts == 0
    m.close()


def test_torn_line_is_skipped(tmp_path: Path) -> None:
    """A driver killed mid-write leaves half a line: it is ignored, the rest still counts."""
    j = job(tmp_path)
    m = Manifest(tmp_path)
    m.finished(j, "fp", 1, JobResult("failed", 0, 0.1, "bad"), "local")
    m.close()
    with open(tmp_path / MANIFEST_NAME, "a") as f:
        f.write('{"key": "' + j.key + '", "status": "do')
    h = Manifest(tmp_path).history(j, "fp")
    assert (h.status, h.failures) == ("failed", 1)


def test_fingerprint_ignores_execution_details() -> None:
    """Where and how a job runs (device, engine queues, compile) is not what it renders: a
    re-run on Ray or on a GPU must find the local run's work done. Render settings count."""
    from nightvid.batch.records import RenderSettings
    from nightvid.config import load_config

    def fp(over: dict, kind: str = "sequence", **kw) -> str:
        cfg = load_config("default", over)
        return RenderSettings(photo_config=cfg, stream_config=cfg, **kw).fingerprint(kind)

    base = fp({})
    assert fp({"runtime.device": "cpu", "engine.queue_depth": 2, "runtime.compile": "off"}) \
        == base
    assert fp({"tone.contrast": 0.3}) != base
    assert fp({}, codec="hevc") != base and fp({}, threads=4) == base
    assert fp({}, "photo", codec="hevc") == fp({}, "photo")  # a photo has no codec
