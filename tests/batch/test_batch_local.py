"""``nightvid batch`` on the local process pool, end to end on the bundled samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from _helpers.batch_inputs import (
    SAMPLES,
    STACK_FRAMES,
    STACK_H,
    STACK_W,
    image_size,
    make_batch_inputs,
    video_frames,
)
from nightvid.batch.manifest import MANIFEST_NAME
from nightvid.cli import main

FAST = ["--scale", "0.5", "-q"]


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test inputs (see ``_helpers/batch_inputs.py``), built once for this module."""
    return make_batch_inputs(tmp_path_factory.mktemp("batch_inputs"))


def batch(inputs: list[Path], out: Path, *extra: str) -> int:
    return main(["batch", *map(str, inputs), "-o", str(out), *FAST, *extra])


def manifest(out: Path) -> list[dict]:
    return [json.loads(s) for s in (out / MANIFEST_NAME).read_text().splitlines()]


def leftovers(out: Path) -> list[Path]:
    """Temporary outputs that a finished batch must not leave behind."""
    return [p for p in out.rglob(".*") if ".part" in p.name]


@pytest.fixture(scope="module")
def first_run(batch_inputs: Path, tmp_path_factory: pytest.TempPathFactory):
    """One batch over every test input (5 jobs, one corrupt) with 2 workers."""
    out = tmp_path_factory.mktemp("local") / "out"
    report = out.parent / "report.json"
    code = batch([batch_inputs], out, "-j", "2", "--retries", "1", "--report", str(report))
    return out, code, json.loads(report.read_text())


def check_outputs(out: Path, prefix: str = "samples/") -> None:
    """Every good job's output is complete and has the expected size and frame count."""
    assert image_size(out / f"{prefix}night_street.jpg") == (768, 512)
    assert video_frames(out / f"{prefix}night_clip.mp4") == (24, 320, 180)
    assert leftovers(out) == []


class TestFirstRun:
    def test_good_outputs_exist_and_are_correct(self, first_run) -> None:
        out, code, _ = first_run
        check_outputs(out)
        assert video_frames(out / "extra" / "stack.mp4") == (STACK_FRAMES, STACK_W // 2,
                                                              STACK_H // 2)
        assert image_size(out / "extra" / "npr.jpg") == (STACK_W // 2, STACK_H // 2)

    def test_corrupt_file_fails_alone_with_its_reason(self, first_run) -> None:
        out, code, report = first_run
        assert code == 1
        assert report["counts"] == {"done": 4, "skipped": 0, "failed": 1, "crashed": 0,
                                    "interrupted": 0}
        (failure,) = report["failures"]
        assert failure["job"] == "bad/corrupt.jpg"
        assert "corrupt.dng: truncated file" in failure["error"]
        assert not (out / "bad" / "corrupt.jpg").exists()
        assert report["frames"] == 1 + 24 + STACK_FRAMES + 1
        assert report["frames_per_s"] > 0 and report["runner"] == "local pool of 2"

    def test_manifest_records_every_job(self, first_run) -> None:
        out, _, _ = first_run
        final = {r["job"]: r for r in manifest(out) if r["status"] != "running"}
        assert {k: r["status"] for k, r in final.items()} == {
            "bad/corrupt.jpg": "failed", "extra/npr.jpg": "done", "extra/stack.mp4": "done",
            "samples/night_clip.mp4": "done", "samples/night_street.jpg": "done"}
        clip = final["samples/night_clip.mp4"]
        assert clip["frames"] == 24 and clip["wall_s"] > 0 and clip["pid"] > 0

    def test_photo_matches_enhance(self, first_run, tmp_path: Path) -> None:
        """A job renders through the same code as ``nightvid enhance`` (thread counts differ,
        so float sums may round differently: compare pixels, not bytes)."""
        out, _, _ = first_run
        ref = tmp_path / "ref.jpg"
        assert main(["enhance", str(SAMPLES / "night_street.dng"), "-o", str(ref), *FAST]) == 0
        a, b = (cv2.imread(str(p)).astype(np.int16) for p in (ref, out / "samples" /
                                                                "night_street.jpg"))
        assert np.abs(a - b).mean() < 0.5


def test_rerun_skips_done_and_gives_up_on_failures(first_run, batch_inputs: Path,
                                                   tmp_path: Path) -> None:
    """Run 2 redoes nothing finished and retries the corrupt file (its second attempt, the
    last one --retries 1 allows); run 3 does no work at all."""
    out = tmp_path / "out"
    shutil.copytree(first_run[0], out, symlinks=True)  # copy2 keeps the mtimes
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    report = tmp_path / "r.json"
    assert batch([batch_inputs], out, "--retries", "1", "--report", str(report)) == 1
    r2 = json.loads(report.read_text())
    assert r2["counts"]["skipped"] == 4 and r2["ran"] == 1
    new = manifest(out)[len(manifest(first_run[0])):]
    assert {r["job"] for r in new} == {"bad/corrupt.jpg"} and new[-1]["attempt"] == 2
    lines = (out / MANIFEST_NAME).read_text()
    assert batch([batch_inputs], out, "--retries", "1", "--report", str(report)) == 1
    r3 = json.loads(report.read_text())
    assert r3["ran"] == 0 and r3["counts"]["skipped"] == 4
    assert "not retried: 2 attempts failed" in r3["failures"][0]["error"]
    assert (out / MANIFEST_NAME).read_text() == lines
    changed = [p for p, t in stamps.items() if p.stat().st_mtime_ns != t and
               p.name != MANIFEST_NAME and "logs" not in p.parts]
    assert changed == []


def test_killed_worker_is_retried(monkeypatch, tmp_path: Path) -> None:
    """The clip's process SIGKILLs itself after frame 5 on its first attempt (the test hook
    makes the crash deterministic); the batch retries it and completes."""
    monkeypatch.setenv("NIGHTVID_BATCH_KILL", "night_clip@5")
    out, report = tmp_path / "out", tmp_path / "r.json"
    assert batch([SAMPLES], out, "-j", "2", "--report", str(report)) == 0
    check_outputs(out, prefix="")
    rows = {r["job"]: r for r in json.loads(report.read_text())["rows"]}
    clip = rows["night_clip.mp4"]
    assert clip["status"] == "done" and clip["attempts"] == 2
    assert "killed by SIGKILL" in clip["retried"][0]
    assert rows["night_street.jpg"]["attempts"] == 1
    crashed = [r for r in manifest(out) if r["status"] == "crashed"]
    assert [(r["job"], r["signal"], r["attempt"]) for r in crashed] == [
        ("night_clip.mp4", "SIGKILL", 1)]
    assert crashed[0]["frames"] >= 1


def test_progress_bar_and_table(batch_inputs: Path, tmp_path: Path, capsys) -> None:
    """Without -q: one bar (jobs in its label, frames and a rate) and the closing table."""
    inputs = [batch_inputs / "extra", batch_inputs / "bad"]
    assert main(["batch", *map(str, inputs), "-o", str(tmp_path), "--scale", "0.5"]) == 1
    cap = capsys.readouterr()
    assert "2/3 jobs, 1 failed" in cap.err and "frame/s" in cap.err
    table = cap.out.splitlines()
    assert table[0].split() == ["status", "tries", "frames", "time", "fps", "job"]
    assert [line.split()[0] for line in table[1:4]] == ["failed", "done", "done"]
    assert table[4].startswith("3 jobs (2 done, 1 failed) in ")
    assert table[-1].startswith("  corrupt.jpg: failed: ") and "truncated" in table[-1]
