"""Turn command-line inputs (files, folders, globs) into a batch's jobs.

One job per photo, DNG sequence folder, Bayer stack, rawvideo stream or video. Outputs mirror
the inputs' names under the output folder, relative to a *base* per argument: a file's own
folder, a walked folder itself, a glob's fixed leading folders. So ``batch footage -o out``
writes ``out/day1/clip.mp4`` for ``footage/day1/clip/*.dng``, and ``batch a.dng -o out`` writes
``out/a.jpg``.

Rules, so a walk over an archive does the obvious thing:

- A folder whose first ``.dng`` (natural order) carries a CinemaDNG FrameRate or TimeCodes
  tag is a sequence: one job, not walked further. Other folders are walked, and their DNGs
  are photos (``dng_folders`` forces either reading).
- Walking keeps files nightvid reads: raw photo suffixes, ``.npy``/``.npz`` stacks, rawvideo
  and video files; ``.png``/``.pgm``/``.raw``/``.bin`` only with a JSON sidecar (the NPR
  format), since a plain PNG is not a raw. Hidden entries and the output folder are skipped.
- A file named explicitly is always a job, even with an unknown suffix: LibRaw may open it,
  and if it does not, the job fails with the reason.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from ..errors import ConfigError, MetadataError, SourceError
from ..io.tiff import read_dng_tags
from ..sources import RAWVIDEO_SUFFIXES, SOURCES, STACK_SUFFIXES
from ..sources.base import natural_key
from ..sources.mosaic_file import SUFFIXES as MOSAIC_SUFFIXES
from ..sources.rgb_video import VIDEO_SUFFIXES
from ..sources.sidecar_meta import find_sidecar, load_sidecar
from .records import Job, JobKind, digest

DngFolders = Literal["auto", "sequence", "photos"]
PHOTO_SUFFIXES = {"jpg": ".jpg", "png": ".png", "tif": ".tif"}
CODEC_SUFFIXES = {"h264": ".mp4", "hevc": ".mp4", "prores": ".mov", "ffv1": ".mkv"}


def discover(inputs: Sequence[str | Path], outdir: str | Path, *, photo_suffix: str = ".jpg",
             stream_suffix: str = ".mp4", dng_folders: DngFolders = "auto") -> list[Job]:
    """The jobs for ``inputs``, in a stable order (sorted by output name).

    Args:
        inputs: files, folders and glob patterns (``**`` recurses).
        outdir: the output folder (it is never walked as an input).
        photo_suffix: output suffix of photo jobs.
        stream_suffix: output suffix of stream jobs (the video container).
        dng_folders: how a folder of DNGs reads: by its tags (``auto``), always as one
            sequence, or always as photos.
    Raises:
        ConfigError: a glob that matches nothing; two inputs that would write one output;
            an output that would overwrite an input.
    """
    out = Path(os.path.abspath(outdir))
    jobs: dict[str, Job] = {}
    inputs_seen: set[Path] = set()
    for arg in inputs:
        for path, base, kind in _expand(str(arg), out, dng_folders):
            job = _job(path, base, kind, out, photo_suffix, stream_suffix)
            inputs_seen.add(path)
            other = jobs.get(job.name)
            if other is not None and other.input != path:
                raise ConfigError(f"{job.output}: two inputs would write it ({other.input} and "
                                  f"{path}); run them into different output folders")
            jobs[job.name] = job
    for job in jobs.values():
        if job.output in inputs_seen:
            raise ConfigError(f"{job.output}: the output would overwrite an input; "
                              "pick another output folder")
    return [jobs[name] for name in sorted(jobs)]


def _expand(arg: str, out: Path, mode: DngFolders) -> Iterator[tuple[Path, Path, JobKind]]:
    """(input, base, kind) for one command-line argument."""
    if glob.has_magic(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        if not matches:
            raise ConfigError(f"{arg}: no file or folder matches this pattern")
        base = _abs(_fixed_prefix(arg))
        for m in matches:
            yield from _walk(_abs(m), base, out, mode, explicit=False)
        return
    path = _abs(arg)
    if path.is_dir() and _folder_kind(path, mode) == "walk":
        yield from _walk(path, path, out, mode, explicit=True)
    else:
        yield from _walk(path, path.parent, out, mode, explicit=True)


def _walk(path: Path, base: Path, out: Path, mode: DngFolders, explicit: bool,
          visited: frozenset[Path] = frozenset()) -> Iterator[tuple[Path, Path, JobKind]]:
    if path.is_dir():
        real = path.resolve()
        if real in visited:  # a symlink back up the tree: walking it would never end
            return
        if _folder_kind(path, mode) == "sequence":
            yield path, base, "sequence"
            return
        for child in sorted(path.iterdir(), key=lambda p: natural_key(p.name)):
            if child.name.startswith(".") or child == out:
                continue
            yield from _walk(child, base, out, mode, False, visited | {real})
        return
    kind = file_kind(path)
    if kind is not None:
        yield path, base, kind
    elif explicit:
        yield path, base, "photo"  # LibRaw may know it; if not, the job says why


def file_kind(path: Path) -> JobKind | None:
    """How nightvid reads this file, or None when it is not an input (README, sidecar ...)."""
    suffix = path.suffix.lower()
    if suffix in STACK_SUFFIXES:
        return "stack"
    if suffix in RAWVIDEO_SUFFIXES:
        return "rawvideo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in MOSAIC_SUFFIXES:
        sidecar = find_sidecar(path)
        if sidecar is None:
            return None
        try:
            return "rawvideo" if load_sidecar(sidecar).get("pix_fmt") is not None else "photo"
        except MetadataError:  # unreadable sidecar: the photo job reports it
            return "photo"
    return "photo" if SOURCES.suffixes().get(suffix) == "photo" else None


def _folder_kind(folder: Path, mode: DngFolders) -> Literal["sequence", "walk"]:
    """A folder of DNG frames (one stream) or a folder to walk."""
    dngs = [p for p in folder.iterdir() if p.suffix.lower() == ".dng" and p.is_file()
            and not p.name.startswith(".")]
    if not dngs or mode == "photos":
        return "walk"
    if mode == "sequence":
        return "sequence"
    first = min(dngs, key=lambda p: natural_key(p.name))
    try:
        tags = read_dng_tags(first)
    except SourceError:  # unreadable: as photos, each DNG then reports its own problem
        return "walk"
    return "sequence" if tags.frame_rate is not None or tags.time_codes else "walk"


def _job(path: Path, base: Path, kind: JobKind, out: Path, photo_suffix: str,
         stream_suffix: str) -> Job:
    rel = Path(os.path.relpath(path, base))
    suffix = photo_suffix if kind == "photo" else stream_suffix
    # A folder keeps its whole name ("clip.v2" -> "clip.v2.mp4"); a file swaps its suffix.
    name = rel.parent / (rel.name + suffix if kind == "sequence" else rel.stem + suffix)
    return Job(input=path, output=out / name, name=name.as_posix(), kind=kind,
               signature=signature(path, kind))


def signature(path: Path, kind: JobKind) -> str:
    """Digest of the sizes and modification times of what the job reads: the input, its
    frames (a sequence folder) and a JSON sidecar of the same name."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if kind == "sequence" else [
        path, path.with_suffix(".json")]
    stats = []
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        stats.append((p.name, st.st_size, st.st_mtime_ns))
    return digest(stats)


def _fixed_prefix(pattern: str) -> str:
    """The leading folders of a glob before its first wildcard (``a/b/*/c`` -> ``a/b``)."""
    fixed: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return os.path.join(*fixed) if fixed else "."


def _abs(path: str | Path) -> Path:
    """Absolute, without resolving symlinks (a linked folder keeps the name it was given)."""
    return Path(os.path.abspath(path))
