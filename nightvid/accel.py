"""Compiled kernels for the per-pixel hot paths, with a safe fall-back to eager PyTorch.

The pipeline's per-pixel work is long chains of element-wise operations that eager PyTorch runs
as one memory pass each; ``torch.compile`` fuses a chain into a few loops (C++/OpenMP on the
CPU, Triton on CUDA), 5-10x faster on a 2-core CPU. Compiling costs tens of seconds the first
time (cached on disk after that), so it pays for streams and GPUs, not for a single photo:
``runtime.compile = "auto"`` compiles on CUDA and for streams of at least
``runtime.compile_min_frames`` frames (the engine decides; never for a live device of unknown
length on the CPU), ``"on"`` always, ``"off"`` never.

Anything that goes wrong while compiling (no C++ compiler, an unsupported backend) is reported
once and that kernel runs eagerly from then on: compiling is an optimisation, never a
requirement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import warnings_once
from .errors import ConfigError

COMPILE_MODES = ("auto", "on", "off")


class Kernels:
    """A pipeline's hot functions, compiled on first use when ``enabled``.

    >>> k = Kernels(enabled=False)
    >>> k(abs)(-2)
    2
    """

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self._compiled: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._failed: set[Callable[..., Any]] = set()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` itself, or its compiled form when compiling is on and has not failed."""
        if not self.enabled or fn in self._failed:
            return fn
        compiled = self._compiled.get(fn)
        if compiled is None:
            compiled = torch.compile(fn, dynamic=False)
            self._compiled[fn] = compiled

        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return compiled(*args, **kwargs)
            except Exception as exc:  # a compiler failure is never the user's problem
                self._failed.add(fn)
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                warnings_once.warn(f"torch.compile failed for {fn.__name__} "
                                   f"({type(exc).__name__}: {first_line[:160]}); running it "
                                   "eagerly")
                return fn(*args, **kwargs)

        return run


def resolve(mode: str, device: torch.device, n_frames: int | None, min_frames: int) -> bool:
    """Whether to compile for a run of ``n_frames`` (None: unknown, e.g. a live device).

    >>> cpu = torch.device("cpu")
    >>> resolve("auto", cpu, 24, 99), resolve("auto", cpu, 100, 99), resolve("auto", cpu, None, 9)
    (False, True, False)
    >>> resolve("on", torch.device("cpu"), 1, 240), resolve("off", torch.device("cuda"), None, 240)
    (True, False)
    """
    if mode not in COMPILE_MODES:
        raise ConfigError(f"runtime.compile: expected one of {', '.join(COMPILE_MODES)}, "
                         f"got {mode!r}")
    if mode != "auto":
        return mode == "on"
    if device.type == "cuda":
        return True
    return n_frames is not None and n_frames >= min_frames
