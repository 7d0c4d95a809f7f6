"""Shared fixtures: where the shared data lives (tests that need it skip without it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/_helpers importable


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
