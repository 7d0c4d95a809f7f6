"""What renders the next frame: the profile, ``--set`` overrides, the stages toggled by hand and
the adaptive level, resolved to one Config; and the display size all of them are shown at.

The display size is the profile's output size for the capture's own frame size, whatever
level renders: adaptive quality changes the work size, never what the viewer sees or what is
recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Config, load_config, profile_names
from ..types import RawMeta
from .adaptive import AdaptiveController, Step, describe, ladder, size_overrides
from .compose import fit
from .status import display_size


class RenderLevels:
    """The preview's config state, changed by commands and by the adaptive controller.

    Args:
        profile: profile name or .toml path.
        overrides: dotted-key overrides under every level (``--set``).
    Raises:
        ConfigError: bad profile or overrides.
    """

    def __init__(self, profile: str, overrides: dict[str, Any]) -> None:
        # Whatever the profile: a network that cannot load (a refinement toggled on without
        # its checkpoint) runs its classical stage with a warning rather than end the preview.
        self.profile, self.overrides = profile, {"runtime.net_fallback": True, **overrides}
        self.toggles: dict[str, bool] = {}
        self.base = load_config(profile, self.overrides)
        self.steps: list[Step] = ladder(self.base)
        p = self.base.preview
        self.controller = AdaptiveController(p.target_ms, len(self.steps), p.settle_frames,
                                             p.adapt)
        # (shape as captured, meta) of the newest frame: the display size follows from it
        self.source: tuple[tuple[int, ...], RawMeta | None] | None = None

    @property
    def step(self) -> Step:
        return self.steps[self.controller.level]

    def set_profile(self, name: str) -> None:
        """Switch to ``name`` ("next": the next bundled profile); hand toggles are cleared."""
        names = profile_names()
        if name == "next":
            name = names[(names.index(self.profile) + 1) % len(names)] if (
                self.profile in names) else names[0]
        self.profile = name
        self.toggles.clear()
        self._rebuild()

    def toggle(self, stage: str) -> None:
        """Turn ``stage`` (denoise, temporal, sky, refine) on or off."""
        self.toggles[stage] = not describe(self.base)[stage]
        self._rebuild()

    def toggle_adaptive(self) -> None:
        c = self.controller
        c.enabled = not c.enabled
        if not c.enabled:
            c.level = 0

    def _rebuild(self) -> None:
        """New profile or stages: reload the base config and restart the ladder."""
        self.base = load_config(self.profile, {**self.overrides, **self._toggled()})
        self.steps = ladder(self.base)
        self.controller.reset(len(self.steps))

    def _toggled(self) -> dict[str, bool]:
        return {f"{k}.enabled": v for k, v in self.toggles.items()}

    def config(self) -> Config:
        """The config of the current level (before the first frame: the profile's own)."""
        size = {} if self.source is None else size_overrides(self.step, self.display_wh())
        return load_config(self.profile, {**self.overrides, **self._toggled(), **size})

    def set_source(self, native_shape: tuple[int, ...], meta: RawMeta | None) -> bool:
        """Record the newest frame's captured shape; True when it changed (or is the first)."""
        changed = self.source is None or self.source[0] != native_shape
        self.source = (native_shape, meta)
        return changed

    def display_wh(self) -> tuple[int, int]:
        """(width, height) every frame is shown and recorded at."""
        assert self.source is not None, "no frame yet"
        return display_size(self.base, *self.source)

    def shrink(self, data: np.ndarray, meta: RawMeta | None) -> np.ndarray:
        """sRGB frames bigger than the display size, area-downscaled to it (reader thread).

        The RGB path would otherwise linearise and resize the full frame on the render thread
        (80-190 ms for 720p on this project's busy 2-core CPU, against 0.6 ms for OpenCV's
        resize here, on gamma-encoded values: a preview can afford that approximation). Raw
        mosaics are left alone: the raw path downsamples packed planes early itself.
        """
        if meta is not None or data.ndim != 3:
            return data
        w, h = display_size(self.base, data.shape, None)
        return fit(data, (w, h)) if w < data.shape[1] else data
