"""Inputs for the batch tests (tests/batch): the bundled samples, small extra kinds, a corrupt raw.

:func:`make_batch_inputs` fills a folder with ``samples`` (a link to the repository's
``samples/``: the night photo and the 24-frame DNG clip), ``extra/stack.npy`` (a 4-frame Bayer
stack with its sidecar), ``extra/npr.png`` (a 16-bit mosaic PNG with its JSON: the NPR
format) and ``bad/corrupt.dng`` (the sample photo cut to 30 kB).
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SIDECAR = {"black_level": 64, "white_level": 4095, "cfa_pattern": "RGGB",
           "as_shot_neutral": [0.5, 1.0, 0.6], "fps": 24}
STACK_FRAMES, STACK_H, STACK_W = 4, 48, 64


def make_batch_inputs(root: Path) -> Path:
    """Fill ``root`` with the batch test inputs (see the module docstring); returns it."""
    (root / "samples").symlink_to(SAMPLES, target_is_directory=True)
    extra = root / "extra"
    extra.mkdir()
    rng = np.random.default_rng(3)
    frames = rng.integers(64, 700, (STACK_FRAMES, STACK_H, STACK_W)).astype(np.uint16)
    np.save(extra / "stack.npy", frames)
    (extra / "stack.json").write_text(json.dumps(SIDECAR))
    cv2.imwrite(str(extra / "npr.png"), frames[0])
    (extra / "npr.json").write_text(json.dumps(SIDECAR))
    bad = root / "bad"
    bad.mkdir()
    (bad / "corrupt.dng").write_bytes((SAMPLES / "night_street.dng").read_bytes()[:30_000])
    return root


def video_frames(path: Path) -> tuple[int, int, int]:
    """(frames decoded, width, height) of a video file, through PyAV."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return len(frames), frames[0].width, frames[0].height


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file that decodes."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"{path} does not decode"
    return img.shape[1], img.shape[0]
