"""Fixtures for the live-preview tests: the dark clip as MP4 and as MPEG-TS."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers.live_clips import make_dark_clip


@pytest.fixture(scope="session")
def dark_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.mp4")


@pytest.fixture(scope="session")
def dark_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same clip as MPEG-TS: a stream format that can be served over HTTP and cut."""
    return make_dark_clip(tmp_path_factory.mktemp("clips") / "dark.ts", fmt="mpegts")
