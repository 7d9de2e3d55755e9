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

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.batch.job import BatchConfig as BatchConfig
    from restora.batch.job import FileRestorer as FileRestorer
    from restora.batch.job import list_images as list_images
    from restora.batch.job import output_names as output_names
    from restora.batch.manifest import Manifest as Manifest
    from restora.batch.run import BatchReport as BatchReport
    from restora.batch.run import run_batch as run_batch

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "job": ["BatchConfig", "FileRestorer", "list_images", "output_names"],
        "manifest": ["Manifest"],
        "run": ["BatchReport", "run_batch"],
    },
)
