"""Checkpoints: safetensors files (never pickle) holding a network's weights and its spec.

A checkpoint's safetensors metadata (string -> string) holds ``"format": "nightvid-net/1"``,
``"net"`` (the network's kind, e.g. ``"raw_denoiser"``), ``"spec"`` (the architecture as
JSON) and free-form JSON entries (``"recipe"``, ``"figures"``...). Loading rebuilds the
network from ``spec`` and checks every tensor's name and shape: a missing, truncated or
mismatched file raises :class:`~nightvid.errors.CheckpointError` with a one-line message
naming the file.

Every network class has ``KIND`` (its ``"net"`` string), ``Spec`` (a dataclass with
``to_dict``/``from_dict``), a ``spec`` attribute and a constructor ``Net(spec)``; it is
listed in :data:`KINDS` so a checkpoint can be opened by kind.
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
from .denoiser import RawDenoiser

__all__ = ["FORMAT", "KINDS", "load_denoiser", "load_net", "read_metadata", "save_denoiser",
           "save_net"]

FORMAT = "nightvid-net/1"

#: kind -> "module:Class" of every network a checkpoint may hold (imported when loaded).
KINDS = {
    "raw_denoiser": "nightvid.nets.denoiser:RawDenoiser",
    "wb_estimator": "nightvid.nets.wb:WBNet",
    "refiner": "nightvid.nets.refine:RefineNet",
    "illumination": "nightvid.nets.illumination:IlluminationNet",
}


def _net_class(kind: str) -> Any:
    import importlib

    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def save_net(net: nn.Module, path: str | Path, **meta: Any) -> Path:
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
    md = {"format": FORMAT, "net": net.KIND, "spec": json.dumps(net.spec.to_dict())}
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


def save_denoiser(net: RawDenoiser, path: str | Path, **meta: Any) -> Path:
    """:func:`save_net` for a raw denoiser."""
    return save_net(net, path, **meta)


def load_denoiser(path: str | Path, device: str | torch.device = "cpu") -> RawDenoiser:
    """:func:`load_net` of a ``raw_denoiser`` checkpoint."""
    net: RawDenoiser = load_net(path, "raw_denoiser", device)
    return net


def load_net(path: str | Path, kind: str, device: str | torch.device = "cpu") -> Any:
    """Rebuild a network of ``kind`` (a key of :data:`KINDS`) from a checkpoint.

    Args:
        path: the ``.safetensors`` file written by :func:`save_net`.
        kind: the network kind expected.
        device: where to put the network (returned in eval mode).
    Raises:
        CheckpointError: the file is missing, truncated/corrupt, holds another kind of
            network, or its tensors do not match the spec (names or shapes); the message
            names the file.
    """
    p = _existing(path)
    md = read_metadata(p)
    if md.get("format") != FORMAT or md.get("net") != kind or "spec" not in md:
        got = md.get("net", f"metadata keys {sorted(md)}")
        raise CheckpointError(f"{p}: expected a {FORMAT} {kind} checkpoint, got {got}")
    cls = _net_class(kind)
    try:
        spec = cls.Spec.from_dict(json.loads(md["spec"]))
        net = cls(spec)
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
