"""The preview window (OpenCV HighGUI): the composite with its HUD, and keys for the controls.

HighGUI is not thread-safe: the window is created, drawn and polled from the thread that runs
the preview loop. Keys become the same commands the browser page posts
(:meth:`~nightvid.preview.session.PreviewSession.command`).

The window is opened at the screen's top-left corner, without HighGUI's toolbar and status bar
(``WINDOW_GUI_NORMAL``), so what it shows is exactly the composite and its HUD.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import cv2
import numpy as np

from ..errors import ConfigError

#: Key -> command (name, argument). Printed by ``nightvid preview --help``.
KEYS: dict[str, tuple[str, str]] = {
    "q": ("quit", ""), "\x1b": ("quit", ""),
    "v": ("view", "next"), "p": ("profile", "next"),
    "d": ("toggle", "denoise"), "t": ("toggle", "temporal"), "s": ("toggle", "sky"),
    "n": ("toggle", "refine"), "a": ("adapt", ""),
    "c": ("snapshot", ""), " ": ("snapshot", ""), "r": ("record", ""), "h": ("hud", ""),
}
KEY_HELP = ("keys: v view (split/side/enhanced/original), p next profile, d/t/s/n toggle "
            "denoise/temporal/sky/refine, a adaptive quality on/off, c or space snapshot, "
            "r record on/off, h HUD, q or Esc quit")


class PreviewWindow:
    """A HighGUI window that shows RGB frames and turns key presses into commands.

    Args:
        on_command: called with (name, argument) for each key that maps to a command, and
            with ("quit", "") when the window is closed.
        title: window title.
    Raises:
        ConfigError (from :meth:`open`): no display, or an OpenCV without a GUI backend.
    """

    def __init__(self, on_command: Callable[[str, str], None],
                 title: str = "nightvid preview") -> None:
        self.on_command, self.title = on_command, title
        self._shown = False

    def open(self) -> None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                     or os.environ.get("WAYLAND_DISPLAY")):
            raise ConfigError("--window: no display (DISPLAY is not set); use --serve for the "
                              "browser view, or run under Xvfb")
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
            cv2.moveWindow(self.title, 0, 0)
        except cv2.error as exc:
            raise ConfigError("--window: this OpenCV has no GUI backend (opencv-python-headless?"
                              f"); install opencv-python ({exc.err})") from None

    def show(self, rgb: np.ndarray) -> None:
        """Draw an (H, W, 3) uint8 RGB frame and handle the keys pressed since the last call."""
        cv2.imshow(self.title, np.ascontiguousarray(rgb[..., ::-1]))  # HighGUI wants BGR
        self._shown = True
        self.poll()

    def poll(self) -> None:
        """Handle pending key presses and window events (call often, also without frames)."""
        key = cv2.waitKey(1)
        if key >= 0:
            command = KEYS.get(chr(key & 0xFF))
            if command is not None:
                self.on_command(*command)
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.on_command("quit", "")  # closed with the window manager's button

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass  # already gone
