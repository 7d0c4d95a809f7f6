"""``nightvid train ...``: the hook the main CLI wires in (it imports this only for ``train``).

In ``nightvid/cli.py``::

    from .train.cli import add_parser as _add_train   # or import lazily inside the builder
    _add_train(subparsers)        # adds "train" with its own sub-commands

and dispatch ``args.func(args)`` (set here with ``set_defaults``) or call :func:`run`.

Every recipe name maps to the module of :mod:`nightvid.train` whose ``run(args)`` trains it
(:data:`TRAINERS`); they share one set of options (``--config``, ``--steps``, ``--batch``,
``--workers``, ``--device``, ``--out``, ``--eval``, ``--threads``), defined with the denoiser's.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

__all__ = ["TRAINERS", "add_parser", "run"]

#: recipe name (``configs/train/<name>.toml``) -> module of nightvid.train with ``run(args)``.
TRAINERS = {
    "denoiser-teacher": "denoiser",
    "denoiser": "denoiser",
    "wb": "wb",
    "illumination": "illumination",
    "refine": "refine",
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``train`` (``nightvid train NAME [options]``, NAME a key of :data:`TRAINERS`) to
    ``subparsers``.

    Returns the new parser; ``args.func`` is set to :func:`run`.
    """
    from .denoiser import add_arguments

    p = subparsers.add_parser("train", help="train a network from its seeded recipe",
                              description="Train a network from its seeded recipe "
                                          "(configs/train/<name>.toml).")
    add_arguments(p)
    for action in p._actions:  # the positional name: every trainer's recipes, not only its own
        if action.dest == "name":
            action.choices = list(dict.fromkeys([*(action.choices or []), *TRAINERS]))
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``train`` command with the trainer of ``args.name``; returns the exit code."""
    module = importlib.import_module(f"{__package__}.{TRAINERS.get(args.name, 'denoiser')}")
    return int(module.run(args))
