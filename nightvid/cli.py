"""``nightvid`` command line: parses, builds a Config, calls one library function."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from . import __version__
from .config import load_config, parse_set, profile_names
from .errors import ConfigError, NightvidError


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="default",
                   help=f"profile name ({', '.join(profile_names())}) or a .toml path")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", metavar="WxH", help="fit the output in this box (e.g. 1920x1080, "
                      "1920x for a width only)")
    size.add_argument("--scale", type=float, metavar="S", help="scale of the full resolution")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--ev", type=float, help="fixed exposure gain in stops (2**EV); default auto")
    p.add_argument("--wb", metavar="MODE", help="as-shot, auto, fused, or R,G,B gains")
    p.add_argument("--quality", type=int, metavar="Q", help="JPEG quality 1-100")
    p.add_argument("--bit-depth", type=int, choices=(8, 10, 16),
                   help="bits per channel: PNG 8/16, video 8/10 (FFV1 up to 16)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set tone.contrast=0.4 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nightvid", description="Clean, natural renderings of dark raw photos and video.")
    parser.add_argument("--version", action="version", version=f"nightvid {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("enhance", help="render a raw photo or a raw/sRGB video")
    p.add_argument("input", help="raw photo (DNG, ARW, CR2, NEF, ... or NPR-format PNG), a "
                   "DNG sequence folder, a Bayer stack (.npy/.npz), a rawvideo stream or a video")
    p.add_argument("-o", "--output", required=True, help="output: .jpg/.png/.tif for a photo; "
                   ".mp4/.mov/.mkv, a folder or frame_%%05d.png for a stream; frame_%%04d.dng "
                   "for the denoised raw mosaics as a linear DNG sequence")
    _add_render_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    v = p.add_argument_group("video")
    v.add_argument("--codec", help="h264, hevc, prores, ffv1 (video), png, tiff, jpeg "
                   "(frame folder) or dng (raw frame folder); default from the output suffix")
    v.add_argument("--fps", help="frame rate when the source has none (e.g. 24, 30000/1001)")
    v.add_argument("--temporal", action=argparse.BooleanOptionalAction, default=None,
                   help="motion-compensated temporal filter (default: on)")
    v.add_argument("--pix-fmt", help="Bayer pixel format of a rawvideo input (bayer_rggb16le)")
    v.add_argument("--video-size", metavar="WxH", help="frame size of a rawvideo input")
    v.add_argument("--resume", action="store_true",
                   help="continue a frame-folder or DNG output where it stopped")

    p = sub.add_parser("info", help="print a raw file's metadata and the defaults assumed")
    p.add_argument("input")

    sub.add_parser("list", help="list profiles, sources and output formats")

    p = sub.add_parser("bench", help="time the pipeline against LibRaw on a raw file")
    p.add_argument("input", nargs="?", help="raw file (default: a synthetic 12 MP DNG)")
    p.add_argument("--size", default="1920x", help="output box (default 1920x: 1080p long side)")
    p.add_argument("--profile", default="default")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", choices=["on", "off"], default="off",
                   help="torch.compile the hot paths (default off: a photo is one frame)")

    from .preview.cli import add_parser as add_preview_parser

    add_preview_parser(sub)
    from .train.cli import add_parser as add_train_parser

    add_train_parser(sub)
    from .train.eval_cli import add_parser as add_eval_parser

    add_eval_parser(sub)
    from .batch.cli import add_parser as add_batch_parser

    add_batch_parser(sub, _add_render_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="nightvid: warning: %(message)s", level=logging.WARNING)
    try:
        return _COMMANDS[args.command](args)
    except NightvidError as exc:
        if args.debug:
            raise
        print(f"nightvid: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nightvid: interrupted", file=sys.stderr)
        return 130


def _is_stream(args: argparse.Namespace) -> bool:
    from pathlib import Path

    from .sinks.images import IMAGE_SUFFIXES

    inp, out = Path(args.input), Path(args.output)
    photo_out = out.suffix.lower() in IMAGE_SUFFIXES and "%" not in out.name
    return inp.is_dir() or not photo_out or bool(args.pix_fmt) or inp.suffix.lower() in (
        ".npy", ".npz", ".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".bayer", ".rawvideo")


def _enhance(args: argparse.Namespace) -> int:
    if _is_stream(args):
        return _enhance_stream(args)
    from .api import render_file, resolve_overrides
    from .sinks.images import image_bit_depth, write_image

    if args.bit_depth == 10:
        raise ConfigError("--bit-depth: 10 is for video; images take 8 or 16")
    over = parse_set(args.set)
    over.update(resolve_overrides(size=args.size, scale=args.scale, ev=args.ev, wb=args.wb,
                                  device=args.device, quality=args.quality,
                                  bit_depth=args.bit_depth))
    over["output.bit_depth"] = image_bit_depth(args.output, over.get("output.bit_depth", 8))
    cfg = load_config(args.profile, over)
    t0 = time.perf_counter()
    rgb, info = render_file(args.input, cfg)
    write_image(rgb, args.output, cfg.output.jpeg_quality)
    if not args.quiet:
        g = ", ".join(f"{x:.2f}" for x in info.wb_gains)
        print(f"{args.output}: {rgb.shape[1]}x{rgb.shape[0]} in {time.perf_counter() - t0:.2f} s "
              f"(gain x{info.amplification:.1f}, WB {g}, {info.cct_k:.0f} K, {info.mode} path)")
    return 0


def _enhance_stream(args: argparse.Namespace) -> int:
    from .api import process_stream, resolve_overrides

    over = parse_set(args.set)
    over.update(resolve_overrides(size=args.size, scale=args.scale, ev=args.ev, wb=args.wb,
                                  device=args.device))
    if args.temporal is not None:
        over["temporal.enabled"] = args.temporal
    cfg = load_config(args.profile, over)
    size = None
    if args.video_size:
        w, _, h = args.video_size.lower().partition("x")
        try:
            size = (int(w), int(h))
        except ValueError:
            raise ConfigError(f"--video-size: expected WxH, got {args.video_size!r}") from None
    summary = process_stream(args.input, args.output, cfg, codec=args.codec,
                             bit_depth=args.bit_depth or 8, quality=args.quality, fps=args.fps,
                             pix_fmt=args.pix_fmt, size=size, resume=args.resume,
                             progress=not args.quiet)
    if summary.interrupted:
        print(f"nightvid: interrupted; {args.output} holds the {summary.frames} frames rendered "
              "so far", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"{args.output}: " + summary.format())
    return 0


def _info(args: argparse.Namespace) -> int:
    from .sources import open_raw

    mosaic, meta = open_raw(args.input)
    print(f"{args.input}: {mosaic.shape[1]}x{mosaic.shape[0]} mosaic, {mosaic.dtype}")
    rows = meta.describe()
    width = max(len(r[0]) for r in rows)
    for name, value, where in rows:
        print(f"  {name:<{width}}  {value}" + (f"  [{where}]" if where else ""))
    if meta.assumed:
        print("assumed defaults: " + ", ".join(meta.assumed))
    return 0


def _list(args: argparse.Namespace) -> int:
    from .sinks.images import IMAGE_SUFFIXES
    from .sources import SOURCES

    print("profiles: " + ", ".join(profile_names()))
    suffixes = SOURCES.suffixes()
    print("sources:  " + ", ".join(
        f"{n} ({', '.join(s for s, v in suffixes.items() if v == n)})" for n in SOURCES.names()))
    print("outputs:  " + ", ".join(IMAGE_SUFFIXES) + ", .mp4, .mov, .mkv, .dng (denoised raw)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_photo_bench

    run_photo_bench(args.input, size=args.size, profile=args.profile, repeat=args.repeat,
                    device=args.device, compile=args.compile == "on")
    return 0


def _delegate(args: argparse.Namespace) -> int:
    """Sub-commands whose module set ``args.func`` (train, eval, batch, preview)."""
    return int(args.func(args))


_COMMANDS = {"enhance": _enhance, "info": _info, "list": _list, "bench": _bench,
             "train": _delegate, "eval": _delegate, "batch": _delegate, "preview": _delegate}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
