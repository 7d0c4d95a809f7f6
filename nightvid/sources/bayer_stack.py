"""A stack of Bayer mosaics in a NumPy file (``.npy`` / ``.npz``) as a raw video stream.

The file holds one ``(N, H, W)`` integer array in sensor DN: ``.npy``, or ``.npz`` (the array
named ``frames``, else the first one). Both are memory-mapped where the format allows (``.npy``,
and ``.npz`` written by ``np.savez``, whose members are stored uncompressed), so a long stack is
read frame by frame; a compressed ``.npz`` member is loaded whole. Metadata comes from a JSON
sidecar beside it (same stem) in the NPR/plain vocabulary of :mod:`.sidecar_meta`, plus an
optional ``"fps"``. Odd heights/widths are cropped to even, like :func:`open_raw`.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import MetadataError, SourceError
from ..types import Frame
from .base import SOURCES, FrameSource, check_start, fps_from_sidecar
from .sidecar_meta import find_sidecar, load_sidecar, meta_from_sidecar

__all__ = ["BayerStack"]

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature .. name/extra len


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise SourceError(f"{path}: not a readable .npy file ({exc})") from None


def _load_npz(path: Path) -> np.ndarray:
    """The ``frames`` (else first) array of an .npz, memory-mapped when stored uncompressed."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".npy")]
            if not names:
                raise SourceError(f"{path}: no arrays in this .npz")
            name = "frames.npy" if "frames.npy" in names else names[0]
            info = zf.getinfo(name)
        if info.compress_type == zipfile.ZIP_STORED:
            return _memmap_member(path, info.header_offset)
        with np.load(path, allow_pickle=False) as npz:
            return npz[name[:-4]]
    except SourceError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error) as exc:
        raise SourceError(f"{path}: not a readable .npz file ({exc})") from None


def _memmap_member(path: Path, header_offset: int) -> np.ndarray:
    """Memory-map an uncompressed ``.npy`` member of a zip, given its local header offset."""
    with open(path, "rb") as fh:
        fh.seek(header_offset)
        sig, name_len, extra_len = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        if sig != b"PK\x03\x04":
            raise ValueError("bad zip local header")
        fh.seek(header_offset + _LOCAL_HEADER.size + name_len + extra_len)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        offset = fh.tell()
    if dtype.hasobject:
        raise ValueError("object arrays are not mosaics")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                     order="F" if fortran else "C")


@SOURCES.register("bayer_stack", suffixes=(".npy", ".npz"))
class BayerStack(FrameSource):
    """An ``(N, H, W)`` integer mosaic stack with a JSON sidecar, as a raw stream.

    Args:
        path: the ``.npy``/``.npz`` file.
        fps: frame rate; overrides the sidecar's ``"fps"``. One of the two is required.
        start: frames to skip at the beginning (resume); Frame.index and pts stay absolute.
        meta_sidecar: the JSON sidecar, when it is not ``<stem>.json`` beside ``path``.
    Attributes:
        size: (W, H) of the frames after cropping to even.
        meta: the stack's RawMeta (each frame gets a copy with its ``timestamp_s``).
    Raises:
        SourceError: missing/unreadable file, not (N, H, W), not integer, frames under 4x4.
        MetadataError: no sidecar, a required field missing from it, no frame rate.

    Frames are ``(H, W)`` uint16 in the sensor's CFA layout, ``pts = index``,
    ``time_base = 1 / fps``. Values outside 0..65535 raise from that frame's loader.
    """

    def __init__(self, path: str | Path, *, fps: Fraction | float | str | None = None,
                 start: int = 0, meta_sidecar: str | Path | None = None) -> None:
        self.path = p = Path(path)
        self.start = check_start(start)
        if not p.is_file():
            raise SourceError(f"{p}: no such file")
        sidecar = Path(meta_sidecar) if meta_sidecar is not None else find_sidecar(p)
        if sidecar is None:
            raise MetadataError(f"{p}: no JSON sidecar ({p.with_suffix('.json').name}) with "
                                "black_level, white_level and cfa_pattern")
        data = load_sidecar(sidecar)
        self.meta = meta_from_sidecar(data, sidecar, p)
        self.fps = fps_from_sidecar(fps, data, str(sidecar), p, sidecar.name)
        self.time_base = 1 / self.fps
        self._frames = _load_npz(p) if p.suffix.lower() == ".npz" else _load_npy(p)
        self._check_array()

    def _check_array(self) -> None:
        arr, p = self._frames, self.path
        if arr.ndim != 3:
            raise SourceError(f"{p}: expected an (N, H, W) stack of mosaics, got shape "
                              f"{arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise SourceError(f"{p}: expected integer mosaics in sensor DN, got {arr.dtype}")
        _, h, w = arr.shape
        if h < 4 or w < 4:
            raise SourceError(f"{p}: frames too small ({w}x{h})")
        self.size = (w // 2 * 2, h // 2 * 2)

    def __len__(self) -> int:
        return max(0, self._frames.shape[0] - self.start)

    def loaders(self) -> Iterator[Callable[[], Frame]]:
        for i in range(self.start, self._frames.shape[0]):
            yield partial(self._load, i)

    def _load(self, index: int) -> Frame:
        w, h = self.size
        raw = self._frames[index, :h, :w]
        if raw.dtype.itemsize > 2 or raw.dtype.kind == "i":
            lo, hi = int(raw.min()), int(raw.max())
            if lo < 0 or hi > 0xFFFF:
                raise SourceError(f"{self.path}: frame {index}: values {lo}..{hi} do not fit "
                                  "16-bit sensor DN")
        mosaic = np.array(raw, dtype=np.uint16, order="C")  # copy: off the memory map
        meta = self.meta.replace(timestamp_s=float(index * self.time_base))
        return Frame(data=mosaic, pts=index, time_base=self.time_base, meta=meta, index=index)

    def close(self) -> None:
        """Drop the memory map (frames already loaded are copies and stay valid)."""
        self._frames = np.empty((0, *self._frames.shape[1:]), self._frames.dtype)
