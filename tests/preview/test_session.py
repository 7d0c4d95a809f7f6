"""The live preview end to end on a clip played as a live source (headless: no views)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from _helpers.live_clips import (
    CLIP_FPS,
    CLIP_FRAMES,
    CLIP_SIZE,
    make_dark_clip,
    read_video,
)
from nightvid.config import load_config
from nightvid.errors import ConfigError, SourceError
from nightvid.preview import PreviewOptions, PreviewSession
from nightvid.preview.adaptive import AdaptiveController, ladder
from nightvid.preview.camera import CameraCapture
from nightvid.preview.capture import AvCapture, ReplayCapture

CLIP_S = CLIP_FRAMES / CLIP_FPS
SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "samples" / "night_clip"


@pytest.fixture(scope="module")
def dark_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.mp4")


def test_frames_reach_the_preview_and_the_recording_plays(dark_clip, tmp_path):
    out = tmp_path / "rec.mp4"
    session = PreviewSession(AvCapture(str(dark_clip), realtime=True),
                             options=PreviewOptions(record=out))
    summary = session.run()
    assert summary.captured == CLIP_FRAMES
    assert summary.frames >= 10, summary.format()  # frames reached the preview (>= 4 fps)
    assert summary.frames + summary.dropped == summary.captured
    status = session.status()
    assert status["frames"] == summary.frames and status["composite_size"] == list(CLIP_SIZE)
    assert len(status["hud"]) == 2 and "fps" in status["hud"][0]
    # The recording: the frames the preview showed (but for any the encoder fell behind on,
    # on a busy machine), at the display size, spanning the clip at capture timestamps.
    [(path, n)] = summary.recordings
    frames, size, last_s = read_video(Path(path))
    assert frames == n and n >= 0.8 * summary.frames and size == CLIP_SIZE, summary.format()
    assert CLIP_S - 0.6 < last_s < CLIP_S + 0.3, last_s


def test_latency_stays_bounded_when_processing_is_slow(dark_clip):
    slow_ms = 250.0  # far slower than the 33 ms between frames
    session = PreviewSession(AvCapture(str(dark_clip), realtime=True), overrides={
        "preview.slow_ms": slow_ms, "preview.adapt": False})
    summary = session.run()
    lat, work = np.array(session.stats.latencies_ms), np.array(session.stats.work_ms)
    # Latency = the wait in the reader's one-frame slot (at most one frame interval, plus the
    # loop's bookkeeping and, on a busy machine, some scheduling slack) + one slow frame's
    # work. A queue would instead add ~220 ms per frame shown: seconds by the end.
    # (The clip's last frame is left out: nothing newer replaces it at the end of the file.)
    lat, work = lat[:-1], work[:-1]
    wait = lat - work
    interval_ms = 1000 / CLIP_FPS
    assert wait.max() < interval_ms + 120 and np.median(wait) < interval_ms + 15
    assert lat.max() < work.max() + interval_ms + 120
    # Drops rise instead: most frames are skipped, and the preview still follows the clip.
    assert summary.dropped >= 0.7 * summary.captured
    assert summary.frames >= 0.6 * CLIP_S / (slow_ms / 1000)


def test_adaptive_quality_lowers_the_work_size(dark_clip):
    session = PreviewSession(AvCapture(str(dark_clip), realtime=True), overrides={
        "preview.target_ms": 1.0, "preview.settle_frames": 2})  # a budget nothing meets
    session.run()
    status = session.status()
    assert status["adaptive"]["level"] == status["adaptive"]["levels"] - 1
    assert status["adaptive"]["over_budget"]
    assert status["work_size"][0] <= CLIP_SIZE[0] * 0.25 + 2  # rendered at the smallest size
    assert status["composite_size"] == list(CLIP_SIZE)  # ... shown at the full size
    assert "dropping frames" in status["hud"][1]


def test_controller_steps_down_up_and_does_not_oscillate():
    c = AdaptiveController(target_ms=100, levels=4, settle_frames=2, retry_s=10)
    assert [c.update(150, now=t) for t in (0, 0.1)] == [None, 1]  # over budget: down
    assert [c.update(80, now=t) for t in (0.2, 0.3)] == [None, None]  # fits: stay
    assert [c.update(40, now=t) for t in (0.4, 0.5, 0.6)] == [None, None, None]  # level 0 was
    assert c.update(40, now=10.2) == 0  # too slow 10 s ago: retried only now
    c.enabled = False
    assert [c.update(500, now=20 + t) for t in range(5)] == [None] * 5


def test_ladder_offers_only_stages_the_profile_runs():
    labels = [s.label for s in ladder(load_config("default", {"sky.enabled": False}))]
    assert labels[0] == "full quality" and not any("sky" in x for x in labels)
    assert [s.scale for s in ladder(load_config("default", {"preview.min_scale": 0.5}))][-1] \
        == 0.5


def wait_for(session: PreviewSession, key: str, value: object, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while session.status().get(key) != value:
        assert time.monotonic() < deadline, (key, session.status().get(key), value)
        time.sleep(0.05)


def test_commands_switch_view_profile_and_stages(dark_clip):
    session = PreviewSession(AvCapture(str(dark_clip), realtime=True, loop=True),
                             options=PreviewOptions(duration_s=30))
    thread = threading.Thread(target=session.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while session.status()["frames"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.command("view", "side")["view"] == "side"
        wait_for(session, "composite_size", [2 * CLIP_SIZE[0], CLIP_SIZE[1]])
        assert session.command("toggle", "sky")["stages"]["sky"] is False
        status = session.command("profile", "fast")
        assert status["profile"] == "fast" and status["stages"]["sky"] is True
        # fast renders at half size: frames change size mid-stream, and the preview goes on.
        wait_for(session, "composite_size", [CLIP_SIZE[0], CLIP_SIZE[1] // 2])
        session.command("profile", "preview")
        wait_for(session, "composite_size", [2 * CLIP_SIZE[0], CLIP_SIZE[1]])
        frames = session.status()["frames"]
        time.sleep(0.5)
        assert session.status()["frames"] > frames and thread.is_alive()
        with pytest.raises(ConfigError, match="view: expected one of split, side"):
            session.command("view", "upside-down")
        with pytest.raises(ConfigError, match="command: expected one of"):
            session.command("explode")
    finally:
        session.command("quit")
        thread.join(20)
    assert not thread.is_alive()


def test_raw_clip_preview_is_brighter_than_the_original():
    session = PreviewSession(ReplayCapture(SAMPLE_CLIP, realtime=True),
                             options=PreviewOptions(max_frames=6))
    session.run()
    composite, enhanced, _ = session._last
    half = composite.shape[1] // 2
    assert composite[:, half + 2:].mean() > 4 * composite[:, : half - 2].mean()


def test_camera_gone_finalises_the_recording(dark_clip, tmp_path):
    import cv2

    out = tmp_path / "rec.mp4"
    camera = CameraCapture(str(dark_clip), api=cv2.CAP_FFMPEG)  # ends like an unplugged camera
    session = PreviewSession(camera, options=PreviewOptions(record=out))
    with pytest.raises(SourceError) as info:
        session.run()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{dark_clip}: the camera stopped sending frames")
    n = int(message.split("finalised (")[1].split(" ")[0])
    assert f"recording {out} finalised" in message and n > 0
    assert read_video(out)[0] == n  # playable, every frame recorded
