"""The preview's commands, shared by the window's keys and the browser's buttons.

Commands come from other threads (HTTP handlers) or from the loop itself (keys); they are
queued and applied by the loop between frames, so the pipeline is only ever changed by the
thread that runs it. A waiting caller gets the state after its command was applied.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

from ..config import profile_names
from ..errors import ConfigError
from .compose import VIEWS

#: Every command (the argument each takes: see :func:`validate`).
COMMANDS = ("quit", "view", "profile", "toggle", "adapt", "snapshot", "record", "hud")


def validate(name: str, arg: str, stages: Iterable[str]) -> None:
    """Check a command and its argument.

    ``view`` split|side|enhanced|original|next; ``profile`` NAME|next; ``toggle`` one of
    ``stages``; the others take none.

    Raises:
        ConfigError: unknown command or argument (the message lists the valid ones).
    """
    valid: list[str] | None = None
    if name == "view":
        valid = [*VIEWS, "next"]
    elif name == "profile":
        valid = [*profile_names(), "next"]
    elif name == "toggle":
        valid = list(stages)
    elif name not in COMMANDS:
        raise ConfigError(f"command: expected one of {', '.join(COMMANDS)}, got {name!r}")
    if valid is not None and arg not in valid:
        raise ConfigError(f"{name}: expected one of {', '.join(valid)}, got {arg!r}")


class CommandQueue:
    """Commands waiting for the loop, each with an optional event set once it is applied."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[tuple[str, str, threading.Event | None]] = (
            queue.SimpleQueue())

    def put(self, name: str, arg: str = "", wait_s: float | None = None) -> None:
        """Queue a command; with ``wait_s``, wait (up to that long) until it is applied."""
        done = threading.Event() if wait_s is not None else None
        self._q.put((name, arg, done))
        if done is not None:
            done.wait(wait_s)

    def drain(self, apply: Callable[[str, str], None]) -> None:
        """Apply every queued command in order (the loop's thread)."""
        while True:
            try:
                name, arg, done = self._q.get_nowait()
            except queue.Empty:
                return
            try:
                apply(name, arg)
            finally:
                if done is not None:
                    done.set()
