"""``nightvid batch --ray`` on a local Ray (2 CPUs, no dashboard), shared by this module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers.batch_inputs import SAMPLES, image_size, make_batch_inputs, video_frames
from nightvid.batch.manifest import MANIFEST_NAME
from nightvid.cli import main

ray = pytest.importorskip("ray")

FAST = ["--scale", "0.5", "-q", "--ray"]


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test inputs (see ``_helpers/batch_inputs.py``), built once for this module."""
    return make_batch_inputs(tmp_path_factory.mktemp("batch_inputs"))


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    """One local Ray for the module; ``nightvid batch --ray`` finds it initialised and uses it
    (and leaves it running)."""
    # "local": a new Ray even when another one runs on this machine (ray start elsewhere)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def batch(inputs: list[Path], out: Path, *extra: str) -> tuple[int, dict]:
    report = out.parent / "report.json"
    code = main(["batch", *map(str, inputs), "-o", str(out), "--report", str(report), *FAST,
                 *extra])
    return code, json.loads(report.read_text())


def test_batch_on_ray_then_rerun_does_nothing(batch_inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    inputs = [SAMPLES, batch_inputs / "bad" / "corrupt.dng"]
    code, report = batch(inputs, out, "--retries", "0")
    assert code == 1 and report["runner"].startswith("Ray (")
    assert image_size(out / "night_street.jpg") == (768, 512)
    assert video_frames(out / "night_clip.mp4") == (24, 320, 180)
    assert [(f["job"], f["status"]) for f in report["failures"]] == [("corrupt.jpg", "failed")]
    assert "corrupt.dng: truncated file" in report["failures"][0]["error"]
    records = [json.loads(s) for s in (out / MANIFEST_NAME).read_text().splitlines()]
    assert {r["runner"] for r in records} == {"ray"}
    pids = {r["pid"] for r in records if r["status"] == "done"}
    assert len(pids) == 2 and 0 not in pids  # each job in its own process

    stamps = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    code, report = batch(inputs, out, "--retries", "0")
    assert code == 1 and report["ran"] == 0 and report["counts"]["skipped"] == 2
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # manifest included


def test_killed_ray_worker_is_retried(monkeypatch, tmp_path: Path) -> None:
    """The process hosting the clip's job (the Ray worker) is SIGKILLed after frame 5 on the
    first attempt: Ray reports the dead worker, the batch retries and completes."""
    monkeypatch.setenv("NIGHTVID_BATCH_KILL", "night_clip@5@host")
    out = tmp_path / "out"
    code, report = batch([SAMPLES / "night_clip"], out)
    assert code == 0
    assert video_frames(out / "night_clip.mp4") == (24, 320, 180)
    (row,) = report["rows"]
    assert row["attempts"] == 2 and "Ray worker died" in row["retried"][0]
    assert not list(out.glob(".*.part*"))
