"""One job through the engine (per-frame callback, atomic output) and an interrupted batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _helpers.batch_inputs import SAMPLES, STACK_FRAMES, make_batch_inputs, video_frames
from nightvid.batch.discover import discover
from nightvid.batch.job import render_job
from nightvid.batch.manifest import MANIFEST_NAME
from nightvid.batch.records import RenderSettings
from nightvid.cli import main
from nightvid.config import load_config
from nightvid.errors import SourceError


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test inputs (see ``_helpers/batch_inputs.py``), built once for this module."""
    return make_batch_inputs(tmp_path_factory.mktemp("batch_inputs"))


def settings() -> RenderSettings:
    cfg = load_config("fast", {"output.scale": 0.5})
    return RenderSettings(photo_config=cfg, stream_config=cfg)


def test_stream_job_reports_every_frame(batch_inputs: Path, tmp_path: Path) -> None:
    (job,) = discover([batch_inputs / "extra" / "stack.npy"], tmp_path)
    calls: list[int] = []
    assert render_job(job, settings(), calls.append) == STACK_FRAMES
    assert calls == list(range(1, STACK_FRAMES + 1))
    assert video_frames(job.output)[0] == STACK_FRAMES and not job.part.exists()


def test_failed_job_leaves_no_output(batch_inputs: Path, tmp_path: Path) -> None:
    (job,) = discover([batch_inputs / "bad" / "corrupt.dng"], tmp_path)
    job.part.write_bytes(b"left by a crashed attempt")
    with pytest.raises(SourceError, match="corrupt.dng"):
        render_job(job, settings())
    assert not job.output.exists() and not job.part.exists()


def test_sigterm_stops_the_batch_and_a_rerun_finishes(tmp_path: Path) -> None:
    """SIGTERM to the driver: the running job closes and drops its temporary output, the
    manifest says "interrupted", the exit code is 130; the same command then completes."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nightvid", "batch", str(SAMPLES / "night_clip"), "-o",
           str(out), "-q", "--scale", "0.25"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    manifest = out / MANIFEST_NAME
    deadline = time.monotonic() + 60
    while not (manifest.exists() and "running" in manifest.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "re-run the same command" in err
    statuses = [json.loads(s)["status"] for s in manifest.read_text().splitlines()]
    assert statuses == ["running", "interrupted"]
    assert not (out / "night_clip.mp4").exists() and not list(out.glob(".*.part*"))
    assert main(cmd[3:]) == 0  # the same command, in this process
    assert video_frames(out / "night_clip.mp4")[0] == 24
