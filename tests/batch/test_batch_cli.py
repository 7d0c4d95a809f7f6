"""``nightvid batch`` option errors: one line naming the option, exit code 2, no work done."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _helpers.batch_inputs import SAMPLES
from nightvid.cli import main


def error_line(capsys, args: list[str]) -> str:
    assert main(["batch", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_ray_missing_says_how_to_install(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without Ray
    err = error_line(capsys, [str(SAMPLES), "-o", str(tmp_path / "o"), "--ray"])
    assert "--ray: Ray is not installed" in err and "pip install 'nightvid[scale]'" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra,where", [
    (["--ray", "somewhere"], "--ray: expected local, auto"),
    (["--gpus-per-job", "0.5"], "--gpus-per-job: applies to Ray"),
    (["--retries", "-1"], "--retries/--jobs"),
    (["--codec", "h264", "--bit-depth", "16"], "--bit-depth: h264 takes 8/10"),
    (["--set", "tone.nope=1"], "tone.nope"),
])
def test_bad_options(capsys, tmp_path: Path, extra: list[str], where: str) -> None:
    assert where in error_line(capsys, [str(SAMPLES), "-o", str(tmp_path / "o"), *extra])


def test_nothing_to_do(capsys, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("no raws here")
    assert "no photos, clips or videos found" in error_line(
        capsys, [str(tmp_path), "-o", str(tmp_path / "o")])
