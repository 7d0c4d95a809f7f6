"""The browser view: a small HTTP server (stdlib) with the live stream and the controls.

Endpoints:

* ``GET /``: the page (:mod:`nightvid.preview.page`).
* ``GET /stream.mjpg``: the composite as MJPEG (``multipart/x-mixed-replace``), each new
  frame once; ``GET /frame.jpg``: the newest frame as one JPEG.
* ``GET /status``: the HUD figures and the control state as JSON.
* ``POST /control/<command>[/<argument>]``: ``view/split``, ``profile/fast``, ``toggle/sky``,
  ``adapt``, ``snapshot``, ``record`` ...; answers with the status.

It binds 127.0.0.1 unless told otherwise: the page controls recording and writes files. A
POST from another origin (a web page the user happens to visit) is refused.

JPEG encoding happens in the requesting thread, once per frame however many viewers there
are, and not at all when nobody watches.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from ..errors import ConfigError
from .page import PAGE

_BOUNDARY = "nightvidframe"


class FrameHub:
    """The newest composite, handed from the preview loop to the HTTP threads."""

    def __init__(self, jpeg_quality: int = 80) -> None:
        self.jpeg_quality = jpeg_quality
        self._cond = threading.Condition()
        self._rgb: np.ndarray | None = None
        self._seq = 0
        self._jpeg: tuple[int, bytes] | None = None
        self.closed = False

    def publish(self, rgb: np.ndarray) -> None:
        """Offer a new (H, W, 3) uint8 RGB frame (not copied: do not modify it afterwards)."""
        with self._cond:
            self._rgb, self._seq = rgb, self._seq + 1
            self._cond.notify_all()

    def jpeg(self, after: int = 0, timeout: float = 1.0) -> tuple[int, bytes] | None:
        """(sequence number, JPEG) of the newest frame once it is newer than ``after``; None
        on timeout or when the hub is closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.closed or self._seq > after, timeout):
                return None
            if self.closed or self._rgb is None:
                return None
            if self._jpeg is None or self._jpeg[0] != self._seq:
                bgr = np.ascontiguousarray(self._rgb[..., ::-1])
                ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                self._jpeg = (self._seq, buf.tobytes())
            return self._jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` -> (host, port); the host defaults to 127.0.0.1.

    >>> parse_address("8080"), parse_address("0.0.0.0:9000"), parse_address(":0")
    (('127.0.0.1', 8080), ('0.0.0.0', 9000), ('127.0.0.1', 0))
    """
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"--serve: expected HOST:PORT or PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), number


class PreviewServer:
    """Serves the page, the stream and the controls in background threads.

    Args:
        address: (host, port); port 0 picks a free one (see :attr:`url`).
        hub: where frames come from.
        status: returns the status dict (called from HTTP threads: must be thread-safe).
        command: runs a command (name, argument) and is thread-safe.
    Raises:
        ConfigError: the address cannot be bound (in use, not local ...).
    """

    def __init__(self, address: tuple[str, int], hub: FrameHub,
                 status: Callable[[], dict[str, Any]],
                 command: Callable[[str, str], dict[str, Any]]) -> None:
        try:
            self.httpd = ThreadingHTTPServer(address, _Handler)
        except OSError as exc:
            raise ConfigError(f"--serve {address[0]}:{address[1]}: cannot listen "
                              f"({exc.strerror or exc})") from None
        self.httpd.daemon_threads = True
        self.httpd.hub, self.httpd.status, self.httpd.command = hub, status, command  # type: ignore[attr-defined]
        self.hub = hub
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="nightvid-http",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> PreviewServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; open streams end at their next frame wait."""
        self.hub.close()
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_version = "nightvid-preview"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the preview has a HUD
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/status":
            self._json(200, self.server.status())  # type: ignore[attr-defined]
        elif path == "/frame.jpg":
            item = self.server.hub.jpeg(0, timeout=5.0)  # type: ignore[attr-defined]
            if item is None:
                self._json(503, {"error": "no frame yet"})
            else:
                self._send(200, item[1], "image/jpeg")
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._json(404, {"error": f"{path}: no such page"})

    def do_POST(self) -> None:
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc != self.headers.get("Host"):
            self._json(403, {"error": f"POST from {origin} refused"})
            return
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) < 2 or parts[0] != "control":
            self._json(404, {"error": f"{self.path}: expected /control/<command>[/<arg>]"})
            return
        try:
            status = self.server.command(parts[1], "/".join(parts[2:]))  # type: ignore[attr-defined]
        except ConfigError as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, status)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        hub: FrameHub = self.server.hub  # type: ignore[attr-defined]
        seq = 0
        try:
            while not hub.closed:
                item = hub.jpeg(seq, timeout=1.0)
                if item is None:
                    continue
                seq, data = item
                head = (f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n").encode()
                self.wfile.write(head + data + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer left
        self.close_connection = True

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
