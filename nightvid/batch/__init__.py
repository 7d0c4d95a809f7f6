"""Batch processing: many photos and clips, on this machine or on a Ray cluster.

A job is one input (photo, DNG sequence folder, Bayer stack, rawvideo stream or video) and
renders through the same library calls as ``nightvid enhance``. The pieces:

- :mod:`.discover`: inputs (files, folders, globs) -> :class:`Job` list, output names.
- :mod:`.manifest`: ``OUTDIR/batch-manifest.jsonl``, what every attempt did.
- :mod:`.runner`: the driver (skip, dispatch, retry, progress); :mod:`.local` and
  :mod:`.ray_runner` start attempts; :mod:`.process` runs one in its own process.
- :mod:`.report`: the closing table and ``--report`` JSON.

>>> from nightvid.batch import discover, run_batch  # doctest: +SKIP
>>> report = run_batch(discover(["samples"], "out"), "out", settings)  # doctest: +SKIP
"""

from __future__ import annotations

from .discover import discover
from .manifest import MANIFEST_NAME, Manifest
from .records import Job, JobResult, RenderSettings
from .report import BatchReport, JobRow
from .runner import BatchOptions, run_batch

__all__ = ["MANIFEST_NAME", "BatchOptions", "BatchReport", "Job", "JobResult", "JobRow",
           "Manifest", "RenderSettings", "discover", "run_batch"]
