"""Screens for the preview tests: a virtual X display (Xvfb) and headless Chromium.

Both are real programs started by the test (Debian packages ``xvfb`` and ``chromium``; ``.ci/run``
installs them). Screenshots come back as (H, W, 3) uint8 RGB arrays:

* Xvfb keeps its screen in a file (``-fbdir``) in XWD format, read here without any X client;
* Chromium writes a PNG with ``--headless --screenshot``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np


def xvfb_binary() -> str | None:
    return shutil.which("Xvfb")


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


@contextmanager
def xvfb(folder: Path, size: tuple[int, int] = (1024, 768)) -> Iterator[tuple[str, Path]]:
    """Start Xvfb on a free display with a white root window; yields (DISPLAY, screen file)."""
    binary = xvfb_binary()
    assert binary is not None
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    else:
        raise RuntimeError("no free X display number in :90-:139")
    proc = subprocess.Popen(
        [binary, f":{n}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-fbdir", str(folder),
         "-nolisten", "tcp", "-wr"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{n} did not start (exit code {proc.poll()})")
            time.sleep(0.05)
        yield f":{n}", folder / "Xvfb_screen0"
    finally:
        proc.terminate()
        proc.wait(10)


def read_xwd(path: Path) -> np.ndarray:
    """The screen in an XWD file (Xvfb's ``-fbdir``, 24-bit TrueColor) as (H, W, 3) RGB."""
    data = path.read_bytes()
    header = struct.unpack(">25I", data[:100])
    header_size, width, height = header[0], header[4], header[5]
    bits_per_pixel, bytes_per_line, ncolors = header[11], header[12], header[19]
    assert bits_per_pixel == 32 and header[7] == 0, "expected 32-bit LSB-first pixels"
    offset = header_size + 12 * ncolors
    rows = np.frombuffer(data, np.uint8, bytes_per_line * height, offset)
    bgrx = rows.reshape(height, bytes_per_line)[:, : width * 4].reshape(height, width, 4)
    return np.ascontiguousarray(bgrx[..., 2::-1])  # BGRX -> RGB


def chromium_screenshot(url: str, out: Path, size: tuple[int, int] = (900, 600),
                        wait_ms: int = 1500) -> np.ndarray:
    """Load ``url`` in headless Chromium, screenshot it to ``out`` (PNG); (H, W, 3) RGB."""
    binary = chromium_binary()
    assert binary is not None
    env = {**os.environ, "HOME": str(out.parent)}  # a profile folder it may write to
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--force-device-scale-factor=1", f"--window-size={size[0]},{size[1]}",
           f"--user-data-dir={out.parent / 'chromium-profile'}",
           f"--virtual-time-budget={wait_ms}", f"--screenshot={out}", url]
    subprocess.run(cmd, check=True, timeout=90, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None, f"{out}: no screenshot written"
    return np.ascontiguousarray(img[..., ::-1])


def content_box(img: np.ndarray, background: int) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the pixels that differ from a uniform ``background``."""
    ys, xs = np.nonzero(np.any(img != background, axis=2))
    if ys.size == 0:
        return None
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1
