"""Remake the README's live-preview screenshots: the window (under Xvfb) and the browser page
(headless Chromium), both showing the bundled raw clip played as a live source.

    python3 docs/make_preview_screenshots.py     # needs Xvfb and chromium (apt-get install)

Writes docs/preview_window.png and docs/preview_browser.png. The same helpers take the test
screenshots (tests/preview/test_views.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _helpers.screens import chromium_screenshot, content_box, read_xwd, xvfb  # noqa: E402
from nightvid.preview import PreviewOptions, PreviewSession  # noqa: E402
from nightvid.preview.capture import ReplayCapture  # noqa: E402

CLIP = ROOT / "samples" / "night_clip"
SETTLE_S = 4.0  # let the temporal filter and the white balance settle before the shot


def window_shot(tmp: Path) -> np.ndarray:
    with xvfb(tmp / "screen", size=(1280, 800)) as (display, screen):
        proc = subprocess.Popen(
            [sys.executable, "-m", "nightvid", "preview", str(CLIP), "--realtime", "--loop",
             "--window", "--duration", "120"], env={**os.environ, "DISPLAY": display},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                box = content_box(read_xwd(screen), 255)
                if box is not None and box[2] - box[0] > 100 and box[3] < 1280:
                    break
                time.sleep(0.1)
            time.sleep(SETTLE_S)
            shot = read_xwd(screen)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    top, left, bottom, right = content_box(shot, 255)
    return shot[top:bottom, left:right]


def browser_shot(tmp: Path) -> np.ndarray:
    urls: list[str] = []
    session = PreviewSession(ReplayCapture(CLIP, realtime=True, loop=True), options=PreviewOptions(
        serve=("127.0.0.1", 0), duration_s=120, snapshot_dir=tmp,
        announce=lambda text: urls.append(text.split()[-1])))
    thread = threading.Thread(target=session.run)
    thread.start()
    try:
        while not urls or session.status()["frames"] < 5:
            time.sleep(0.1)
        time.sleep(SETTLE_S)
        shot = chromium_screenshot(urls[0], tmp / "browser.png", size=(900, 620))
    finally:
        session.command("quit")
        thread.join(30)
    top, left, bottom, right = content_box(shot, int(shot[-1, -1, 0]))  # the page's background
    return shot[: bottom + 10, : max(right + 10, 640)]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, shot in (("preview_window.png", window_shot(tmp)),
                           ("preview_browser.png", browser_shot(tmp))):
            path = ROOT / "docs" / name
            cv2.imwrite(str(path), np.ascontiguousarray(shot[..., ::-1]),
                        [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(f"{path}: {shot.shape[1]}x{shot.shape[0]}")


if __name__ == "__main__":
    main()
