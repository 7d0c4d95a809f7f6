"""``nightvid train ...``: the hook the main CLI wires in (it imports this only for ``train``).

In ``nightvid/cli.py``::

    from .train.cli import add_parser as _add_train   # or import lazily inside the builder
    _add_train(subparsers)        # adds "train" with its own sub-commands

and dispatch ``args.func(args)`` (set here with ``set_defaults``) or call :func:`run`.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``train`` (``nightvid train denoiser-teacher|denoiser [options]``) to ``subparsers``.

    Returns the new parser; ``args.func`` is set to :func:`run`.
    """
    from .denoiser import add_arguments

    p = subparsers.add_parser("train", help="train a network from its seeded recipe",
                              description="Train a network from its seeded recipe "
                                          "(configs/train/<name>.toml).")
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``train`` command; returns the exit code."""
    from .denoiser import run as run_denoiser

    return run_denoiser(args)
