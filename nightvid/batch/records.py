"""The plain data a batch passes around: jobs, render settings, tickets, results, events.

These are small frozen dataclasses with no heavy imports, so the driver, a pool worker and a
Ray task on another machine all unpickle them cheaply and agree on their meaning.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import Config
from ..errors import ConfigError

JobKind = Literal["photo", "sequence", "stack", "rawvideo", "video"]
Status = Literal["done", "failed", "crashed", "interrupted"]

#: Environment variable of the fault-injection hook (see :class:`Fault`).
FAULT_ENV = "NIGHTVID_BATCH_KILL"


def digest(*parts: Any) -> str:
    """A short stable hex digest of JSON-serialisable parts (job keys, fingerprints)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """One input rendered to one output: the unit of scheduling, retry and bookkeeping.

    Attributes:
        input: the photo, DNG folder, Bayer stack, rawvideo stream or video (absolute).
        output: the final output file (absolute), under the batch's output folder.
        name: ``output`` relative to the output folder, POSIX style; names the job everywhere.
        kind: how the input is read (decides photo vs stream rendering).
        signature: digest of the input's file sizes and modification times, so an edited
            input is a new piece of work and not "already done".
    """

    input: Path
    output: Path
    name: str
    kind: JobKind
    signature: str

    @property
    def key(self) -> str:
        """Stable identity of the job slot (input + output), independent of its contents."""
        return digest(str(self.input), self.name)

    @property
    def part(self) -> Path:
        """The temporary name the output is written under until complete. It keeps the
        suffix, because the video sink picks its container from it."""
        return self.output.with_name(f".{self.output.stem}.part{self.output.suffix}")


@dataclass(frozen=True)
class RenderSettings:
    """How every job of a batch renders, resolved once by the driver.

    Resolving up front makes a bad profile or ``--set`` fail before any job starts, and ships
    the resolved config to remote workers that may not have the profile's file.

    Attributes:
        photo_config: config for photo jobs (``output.bit_depth`` set for ``photo_suffix``).
        stream_config: config for sequence, stack, rawvideo and video jobs.
        photo_suffix: ``.jpg``, ``.png`` or ``.tif``.
        codec: video codec (``h264``, ``hevc``, ``prores``, ``ffv1``).
        bit_depth: video bits per channel (8 or 10; FFV1 up to 16).
        quality: CRF / ProRes profile for video (the photo quality is in ``photo_config``).
        fps: frame rate for streams that carry none.
        threads: torch threads each job uses.
    """

    photo_config: Config
    stream_config: Config
    photo_suffix: str = ".jpg"
    codec: str = "h264"
    bit_depth: int = 8
    quality: int | None = None
    fps: str | None = None
    threads: int = 1

    def fingerprint(self, kind: JobKind) -> str:
        """Digest of what decides a ``kind`` job's output bytes. Execution details (device,
        engine queues, compile) are left out: re-running the same command on Ray after a
        local run, or on a GPU, must not redo finished work."""
        if kind == "photo":
            return digest(_look(self.photo_config), self.photo_suffix)
        return digest(_look(self.stream_config), self.codec, self.bit_depth, self.quality,
                      self.fps)


def _look(config: Config) -> dict[str, Any]:
    d = config.to_dict()
    for key in ("runtime", "engine", "preview"):
        d.pop(key, None)
    return d


@dataclass(frozen=True)
class Fault:
    """Fault injection for tests: SIGKILL a job's process mid-job, once per output folder.

    Set ``NIGHTVID_BATCH_KILL=NAME@FRAME`` to kill the process rendering the input named
    ``NAME`` after its ``FRAME``-th frame, or ``NAME@FRAME@host`` to kill the process hosting
    it (the Ray worker). A marker file in the output folder makes it happen once, so the
    retry runs clean: a real crash made deterministic.
    """

    name: str
    frame: int
    target: Literal["self", "host"] = "self"

    @classmethod
    def from_env(cls) -> Fault | None:
        text = os.environ.get(FAULT_ENV)
        if not text:
            return None
        parts = text.split("@")
        try:
            name, frame = parts[0], int(parts[1])
            target = parts[2] if len(parts) > 2 else "self"
        except (IndexError, ValueError):
            name, frame, target = "", 0, ""
        if not name or frame < 1 or target not in ("self", "host") or len(parts) > 3:
            raise ConfigError(f"{FAULT_ENV}: expected NAME@FRAME or NAME@FRAME@host, "
                              f"got {text!r}")
        return cls(name, frame, target)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ticket:
    """One attempt at one job, as handed to a worker."""

    job: Job
    attempt: int
    settings: RenderSettings
    state_dir: Path  # the batch's bookkeeping folder: logs, fault markers
    fault: Fault | None = None
    env: dict[str, str] = field(default_factory=dict)  # set in the job process first
    host_pid: int | None = None  # the process hosting the job process (a Ray worker)


@dataclass(frozen=True)
class JobResult:
    """How one attempt ended.

    ``retryable`` is False for nightvid's own errors (a corrupt or unsupported input, an
    unwritable output): the same input fails the same way, so the batch does not retry it at
    once. Crashes and unexpected exceptions are retryable.
    """

    status: Status
    frames: int = 0
    wall_s: float = 0.0
    error: str | None = None
    retryable: bool = False
    host: str = ""
    pid: int = 0
    signal: str | None = None


@dataclass(frozen=True)
class Started:
    key: str
    host: str
    pid: int


@dataclass(frozen=True)
class Progress:
    key: str
    frames: int  # frames rendered so far in this attempt


@dataclass(frozen=True)
class Finished:
    key: str
    result: JobResult


Event = Started | Progress | Finished
