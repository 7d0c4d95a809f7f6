"""Sinks: where rendered frames go (image files now; video, preview later)."""

from __future__ import annotations

from .images import IMAGE_SUFFIXES, write_image

__all__ = ["IMAGE_SUFFIXES", "write_image"]
