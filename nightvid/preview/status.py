"""The preview's figures: the display size, the HUD lines and the status the browser polls."""

from __future__ import annotations

from typing import Any

from ..config import Config, profile_names
from ..isp.orientation import swaps_axes
from ..pipeline import RenderInfo
from ..runtime import output_size
from ..types import RawMeta
from .adaptive import describe


def display_size(cfg: Config, shape: tuple[int, ...], meta: RawMeta | None) -> tuple[int, int]:
    """(width, height) of the frames ``cfg`` renders from a source frame of ``shape``: the
    size the preview shows and records, whatever the adaptive level renders at.

    >>> from nightvid.config import load_config
    >>> display_size(load_config("default", {"output.width": 320}), (480, 640, 3), None)
    (320, 240)
    """
    if meta is None:
        h, w = output_size(cfg, shape[0], shape[1], 1)
        return w, h
    h, w = output_size(cfg, shape[0], shape[1], meta.orientation)
    if cfg.output.orientation and swaps_axes(meta.orientation):
        h, w = w, h
    return w, h


def _adaptive_note(session: Any) -> str:
    c = session.levels.controller
    if not c.enabled:
        return "adaptive off"
    label = session.levels.step.label
    if c.over_budget:
        return (f"{label}; {c.recent_ms:.0f} ms a frame > {c.target_ms:.0f} ms budget: "
                "dropping frames")
    if c.level == 0:
        return label
    return f"adaptive: {label} (budget {c.target_ms:.0f} ms)"


def hud_lines(session: Any, info: RenderInfo) -> list[list[str]]:
    """Two groups of HUD items: the figures (fps, latency, drops, WB, gain), then what the
    preview does (profile, view, work size, adaptive level, stages off, recording, reader)."""
    st, rd = session.stats, session.reader
    pct = 100.0 * rd.dropped / rd.captured if rd.captured else 0.0
    r, g, b = info.wb_gains
    figures = [f"{st.fps:.1f} fps",
               f"latency {st.latency_ms:.0f} ms (p95 {st.latency_p95_ms():.0f})",
               f"drops {rd.dropped} ({pct:.0f}%)", f"WB {r:.2f} {g:.2f} {b:.2f}",
               f"gain x{info.amplification:.1f}"]
    h, w = info.work_size
    doing = [session.levels.profile, session.view, f"work {w}x{h}", _adaptive_note(session)]
    off = [k for k, v in describe(session.levels.base).items() if not v and k != "refine"]
    if off:
        doing.append(f"off: {', '.join(off)}")
    rec = session.files.status
    if rec is not None:
        doing.append(f"REC {rec['seconds']:.0f} s")
    if rd.status:
        doing.append(rd.status)
    return [figures, doing]


def control_state(session: Any) -> dict[str, Any]:
    """The state the controls change (profile, view, stages, adaptive, recording)."""
    lv = session.levels
    c = lv.controller
    return {
        "profile": lv.profile, "profiles": profile_names(), "view": session.view,
        "stages": describe(lv.base),
        "adaptive": {"enabled": c.enabled, "level": c.level, "levels": len(lv.steps),
                     "label": lv.step.label, "over_budget": c.over_budget},
        "recording": session.files.status, "snapshot": session.last_snapshot,
    }


def status_dict(session: Any, info: RenderInfo, composite_shape: tuple[int, ...],
                hud: list[list[str]]) -> dict[str, Any]:
    """Everything the browser page shows, JSON-ready."""
    st, rd = session.stats, session.reader
    h, w = info.work_size
    return {
        "source": rd.capture.name, "kind": rd.kind, "frames": st.shown,
        "captured": rd.captured, "dropped": rd.dropped, "reconnects": rd.reconnects,
        "fps": round(st.fps, 2), "latency_ms": round(st.latency_ms, 1),
        "latency_p95_ms": round(st.latency_p95_ms(), 1), "work_ms": round(st.last_work_ms, 1),
        "wb_gains": [round(x, 4) for x in info.wb_gains],
        "amplification": round(info.amplification, 3), "work_size": [w, h],
        "composite_size": [composite_shape[1], composite_shape[0]], "reader": rd.status,
        "hud": ["  ".join(group) for group in hud], **control_state(session),
    }
