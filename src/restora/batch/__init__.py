"""Restoring folders of images: ``restora batch`` locally (progress, resume, workers) or on Ray.

    >>> from restora.batch import BatchConfig, run_batch
    >>> report = run_batch("photos/", "restored/", BatchConfig(instruction="remove the noise"))
    >>> report.done, report.failed, report.summary_csv

Modules: ``job`` (settings, file listing, output names, the per-file pipeline
:class:`FileRestorer`), ``storage`` (local folders and pyarrow URIs), ``manifest`` (the JSONL
record that makes ``--resume`` work), ``summary`` (CSV and JSON), ``local`` and ``ray_engine``
(the engines), ``run`` (:func:`run_batch`, which ties them together). See docs/batch.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.batch.job import BatchConfig, FileRestorer, list_images, output_names
    from restora.batch.manifest import Manifest
    from restora.batch.run import BatchReport, run_batch

_API: dict[str, str] = {
    "BatchConfig": "restora.batch.job",
    "FileRestorer": "restora.batch.job",
    "list_images": "restora.batch.job",
    "output_names": "restora.batch.job",
    "Manifest": "restora.batch.manifest",
    "BatchReport": "restora.batch.run",
    "run_batch": "restora.batch.run",
}

__all__ = [
    "BatchConfig",
    "BatchReport",
    "FileRestorer",
    "Manifest",
    "list_images",
    "output_names",
    "run_batch",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'restora.batch' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
