"""``nightvid preview SOURCE [--window] [--serve HOST:PORT] [--record out.mp4] ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import parse_set, profile_names
from ..errors import ConfigError
from .window import KEY_HELP


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``preview`` to ``subparsers``; ``args.func`` is set to :func:`run`."""
    p = subparsers.add_parser(
        "preview", help="live preview of a camera, stream or clip (window and/or browser)",
        description="Live before/after preview with bounded latency. " + KEY_HELP,
        epilog="Without --window or --serve the preview runs headless and prints its figures "
               "at the end (for measuring).")
    p.add_argument("source", help="camera index (0) or /dev/videoN; a URL FFmpeg opens "
                   "(rtsp://, udp://, http://); a video file, DNG folder or Bayer stack")
    p.add_argument("--window", action="store_true", help="show an OpenCV window")
    p.add_argument("--serve", metavar="HOST:PORT", help="browser view on this address "
                   "(PORT alone binds 127.0.0.1)")
    p.add_argument("--record", metavar="OUT.mp4", help="record the enhanced frames from the "
                   "start (the r key / record button starts and stops recordings)")
    p.add_argument("--profile", default="preview",
                   help=f"profile ({', '.join(profile_names())}) or a .toml path")
    p.add_argument("--realtime", action="store_true", help="play a file at its own pace")
    p.add_argument("--loop", action="store_true", help="start a file again at its end")
    p.add_argument("--raw", action=argparse.BooleanOptionalAction, default=None,
                   help="camera: require raw Bayer (--raw) or take RGB (--no-raw); default: "
                        "raw when the device delivers a Bayer format")
    p.add_argument("--video-size", metavar="WxH", help="camera: frame size to ask for")
    p.add_argument("--fps", type=float, help="camera: frame rate to ask for; a raw clip: its "
                   "rate when it has none")
    p.add_argument("--fourcc", help="camera: pixel format to ask for (RGGB, pRAA, YUYV, MJPG)")
    p.add_argument("--size", metavar="WxH", help="fit the rendered frame in this box")
    p.add_argument("--device", help="cpu, cuda or cuda:N")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set preview.target_ms=80")
    p.add_argument("--snapshots", metavar="DIR", default=".", help="where snapshots and "
                   "unnamed recordings go (default: the current folder)")
    p.add_argument("--frames", type=int, metavar="N", help="stop after N frames shown")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary at the end")
    p.set_defaults(func=run)
    return p


def _size(text: str | None, flag: str) -> tuple[int, int] | None:
    if text is None:
        return None
    w, _, h = text.lower().partition("x")
    try:
        return int(w), int(h)
    except ValueError:
        raise ConfigError(f"{flag}: expected WxH, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``preview`` command; the exit code (0 also after Ctrl-C: it is the way
    a preview ends)."""
    from ..api import resolve_overrides
    from .capture import open_capture
    from .server import parse_address
    from .session import PreviewOptions, PreviewSession

    over = parse_set(args.set)
    over.update(resolve_overrides(size=args.size, device=args.device))
    options = PreviewOptions(
        window=args.window, serve=parse_address(args.serve) if args.serve else None,
        record=Path(args.record) if args.record else None, snapshot_dir=Path(args.snapshots),
        max_frames=args.frames, duration_s=args.duration,
        announce=lambda text: print(f"nightvid: {text}", file=sys.stderr, flush=True))
    capture = open_capture(args.source, realtime=args.realtime, loop=args.loop, raw=args.raw,
                           size=_size(args.video_size, "--video-size"), fps=args.fps,
                           fourcc=args.fourcc)
    summary = PreviewSession(capture, args.profile, over, options).run()
    if not args.quiet:
        print(f"{args.source}: {summary.format()}")
    return 0
