"""The two views, on real screens: the HighGUI window under Xvfb, the page in headless Chromium.

Each test screenshots what a person would see and checks it: not blank, and the enhanced
(right) half of the split screen brighter than the original (left) half.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from _helpers.live_clips import (
    CLIP_SIZE,
    make_dark_clip,
    read_video,
)
from _helpers.screens import (
    chromium_binary,
    chromium_screenshot,
    content_box,
    read_xwd,
    xvfb,
    xvfb_binary,
)
from nightvid.preview import PreviewOptions, PreviewSession
from nightvid.preview.capture import AvCapture
from nightvid.preview.compose import HUD_LINE_PX

needs_xvfb = pytest.mark.skipif(xvfb_binary() is None,
                                reason="Xvfb not installed (apt-get install xvfb)")
needs_chromium = pytest.mark.skipif(chromium_binary() is None,
                                    reason="Chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def dark_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.mp4")


def check_split(picture: np.ndarray) -> None:
    """A before/after split screen: both halves have content, the enhanced one is brighter."""
    w = picture.shape[1]
    original, enhanced = picture[:, : w // 2 - 2], picture[:, w // 2 + 2:]
    assert picture.std() > 10, "blank screenshot"
    assert enhanced.std() > 5 and original.max() > original.min(), "a half is uniform"
    assert enhanced.mean() > 3 * original.mean() + 20, (enhanced.mean(), original.mean())


def wait_for_window(screen: Path, proc: subprocess.Popen, min_h: int) -> np.ndarray:
    """The screen once a window of at least ``min_h`` rows shows on the white root."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        img = read_xwd(screen)
        box = content_box(img, 255)
        if box is not None and min_h <= box[2] - box[0] < img.shape[0]:
            return img
        time.sleep(0.1)
    raise AssertionError("no window appeared")


@needs_xvfb
def test_window_under_xvfb(dark_clip, tmp_path):
    record = tmp_path / "rec.mp4"
    with xvfb(tmp_path / "screen") as (display, screen):
        proc = subprocess.Popen(
            [sys.executable, "-m", "nightvid", "preview", str(dark_clip), "--realtime", "--loop",
             "--window", "--record", str(record), "--duration", "60"],
            env={**os.environ, "DISPLAY": display}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            wait_for_window(screen, proc, CLIP_SIZE[1])
            time.sleep(1.5)  # white balance and exposure settle
            shot = read_xwd(screen)
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: everything closes cleanly
            out, err = proc.communicate(timeout=30)
    cv2.imwrite(str(tmp_path / "window.png"), shot[..., ::-1])
    top, left, bottom, right = content_box(shot, 255)
    assert (top, left, right) == (0, 0, CLIP_SIZE[0])  # the window, at the top-left corner
    picture, hud = shot[: CLIP_SIZE[1], : CLIP_SIZE[0]], shot[CLIP_SIZE[1]: bottom, :right]
    check_split(picture)
    assert bottom - CLIP_SIZE[1] >= 2 * HUD_LINE_PX and hud.std() > 5  # the HUD's text
    assert proc.returncode == 0, err
    assert "stopped by Ctrl-C" in out and f"recorded {record}" in out
    frames = int(out.split(f"recorded {record} (")[1].split(" ")[0])
    assert frames > 0 and read_video(record)[:2] == (frames, CLIP_SIZE)


def _post(url: str, origin: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST",
                                     headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@needs_chromium
def test_browser_page_in_headless_chromium(dark_clip, tmp_path):
    urls: list[str] = []
    session = PreviewSession(
        AvCapture(str(dark_clip), realtime=True, loop=True),
        options=PreviewOptions(serve=("127.0.0.1", 0), snapshot_dir=tmp_path, duration_s=90,
                               announce=lambda text: urls.append(text.split()[-1])))
    thread = threading.Thread(target=session.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while session.status()["frames"] < 20:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.1)
        url = urls[0]
        shot = chromium_screenshot(url, tmp_path / "browser.png", size=(900, 600))
        check_split(shot[: CLIP_SIZE[1], : CLIP_SIZE[0]])  # the stream at the top-left
        below = shot[CLIP_SIZE[1] + 10:, :]
        assert below.std() > 5  # the HUD figures and the buttons
        # The controls, as the page's buttons post them.
        code, status = _post(url + "control/view/side")
        assert code == 200 and status["view"] == "side"
        deadline = time.monotonic() + 10
        while session.status()["composite_size"] != [2 * CLIP_SIZE[0], CLIP_SIZE[1]]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        with urllib.request.urlopen(url + "frame.jpg", timeout=10) as response:
            jpeg = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        assert jpeg.shape == (CLIP_SIZE[1], 2 * CLIP_SIZE[0], 3)
        code, status = _post(url + "control/snapshot")
        assert code == 200 and all(Path(p).is_file() for p in status["snapshot"])
        assert _post(url + "control/toggle/warp-drive")[0] == 400
        assert _post(url + "control/record", origin="http://evil.example")[0] == 403
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b'<img id="live" src="/stream.mjpg"' in response.read()
    finally:
        session.command("quit")
        thread.join(30)
    assert not thread.is_alive()
    with pytest.raises(OSError):  # the server is closed
        urllib.request.urlopen(urls[0] + "status", timeout=2)
