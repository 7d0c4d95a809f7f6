"""Where the pipeline gets its networks: checkpoint names resolved in ``models/``, each loaded
once per pipeline on its device, and the ``runtime.net_fallback`` policy for bad files.

A name without a suffix or folder (``"denoiser"``) means ``models/<name>.safetensors`` beside
the package (the repo's ``models/`` folder, like ``configs/``); anything else is a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import warnings_once
from ..errors import CheckpointError
from .io import load_net

__all__ = ["MODELS_DIR", "NetStore", "model_path"]

#: The shipped checkpoints (the repo's ``models/`` folder, beside the package).
MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "models"


def model_path(name: str) -> Path:
    """``models/<name>.safetensors`` for a bare name, else ``name`` as a path.

    >>> model_path("denoiser").name
    'denoiser.safetensors'
    >>> str(model_path("/tmp/x.safetensors"))
    '/tmp/x.safetensors'
    """
    p = Path(name)
    if p.suffix or len(p.parts) > 1:
        return p
    return MODELS_DIR / f"{name}.safetensors"


class NetStore:
    """Loads each (kind, name) once onto ``device``, in eval mode, gradients off.

    Args:
        device: the pipeline's device.
        fallback: a checkpoint that cannot be loaded gives None (and a one-time warning naming
            the file and the classical stage used instead) rather than raising.
    """

    def __init__(self, device: torch.device, fallback: bool = False) -> None:
        self.device = device
        self.fallback = fallback
        self._nets: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, name: str, instead: str) -> Any:
        """The network, or None when it cannot be loaded and fallback is on.

        Args:
            kind: the checkpoint kind (:data:`~nightvid.nets.io.KINDS`).
            name: a model name or path (:func:`model_path`).
            instead: what runs in its place, for the warning ("the classical denoiser").
        Raises:
            CheckpointError: the file is missing or bad and fallback is off (names the file
                and says how to run without it).
        """
        key = (kind, name)
        if key not in self._nets:
            path = model_path(name)
            try:
                net = load_net(path, kind, self.device)
                for p in net.parameters():
                    p.requires_grad_(False)
                # Channels-last: oneDNN's convolutions ran ~2x faster so on this CPU.
                net = net.to(memory_format=torch.channels_last)
            except CheckpointError as exc:
                if not self.fallback:
                    raise CheckpointError(f"{exc} (set runtime.net_fallback = true to run "
                                          f"{instead} instead)") from None
                warnings_once.warn(f"{exc}; running {instead} instead")
                net = None
            self._nets[key] = net
        return self._nets[key]
