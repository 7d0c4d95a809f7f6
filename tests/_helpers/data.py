"""Where the shared real data lives: ``$NIGHTVID_DATA``, else ``<repo>/../shared/data``.

Tests that need a file call :func:`require`, which skips the test (with the path and how to
point at the data) when the file is absent, e.g. on a machine without the shared folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The shared data folder (it may not exist)."""
    env = os.environ.get("NIGHTVID_DATA")
    return Path(env) if env else (_REPO.parent / "shared" / "data").resolve()


def require(path: str | Path) -> Path:
    """``path`` (relative to :func:`data_dir` unless absolute) if it exists, else skip the test.

    Args:
        path: e.g. ``"raw/cinemadng/Blackmagic.dng"``.
    Returns:
        The absolute path.
    """
    p = Path(path)
    p = p if p.is_absolute() else data_dir() / p
    if not p.exists():
        pytest.skip(f"shared data not found: {p} (set NIGHTVID_DATA to the data folder)")
    return p
