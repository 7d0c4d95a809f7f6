"""Live capture: files played as live sources, the newest-frame slot, reconnection, faults."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from _helpers.live_clips import CLIP_FPS, CLIP_FRAMES, CLIP_SIZE, make_dark_clip
from nightvid.errors import SourceError
from nightvid.preview.camera import CameraCapture
from nightvid.preview.capture import AvCapture, ReplayCapture, open_capture
from nightvid.preview.reader import LatestFrameReader

CLIP_DIR = Path(__file__).resolve().parents[2] / "samples" / "night_clip"


@pytest.fixture(scope="module")
def dark_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.mp4")


@pytest.fixture(scope="module")
def dark_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip as MPEG-TS: a stream format that can be served over HTTP and cut."""
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.ts", fmt="mpegts")


def test_open_capture_picks_by_spec(dark_clip):
    assert isinstance(open_capture("0"), CameraCapture)
    assert isinstance(open_capture("/dev/video7"), CameraCapture)
    assert isinstance(open_capture("rtsp://127.0.0.1:1/x"), AvCapture)
    assert open_capture("udp://127.0.0.1:1").live
    assert isinstance(open_capture(str(dark_clip)), AvCapture)
    assert isinstance(open_capture(str(CLIP_DIR)), ReplayCapture)
    with pytest.raises(SourceError, match="nope.mkv: not a camera index"):
        open_capture("nope.mkv")


def test_missing_camera_device_is_one_clear_line():
    with pytest.raises(SourceError, match=r"/dev/video77: no such device"):
        CameraCapture("/dev/video77").open()


def test_realtime_file_keeps_its_pace(dark_clip):
    cap = AvCapture(str(dark_clip), realtime=True)
    cap.open()
    t0 = time.monotonic()
    for _ in range(15):
        data, meta = cap.read()
    elapsed = time.monotonic() - t0
    cap.close()
    assert data.shape == (CLIP_SIZE[1], CLIP_SIZE[0], 3) and data.dtype == np.uint8
    assert meta is None
    assert 14 / CLIP_FPS - 0.05 < elapsed < 14 / CLIP_FPS + 0.25


def test_reader_keeps_only_the_newest_frame(dark_clip):
    reader = LatestFrameReader(AvCapture(str(dark_clip), realtime=True)).start()
    taken = []
    while (item := reader.take(timeout=1.0)) is not None or not reader.ended:
        if item is None:
            continue
        # The frame handed over is the one captured last: younger than one frame interval
        # (plus scheduling slack), however long the consumer dawdled.
        assert time.monotonic() - item.t_capture < 1.0 / CLIP_FPS + 0.05
        taken.append(item.seq)
        time.sleep(0.1)  # a slow consumer: ~3 frames arrive per take
    reader.stop()
    assert reader.captured == CLIP_FRAMES
    assert taken == sorted(taken) and len(taken) < CLIP_FRAMES / 2
    assert reader.dropped == reader.captured - len(taken)


def test_raw_clip_replays_as_a_live_source():
    reader = LatestFrameReader(ReplayCapture(CLIP_DIR, realtime=True)).start()
    item = reader.take(timeout=5.0)
    reader.stop()
    assert item is not None and item.meta is not None
    assert item.data.ndim == 2 and item.meta.cfa == "RGGB"


def test_camera_that_stops_raises_one_line(dark_clip):
    # OpenCV's own VideoCapture, as for a camera; its frames end like an unplugged device's.
    cap = CameraCapture(str(dark_clip), api=cv2.CAP_FFMPEG)
    reader = LatestFrameReader(cap).start()
    with pytest.raises(SourceError, match="dark.mp4: the camera stopped sending frames"):
        while reader.take(timeout=2.0) is not None or not reader.ended:
            pass
    assert reader.captured == CLIP_FRAMES
    reader.stop()


class _FlakyStream(BaseHTTPRequestHandler):
    """Serves the clip; the first connection is cut half way (a dropped network link)."""

    data = b""
    requests = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests += 1
        body = self.data[: len(self.data) // 2] if self.requests == 1 else self.data
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


@pytest.fixture
def flaky_url(dark_ts):
    handler = type("Handler", (_FlakyStream,), {"data": dark_ts.read_bytes(), "requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/clip.ts", handler, server
    server.shutdown()
    server.server_close()


def test_url_reconnects_with_backoff(flaky_url):
    url, handler, _ = flaky_url
    reader = LatestFrameReader(AvCapture(url), backoff_s=(0.05, 0.2)).start()
    deadline = time.monotonic() + 20
    while reader.reconnects < 2 and time.monotonic() < deadline:
        reader.take(timeout=0.5)
    reader.stop()
    assert reader.reconnects >= 2 and handler.requests >= 3
    # Half the clip before the cut, all of it after the first reconnection.
    assert reader.captured >= CLIP_FRAMES // 2 + CLIP_FRAMES - 8


def test_url_that_stays_down_gives_up(flaky_url):
    url, handler, server = flaky_url
    reader = LatestFrameReader(AvCapture(url, open_timeout_s=1, read_timeout_s=1),
                               reconnect_max_s=1.0, backoff_s=(0.1, 0.2)).start()
    server.shutdown()
    server.server_close()  # the server goes away for good
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"clip.ts.*gave up reconnecting after \d+ s"):
        while reader.take(timeout=1.0) is not None or not reader.ended:
            assert time.monotonic() - t0 < 20
    reader.stop()


def test_unreachable_url_fails_at_start():
    with pytest.raises(SourceError, match=r"http://127.0.0.1:9/x.ts: cannot open"):
        LatestFrameReader(AvCapture("http://127.0.0.1:9/x.ts", open_timeout_s=2)).start()
