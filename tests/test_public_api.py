"""The supported names: removing or adding one must be a deliberate change to this list."""

from __future__ import annotations

import numpy as np
import pytest

import nightvid
from _helpers.data import require

EXPECTED = [
    "Config", "ConfigError", "Frame", "MetadataError", "NightvidError", "Pipeline", "RawMeta",
    "RenderInfo", "ShapeError", "SinkError", "SourceError", "UnknownNameError",
    "UnsupportedCFAError", "__version__", "enhance", "load_config", "open_raw", "pick_device",
    "profile_names", "render_file",
]


def test_all_snapshot():
    assert nightvid.__all__ == EXPECTED
    assert sorted(nightvid.__all__) == nightvid.__all__
    for name in nightvid.__all__:
        assert hasattr(nightvid, name), name


def test_errors_are_builtins_too():
    assert issubclass(nightvid.SourceError, OSError)
    assert issubclass(nightvid.ConfigError, ValueError)
    assert issubclass(nightvid.UnknownNameError, KeyError)


def test_enhance_returns_array_and_writes(tmp_path):
    raw = require("raw/nikon_crop/DSC_1339_768x512_rggb.raw")
    img = nightvid.enhance(raw, size=(384, 0))
    assert img.shape == (256, 384, 3) and img.dtype == np.uint8
    img16 = nightvid.enhance(raw, tmp_path / "o.tif", scale=0.25, wb="as-shot",
                             tone__contrast=0.2)
    assert img16.dtype == np.uint16 and (tmp_path / "o.tif").exists()


def test_enhance_rejects_unknown_key():
    raw = require("raw/nikon_crop/DSC_1339_768x512_rggb.raw")
    with pytest.raises(nightvid.ConfigError, match="tone.gama"):
        nightvid.enhance(raw, tone__gama=2.0)
