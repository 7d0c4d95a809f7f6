"""nightvid: clean, natural renderings of dark raw footage and night photos."""

from __future__ import annotations

__version__ = "0.1.0"
