"""Device choice, output geometry and the final integer conversion (shared by all paths)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .config import Config
from .errors import ConfigError
from .isp.orientation import swaps_axes


def upload(values: object, device: torch.device) -> Tensor:
    """Small host values (floats, a gain vector, a 3x3 matrix) as a float32 tensor on ``device``
    without waiting for it.

    A plain host-to-GPU copy synchronises the stream: every small per-frame constant would make
    the host wait for the GPU to finish all queued work. Staged through pinned memory, the copy
    is queued like a kernel.

    >>> upload([1.0, 2.0], torch.device("cpu")).tolist()
    [1.0, 2.0]
    """
    t = torch.as_tensor(values, dtype=torch.float32)
    if device.type != "cuda":
        return t
    return t.pin_memory().to(device, non_blocking=True)


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else as given (validated)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"runtime.device: expected auto, cpu, cuda or cuda:N, "
                          f"got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"runtime.device: {name!r} requested but no CUDA device is available")
    return dev


def output_size(cfg: Config, height: int, width: int, orientation: int) -> tuple[int, int]:
    """Output (h, w) in *sensor* orientation for a mosaic of ``height`` x ``width``.

    ``output.width``/``height`` are a box in the displayed orientation that the image is fitted
    into, aspect kept; with neither set, ``output.scale`` scales the full size.
    """
    o = cfg.output
    swap = o.orientation and swaps_axes(orientation)
    dw, dh = (height, width) if swap else (width, height)  # displayed size at full res
    if o.width or o.height:
        s = min(o.width / dw if o.width else np.inf, o.height / dh if o.height else np.inf)
    else:
        s = o.scale
    s = min(float(s), 1.0)
    if s <= 0:
        raise ConfigError(f"output: expected a positive size or scale, got scale {s}")
    out_w, out_h = max(2, round(dw * s)), max(2, round(dh * s))
    return (out_w, out_h) if swap else (out_h, out_w)


def to_uint(display: Tensor, bit_depth: int = 8) -> np.ndarray:
    """(1, 3, H, W) display in [0, 1] -> (H, W, 3) uint8/uint16 RGB, converted on the device."""
    top = 255.0 if bit_depth == 8 else 65535.0
    q = (display[0].clamp(0, 1) * top + 0.5).permute(1, 2, 0)  # (3,H,W) -> (H,W,3)
    q = q.to(torch.uint8) if bit_depth == 8 else q.to(torch.int32)
    arr = q.contiguous().cpu().numpy()
    return arr if bit_depth == 8 else arr.astype(np.uint16)
