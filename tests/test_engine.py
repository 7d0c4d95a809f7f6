"""The streaming engine end to end on the bundled raw clip: outputs, order, errors, interrupts."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nightvid.cli import main
from nightvid.config import load_config
from nightvid.engine import Engine
from nightvid.sources import open_source

CLIP = Path(__file__).resolve().parents[1] / "samples" / "night_clip"


def probe(path: Path) -> tuple[int, Fraction, str, str]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, s.average_rate, s.codec_context.name, s.codec_context.pix_fmt


@pytest.mark.parametrize("args,codec,pix_fmt", [
    ([], "h264", "yuv420p"),
    (["--codec", "hevc", "--bit-depth", "10"], "hevc", "yuv420p10le"),
])
def test_clip_to_video(tmp_path, args, codec, pix_fmt):
    out = tmp_path / "clip.mp4"
    assert main(["enhance", str(CLIP), "-o", str(out), "--scale", "0.5", "-q", *args]) == 0
    assert probe(out) == (24, Fraction(24), codec, pix_fmt)


@pytest.mark.parametrize("suffix,codec", [(".mov", "prores"), (".mkv", "ffv1")])
def test_prores_and_ffv1(tmp_path, suffix, codec):
    out = tmp_path / f"clip{suffix}"
    assert main(["enhance", str(CLIP), "-o", str(out), "--scale", "0.25", "-q"]) == 0
    n, rate, name, _ = probe(out)
    assert (n, rate, name) == (24, Fraction(24), codec)


def test_iterator_form_detects_the_cut_and_keeps_order():
    cfg = load_config("fast")
    with open_source(CLIP) as src:
        outs = list(Engine(cfg).frames(src))
    assert [o.frame.index for o in outs] == list(range(24))
    cuts = [o.frame.index for o in outs if o.info.cut]
    assert cuts == [16]
    # The cut resets the temporal memory: the first frame after it averages nothing.
    assert outs[16].info.temporal_frames == pytest.approx(1.0)
    assert outs[15].info.temporal_frames > 2.0


def test_frames_to_png_sequence_and_resume(tmp_path):
    out = tmp_path / "frames"
    assert main(["enhance", str(CLIP), "-o", str(out), "--scale", "0.25", "-q"]) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 24
    for f in files[12:]:
        f.unlink()
    assert main(["enhance", str(CLIP), "-o", str(out), "--scale", "0.25", "-q", "--resume"]) == 0
    assert len(sorted(out.glob("*.png"))) == 24


def test_size_change_names_frame_and_keeps_video(tmp_path, capsys):
    clip = tmp_path / "clip"
    clip.mkdir()
    for f in sorted(CLIP.glob("*.dng"))[:6]:
        shutil.copy(f, clip / f.name)
    # Replace frame 4 with a frame of another size (the photo sample).
    shutil.copy(CLIP.parent / "night_street.dng", clip / "frame_0004.dng")
    out = tmp_path / "o.mkv"
    code = main(["enhance", str(clip), "-o", str(out), "--scale", "0.25", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "frame_0004.dng" in err and "size" in err
    assert probe(out)[0] == 4  # the frames before it stay playable


def test_sigterm_finalises_video(tmp_path):
    """A signal mid-encode: the file plays up to a frame near the interruption."""
    clip = tmp_path / "long"
    clip.mkdir()
    frames = sorted(CLIP.glob("*.dng"))
    for i in range(96):  # the clip four times over, renamed in order
        shutil.copy(frames[i % 16], clip / f"frame_{i:04d}.dng")
    out = tmp_path / "int.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "nightvid", "enhance", str(clip), "-o",
                             str(out), "--scale", "0.5", "--fps", "24"],
                            stderr=subprocess.PIPE, text=True)
    # Wait until some frames are encoded, then interrupt.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    n = probe(out)[0]
    assert 1 <= n < 96
    assert "interrupted" in err


def test_rgb_video_path(tmp_path):
    """Dark sRGB video takes the RGB path and comes out brighter."""
    src = tmp_path / "dark.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        for _ in range(8):
            img = np.clip(12 + rng.normal(0, 3, (64, 96, 3)), 0, 255).astype(np.uint8)
            img[20:40, 30:60] = (40, 30, 20)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out = tmp_path / "bright.mkv"
    assert main(["enhance", str(src), "-o", str(out), "-q"]) == 0
    with av.open(str(out)) as c:
        imgs = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(imgs) == 8
    assert np.mean(imgs[-1]) > 2 * 14
