"""nightvid: clean, natural renderings of dark raw footage and night photos.

>>> import nightvid
>>> sorted(nightvid.profile_names())[1:3]
['default', 'fast']
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import enhance, render_file
from .config import Config, load_config, profile_names
from .errors import (
    ConfigError,
    MetadataError,
    NightvidError,
    ShapeError,
    SinkError,
    SourceError,
    UnknownNameError,
    UnsupportedCFAError,
)
from .pipeline import Pipeline, RenderInfo
from .runtime import pick_device
from .sources import open_raw
from .types import Frame, RawMeta

__all__ = [
    "Config",
    "ConfigError",
    "Frame",
    "MetadataError",
    "NightvidError",
    "Pipeline",
    "RawMeta",
    "RenderInfo",
    "ShapeError",
    "SinkError",
    "SourceError",
    "UnknownNameError",
    "UnsupportedCFAError",
    "__version__",
    "enhance",
    "load_config",
    "open_raw",
    "pick_device",
    "profile_names",
    "render_file",
]
