"""Checkpoints: safetensors files (never pickle) holding a network's weights and its spec.

A checkpoint's safetensors metadata (string -> string) holds ``"format": "nightvid-net/1"``,
``"net"`` (e.g. ``"raw_denoiser"``), ``"spec"`` (the architecture as JSON) and free-form
JSON entries (``"recipe"``, ``"version"``...). Loading rebuilds the network from ``spec``
and checks every tensor's name and shape: a missing, truncated or mismatched file raises
:class:`~nightvid.errors.CheckpointError` with a one-line message naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import CheckpointError
from .denoiser import DenoiserSpec, RawDenoiser

__all__ = ["FORMAT", "load_denoiser", "read_metadata", "save_denoiser"]

FORMAT = "nightvid-net/1"


def save_denoiser(net: RawDenoiser, path: str | Path, **meta: Any) -> Path:
    """Write ``net``'s weights and spec (plus ``meta`` as JSON strings) to ``path``.

    Args:
        net: the network (any device; saved as float32 on the CPU).
        path: the ``.safetensors`` file; parent folders are created.
        meta: extra JSON-serialisable entries (recipe, figures, version).
    Returns:
        The path written.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
    md = {"format": FORMAT, "net": "raw_denoiser", "spec": json.dumps(net.spec.to_dict())}
    md.update({k: json.dumps(v) for k, v in meta.items()})
    tmp = p.with_name(p.name + ".tmp")
    save_file(tensors, str(tmp), metadata=md)
    tmp.replace(p)  # atomic: a crash never leaves a half-written checkpoint under the name
    return p


def read_metadata(path: str | Path) -> dict[str, str]:
    """The safetensors metadata of a checkpoint (header only, no tensors read).

    Raises:
        CheckpointError: missing file, or not a readable safetensors file.
    """
    from safetensors import safe_open

    p = _existing(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{p}: not a readable safetensors checkpoint ({_short(exc)})") \
            from None


def load_denoiser(path: str | Path, device: str | torch.device = "cpu") -> RawDenoiser:
    """Rebuild a :class:`RawDenoiser` from a checkpoint written by :func:`save_denoiser`.

    Args:
        path: the ``.safetensors`` file.
        device: where to put the network (returned in eval mode).
    Raises:
        CheckpointError: the file is missing, truncated/corrupt, not a raw denoiser, or its
            tensors do not match the spec (names or shapes); the message names the file.
    """
    p = _existing(path)
    md = read_metadata(p)
    if md.get("format") != FORMAT or md.get("net") != "raw_denoiser" or "spec" not in md:
        raise CheckpointError(f"{p}: expected a {FORMAT} raw_denoiser checkpoint, got metadata "
                              f"keys {sorted(md)}")
    try:
        spec = DenoiserSpec.from_dict(json.loads(md["spec"]))
        net = RawDenoiser(spec)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CheckpointError(f"{p}: bad spec {md['spec']!r} ({_short(exc)})") from None
    try:
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{p}: truncated or corrupt ({_short(exc)})") from None
    _check_tensors(p, net, tensors)
    net.load_state_dict(tensors)
    return net.to(device).eval()


def _check_tensors(p: Path, net: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        raise CheckpointError(f"{p}: tensors do not match the spec: missing {missing[:3]}, "
                              f"unexpected {extra[:3]}")
    for k, shape in want.items():
        if tuple(tensors[k].shape) != shape:
            raise CheckpointError(f"{p}: tensor {k}: expected shape {shape}, got "
                                  f"{tuple(tensors[k].shape)}")
        if not torch.isfinite(tensors[k]).all():
            raise CheckpointError(f"{p}: tensor {k}: expected finite values, got NaN/inf")


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    return p


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
