"""The Ray engine: the same per-file pipeline on Ray Data, from one machine to a cluster.

A dataset of relative paths (already filtered by the manifest, so ``--resume`` works the same
as locally) goes through ``map_batches`` with :class:`RayRestorer`, a callable class: Ray starts
``workers`` actors, each loads the models once in its constructor and restores one file per call
(``batch_size=1``: images differ in size and one slow file should not hold others back). With
CUDA, each actor asks for ``gpus_per_worker`` GPUs. Actors read and write the roots themselves
(local folders, or any URI pyarrow opens: ``s3://``, ``gs://``, ``hdfs://``), so no pixels pass
through the driver; rows stream back to the driver, which appends them to the manifest as they
arrive. ``ray.init(address=...)`` (or ``RAY_ADDRESS``) attaches to a cluster.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from restora.batch.job import BatchConfig, FileRestorer
from restora.batch.local import OnRow
from restora.errors import NotAvailableError

log = logging.getLogger("restora.batch")


class RayRestorer:
    """The Ray Data actor: models loaded once per actor, one JSON row out per file in."""

    def __init__(self, config: BatchConfig, in_root: str, out_root: str, overwrite: bool):
        self.restorer = FileRestorer(config)
        self.in_root, self.out_root, self.overwrite = in_root, out_root, overwrite

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        rows = []
        for file, output in zip(batch["file"], batch["output"], strict=True):
            row = self.restorer.process(
                str(file), str(output), self.in_root, self.out_root, self.overwrite
            )
            rows.append(json.dumps(row))
        return {"row": rows}


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


def run_ray(
    files: Iterable[str],
    outputs: dict[str, str],
    in_root: str,
    out_root: str,
    config: BatchConfig,
    *,
    workers: int = 1,
    overwrite: bool = False,
    on_row: OnRow,
    address: str | None = None,
    gpus_per_worker: float | None = None,
    cpus_per_worker: float = 1.0,
) -> None:
    """Restore ``files`` on Ray Data, calling ``on_row`` with each row as it arrives.

    Uses the running Ray instance if there is one (``ray.init`` already called), else starts or
    joins one with ``ray.init(address=address)``. ``gpus_per_worker`` defaults to 1 when torch
    sees CUDA on the driver, else 0 (fractions share a GPU between actors).
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise NotAvailableError(
            "the Ray engine needs Ray Data: pip install 'restora[ray]' (ray[data])"
        ) from None
    files = list(files)
    if not files:
        return
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver shows restora's own bar
    if gpus_per_worker is None:
        gpus_per_worker = 1.0 if _cuda_available() else 0.0
    if config.device == "auto" and gpus_per_worker == 0:
        from dataclasses import replace

        config = replace(config, device="cpu")
    items = [{"file": f, "output": outputs[f]} for f in files]
    dataset = ray.data.from_items(items, override_num_blocks=min(len(items), 64 * workers))
    restored = dataset.map_batches(
        RayRestorer,
        fn_constructor_kwargs={
            "config": config,
            "in_root": in_root,
            "out_root": out_root,
            "overwrite": overwrite,
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
    )
    for record in restored.iter_rows():
        on_row(json.loads(record["row"]))
