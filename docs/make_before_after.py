"""Make docs/before_after.jpg: the bundled sample as LibRaw renders it vs nightvid.

Run from the repo root: ``python3 docs/make_before_after.py``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import rawpy

import nightvid

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "night_street.dng"
CROP = (slice(330, 810), slice(0, 1100))  # rows, cols of the 1536x1024 frame: chart, signs


def main() -> None:
    with rawpy.imread(str(SAMPLE)) as raw:
        before = raw.postprocess(use_camera_wb=True, output_bps=8)  # LibRaw's own default
    after = nightvid.enhance(SAMPLE)
    pair = [cv2.cvtColor(img[CROP], cv2.COLOR_RGB2BGR) for img in (before, after)]
    gap = np.full((pair[0].shape[0], 8, 3), 255, np.uint8)
    out = ROOT / "docs" / "before_after.jpg"
    cv2.imwrite(str(out), np.hstack([pair[0], gap, pair[1]]), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(out)


if __name__ == "__main__":
    main()
