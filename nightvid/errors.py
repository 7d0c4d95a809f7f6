"""nightvid's exceptions.

Each error inherits from :class:`NightvidError` and from the builtin it resembles, so a caller
can catch either. Messages follow ``<where>: expected <X>, got <Y>`` or ``<file>: <problem>``;
the CLI prints them as one line and exits with code 2.
"""

from __future__ import annotations


class NightvidError(Exception):
    """Base class of every error nightvid raises on purpose."""


class ShapeError(NightvidError, ValueError):
    """A tensor or array has the wrong shape, e.g. ``packed: expected (B, 4, h, w), got ...``."""


class ConfigError(NightvidError, ValueError):
    """A profile or ``--set`` override is invalid (unknown key, wrong type, bad value)."""


class UnknownNameError(NightvidError, KeyError):
    """A registry lookup failed; the message lists the registered names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SourceError(NightvidError, OSError):
    """An input cannot be read: missing, corrupt, truncated, not a raw, unsupported CFA."""


class MetadataError(SourceError):
    """A required metadata field is missing or malformed in an otherwise readable input."""


class UnsupportedCFAError(SourceError):
    """The sensor's colour filter array is not a 2x2 Bayer pattern (e.g. X-Trans, Foveon)."""


class SinkError(NightvidError, OSError):
    """An output cannot be written: unwritable path, unknown format, full disk."""


class CheckpointError(SourceError):
    """A model checkpoint is missing, truncated, or does not match its network's shapes."""


class MissingDependencyError(NightvidError, ImportError):
    """An optional dependency is not installed; the message names the extra to install, e.g.
    ``--ray: Ray is not installed; pip install 'nightvid[scale]'``."""
