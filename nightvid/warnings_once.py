"""Warnings printed once per distinct message (a missing field warns once, not every frame)."""

from __future__ import annotations

import logging

log = logging.getLogger("nightvid")
_seen: set[str] = set()


def warn(message: str) -> None:
    """Log ``message`` at WARNING level the first time it is seen in this process."""
    if message in _seen:
        return
    _seen.add(message)
    log.warning(message)
