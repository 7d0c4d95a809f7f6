"""Single-image writer: formats, bit depths, atomic writes and their failures."""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np
import pytest

from nightvid.errors import SinkError
from nightvid.sinks import images


def _rgb(dtype=np.uint8):
    top = np.iinfo(dtype).max
    ramp = np.linspace(0, top, 48 * 64 * 3).reshape(48, 64, 3)
    return ramp.astype(dtype)


@pytest.mark.parametrize("name,dtype", [("a.png", np.uint8), ("a.png", np.uint16),
                                        ("a.tif", np.uint16), ("a.tiff", np.uint16)])
def test_lossless_round_trip(tmp_path, name, dtype):
    rgb = _rgb(dtype)
    images.write_image(rgb, tmp_path / name)
    back = cv2.cvtColor(cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, rgb)


def test_jpeg_quality_and_rgb_order(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200  # red
    images.write_image(rgb, tmp_path / "r.jpg", 95)
    back = cv2.imread(str(tmp_path / "r.jpg"))
    assert back[..., 2].mean() > 190 and back[..., 0].mean() < 10  # BGR on disk


def test_disk_full_leaves_no_temp(tmp_path, monkeypatch):
    def full(fd):  # delayed allocation: a full disk often surfaces only at fsync
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SinkError, match="disk full") as exc:
        images.write_image(_rgb(), tmp_path / "x.png")
    assert "x.png" in str(exc.value)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "keep.png"
    images.write_image(_rgb(), out)
    before = out.read_bytes()

    def boom(*a, **k):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(SinkError, match="keep.png"):
        images.write_image(_rgb() // 2, out)
    monkeypatch.undo()
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_missing_folder(tmp_path):
    with pytest.raises(SinkError, match="does not exist"):
        images.write_image(_rgb(), tmp_path / "nope" / "a.jpg")


def test_bit_depth_by_suffix(tmp_path):
    assert images.image_bit_depth("a.jpg", 16) == 8
    assert images.image_bit_depth("a.tif", 8) == 16
    assert images.image_bit_depth("a.png", 16) == 16
    with pytest.raises(SinkError, match="unknown output format"):
        images.image_bit_depth("a.webm")
