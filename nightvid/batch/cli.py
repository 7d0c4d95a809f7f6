"""``nightvid batch``: parse, resolve the render settings once, find the jobs, run them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..config import load_config, parse_set
from ..errors import ConfigError
from .discover import CODEC_SUFFIXES, PHOTO_SUFFIXES, discover
from .records import JobKind, RenderSettings
from .runner import BatchOptions, run_batch

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any,
               render_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``batch`` to the main CLI; ``render_options`` adds the options ``enhance`` has."""
    p = subparsers.add_parser(
        "batch", help="render many photos and clips into a folder (local pool or Ray)",
        description="Render every photo, DNG sequence, Bayer stack and video found in the "
                    "inputs into OUTDIR, mirroring their names. Re-running skips finished jobs.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="files, folders (walked) and glob patterns (quote them; ** recurses)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    render_options(p)
    p.add_argument("--format", choices=sorted(PHOTO_SUFFIXES), default="jpg",
                   help="photo output format (default jpg)")
    p.add_argument("--codec", choices=list(CODEC_SUFFIXES), default="h264",
                   help="video codec: h264/hevc -> .mp4, prores -> .mov, ffv1 -> .mkv")
    p.add_argument("--fps", help="frame rate for streams that carry none")
    p.add_argument("--temporal", action=argparse.BooleanOptionalAction, default=None,
                   help="motion-compensated temporal filter (default: on)")
    p.add_argument("--dng-folders", choices=("auto", "sequence", "photos"), default="auto",
                   help="a folder of DNGs is one clip when its frames carry CinemaDNG "
                        "FrameRate/TimeCodes tags (auto), always, or never")
    s = p.add_argument_group("scheduling")
    s.add_argument("-j", "--jobs", type=int, help="jobs at once (default: one per CPU locally, "
                   "each with CPUs / N torch threads; with --ray, twice what the cluster fits)")
    s.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run jobs as Ray tasks: no value or 'local' starts Ray here, 'auto' "
                        "joins this node's cluster, or HOST:PORT / ray://HOST:PORT")
    s.add_argument("--cpus-per-job", type=float, default=1.0, help="Ray CPUs per job (1)")
    s.add_argument("--gpus-per-job", type=float, default=0.0,
                   help="Ray GPUs per job; fractions share a GPU (e.g. 0.25)")
    s.add_argument("--retries", type=int, default=2,
                   help="extra attempts after a crash or failure, counted over re-runs (2)")
    p.add_argument("--report", metavar="FILE.json", help="write the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar or table (failures are still printed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``batch`` command; returns the exit code (0 ok, 1 a job failed)."""
    options = _options(args)
    if options.ray is not None:
        from .ray_runner import import_ray

        import_ray()  # say how to install it before any work
    jobs = discover(args.inputs, args.output, photo_suffix=PHOTO_SUFFIXES[args.format],
                    stream_suffix=CODEC_SUFFIXES[args.codec], dng_folders=args.dng_folders)
    if not jobs:
        raise ConfigError(f"{' '.join(args.inputs)}: no photos, clips or videos found")
    settings = resolve_settings(args, {j.kind for j in jobs})
    report = run_batch(jobs, args.output, settings, options)
    if args.report:
        report.write(args.report)
    if not args.quiet:
        print(report.table())
    elif report.failures:
        print("\n".join(report.failure_lines()), file=sys.stderr)
    if report.interrupted:
        print("nightvid: interrupted; re-run the same command to continue", file=sys.stderr)
    return report.exit_code


def _options(args: argparse.Namespace) -> BatchOptions:
    if args.ray is not None and not (args.ray in ("local", "auto") or ":" in args.ray):
        raise ConfigError(f"--ray: expected local, auto, HOST:PORT or ray://HOST:PORT, got "
                          f"{args.ray!r} (put --ray after the inputs, or write --ray=ADDRESS)")
    if args.ray is None and args.gpus_per_job:
        raise ConfigError("--gpus-per-job: applies to Ray tasks; add --ray (the local pool "
                          "uses --device)")
    if args.cpus_per_job <= 0 or args.gpus_per_job < 0:
        raise ConfigError(f"--cpus-per-job/--gpus-per-job: expected > 0 and >= 0, got "
                          f"{args.cpus_per_job:g} and {args.gpus_per_job:g}")
    return BatchOptions(jobs=args.jobs, ray=args.ray, cpus_per_job=args.cpus_per_job,
                        gpus_per_job=args.gpus_per_job, retries=args.retries,
                        progress=not args.quiet)


def resolve_settings(args: argparse.Namespace, kinds: set[JobKind]) -> RenderSettings:
    """The photo and stream configs, as ``nightvid enhance`` builds them from the same
    options, validated before any job starts."""
    from ..api import resolve_overrides
    from ..sinks.av_video import CODECS
    from ..sinks.images import image_bit_depth

    shared = parse_set(args.set)
    shared.update(resolve_overrides(size=args.size, scale=args.scale, ev=args.ev, wb=args.wb,
                                    device=args.device))
    photo = dict(shared)
    photo.update(resolve_overrides(quality=args.quality))
    depth = args.bit_depth if args.bit_depth in (8, 16) else photo.get("output.bit_depth", 8)
    if "photo" in kinds and args.format == "png" and args.bit_depth == 10:
        raise ConfigError("--bit-depth: 10 is for video; PNG photos take 8 or 16")
    photo["output.bit_depth"] = image_bit_depth(f"x{PHOTO_SUFFIXES[args.format]}", depth)
    stream = dict(shared)
    if args.temporal is not None:
        stream["temporal.enabled"] = args.temporal
    video_depth = args.bit_depth or 8
    if kinds - {"photo"} and video_depth not in CODECS[args.codec].pix_fmts:
        raise ConfigError(f"--bit-depth: {args.codec} takes "
                          f"{'/'.join(map(str, CODECS[args.codec].pix_fmts))}, got {video_depth}")
    return RenderSettings(photo_config=load_config(args.profile, photo),
                          stream_config=load_config(args.profile, stream),
                          photo_suffix=PHOTO_SUFFIXES[args.format], codec=args.codec,
                          bit_depth=video_depth, quality=args.quality, fps=args.fps)
