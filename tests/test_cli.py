"""The ``nightvid`` command line: renders, and every error case with its message and exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from _helpers.data import require
from nightvid.cli import main

NIKON = "raw/nikon_crop/DSC_1339_768x512_rggb.raw"


@pytest.fixture
def nikon(tmp_path) -> Path:
    """The Nikon crop and its sidecar, copied so tests may damage them."""
    src = require(NIKON)
    for f in (src, src.with_suffix(".json")):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / src.name


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess: exit code and stderr as users see them."""
    return subprocess.run([sys.executable, "-m", "nightvid", *args], capture_output=True,
                          text=True, timeout=300)


def expect_error(capsys, args: list[str], *needles: str) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nightvid: error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


class TestEnhance:
    @pytest.mark.parametrize("suffix,depth", [(".jpg", np.uint8), (".png", np.uint8),
                                              (".tif", np.uint16)])
    def test_formats(self, nikon, tmp_path, suffix, depth):
        out = tmp_path / f"out{suffix}"
        assert main(["enhance", str(nikon), "-o", str(out), "--size", "384x", "-q"]) == 0
        img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert img.dtype == depth and img.shape == (256, 384, 3)
        assert 0.1 < img.mean() / np.iinfo(depth).max < 0.7

    def test_png16_and_options(self, nikon, tmp_path):
        out = tmp_path / "o.png"
        code = main(["enhance", str(nikon), "-o", str(out), "--bit-depth", "16", "--scale",
                     "0.5", "--ev", "1", "--wb", "2.0,1,1.4", "--set", "tone.contrast=0.3", "-q"])
        assert code == 0
        img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert img.dtype == np.uint16 and img.shape == (256, 384, 3)

    def test_ev_changes_brightness(self, nikon, tmp_path):
        means = []
        for ev in ("-1", "1"):
            out = tmp_path / f"ev{ev}.png"
            main(["enhance", str(nikon), "-o", str(out), "--ev", ev, "--scale", "0.25", "-q",
                  "--set", "tone.contrast=0"])
            means.append(cv2.imread(str(out)).mean())
        assert means[1] > means[0] * 1.3

    def test_summary_line(self, nikon, tmp_path, capsys):
        main(["enhance", str(nikon), "-o", str(tmp_path / "s.jpg"), "--scale", "0.25"])
        out = capsys.readouterr().out
        assert "s.jpg: 192x128" in out and "WB" in out

    def test_subprocess_entry_point(self, nikon, tmp_path):
        out = tmp_path / "sub.jpg"
        r = run_cli("enhance", str(nikon), "-o", str(out), "--size", "200x", "-q")
        assert r.returncode == 0, r.stderr
        assert cv2.imread(str(out)).shape == (133, 200, 3)


class TestErrors:
    def test_missing_file(self, capsys, tmp_path):
        expect_error(capsys, ["enhance", str(tmp_path / "nope.dng"), "-o", str(tmp_path / "o.jpg")],
                     "nope.dng", "no such file")

    def test_corrupt_raw(self, capsys, tmp_path):
        bad = tmp_path / "corrupt.dng"
        bad.write_bytes(np.random.default_rng(0).integers(0, 255, 50_000, np.uint8).tobytes())
        expect_error(capsys, ["enhance", str(bad), "-o", str(tmp_path / "o.jpg")], "corrupt.dng")
        assert not (tmp_path / "o.jpg").exists()

    def test_non_raw_file(self, capsys, tmp_path):
        txt = tmp_path / "notes.nef"
        txt.write_text("this is not a raw file\n" * 100)
        expect_error(capsys, ["enhance", str(txt), "-o", str(tmp_path / "o.jpg")], "notes.nef")

    def test_truncated_raw(self, capsys, nikon, tmp_path):
        nikon.write_bytes(nikon.read_bytes()[:100_000])
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg")],
                     nikon.name, "truncated")

    def test_truncated_dng(self, capsys, tmp_path):
        src = require("raw/cinemadng/Blackmagic.dng")
        cut = tmp_path / "cut.dng"
        cut.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
        expect_error(capsys, ["enhance", str(cut), "-o", str(tmp_path / "o.jpg")], "cut.dng")
        assert not (tmp_path / "o.jpg").exists()

    def test_missing_sidecar(self, capsys, tmp_path):
        png = tmp_path / "mosaic.png"
        cv2.imwrite(str(png), np.zeros((8, 8), np.uint16))
        expect_error(capsys, ["enhance", str(png), "-o", str(tmp_path / "o.jpg")],
                     "mosaic.png", "sidecar")

    def test_missing_metadata_field(self, capsys, nikon, tmp_path):
        js = nikon.with_suffix(".json")
        data = json.loads(js.read_text())
        del data["white_level"]
        js.write_text(json.dumps(data))
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg")],
                     js.name, "white_level")

    def test_unsupported_cfa(self, capsys, nikon, tmp_path):
        js = nikon.with_suffix(".json")
        data = json.loads(js.read_text())
        data["cfa_pattern"] = [1, 1, 0, 1, 1, 2, 1, 1, 2] * 4  # 6x6 X-Trans-like
        js.write_text(json.dumps(data))
        msg = expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg")],
                           js.name)
        assert "X-Trans" in msg or "Bayer" in msg

    def test_unwritable_output(self, capsys, nikon, tmp_path):
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "no" / "dir" / "o.jpg")],
                     "o.jpg")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
    def test_read_only_dir_leaves_nothing(self, capsys, nikon, tmp_path):
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            expect_error(capsys, ["enhance", str(nikon), "-o", str(ro / "o.jpg")], "o.jpg")
            assert list(ro.iterdir()) == []
        finally:
            ro.chmod(0o700)

    def test_unknown_output_format(self, capsys, nikon, tmp_path):
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.gif")], "o.gif")

    def test_unknown_config_key_lists_valid(self, capsys, nikon, tmp_path):
        msg = expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg"),
                                    "--set", "tone.gama=2"], "tone.gama")
        assert "white_point" in msg and "contrast" in msg

    def test_unknown_profile(self, capsys, nikon, tmp_path):
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg"), "--profile",
                              "fastest"], "fastest", "default")

    def test_bad_wb(self, capsys, nikon, tmp_path):
        expect_error(capsys, ["enhance", str(nikon), "-o", str(tmp_path / "o.jpg"), "--wb",
                              "1,2"], "--wb")

    def test_no_traceback_in_subprocess(self, tmp_path):
        bad = tmp_path / "x.cr2"
        bad.write_bytes(b"\0" * 4096)
        r = run_cli("enhance", str(bad), "-o", str(tmp_path / "o.jpg"))
        assert r.returncode == 2
        assert "Traceback" not in r.stderr and "x.cr2" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


class TestInfoAndList:
    def test_info_lists_fields_and_assumed(self, capsys):
        assert main(["info", str(require("raw/n900/bayer_small.png"))]) == 0
        out = capsys.readouterr().out
        assert "256x344" in out or "344" in out
        assert "GRBG" in out
        assert "assumed defaults:" in out and "as_shot_neutral" in out

    def test_list(self, capsys):
        assert main(["list"]) == 0
        out = capsys.readouterr().out
        assert "default" in out and "quality" in out and ".dng" in out
