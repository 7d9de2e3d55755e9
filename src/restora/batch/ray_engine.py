"""The Ray engine: the same per-file pipeline on Ray Data, from one machine to a cluster.

A dataset of relative paths (already filtered by the manifest, so ``--resume`` works the same
as locally) goes through ``map_batches`` with :class:`RayRestorer`, a callable class: Ray starts
``workers`` actors, each loads the models once in its constructor and restores one file per call
(``batch_size=1``: images differ in size and one slow file should not hold others back). With
CUDA, each actor asks for ``gpus_per_worker`` GPUs. Actors read and write the roots themselves
(local folders, or any URI pyarrow opens: ``s3://``, ``gs://``, ``hdfs://``), so no pixels pass
through the driver; rows stream back to the driver, which appends them to the manifest as they
arrive. ``ray.init(address=...)`` (or ``RAY_ADDRESS``) attaches to a cluster.

Ray started by the run prints no log lines of its own or of Ray Data on stderr (``-vv`` shows
them; one line of Ray's core when an actor starts, ray-project/ray#53727, cannot be turned off
from Python), is shut down when the run ends and, when it is a local instance, lives in a
temporary folder of its own that is deleted then.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
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

    Uses the running Ray instance if there is one (``ray.init`` already called), else joins the
    cluster at ``address`` (or ``RAY_ADDRESS``) or starts a local instance, and shuts it down at
    the end. ``gpus_per_worker`` defaults to 1 when torch
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
    quiet = not log.isEnabledFor(logging.DEBUG)

    def execute() -> None:
        _run_on_ray(
            files,
            outputs,
            in_root,
            out_root,
            config,
            on_row,
            quiet,
            workers=workers,
            overwrite=overwrite,
            gpus_per_worker=gpus_per_worker,
            cpus_per_worker=cpus_per_worker,
        )

    if ray.is_initialized():  # the caller's Ray: theirs to configure and to shut down
        execute()
        return
    options: dict[str, Any] = {
        "address": address,
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR if quiet else logging.INFO,
    }
    temp_dir = None
    if not (address or os.environ.get("RAY_ADDRESS")):
        # a local instance of this run alone, in a folder removed at the end (Ray's default
        # leaves a session folder in the temp folder after every run)
        temp_dir = _ray_temp_dir()
        options.update(address="local", _temp_dir=temp_dir)
    try:
        ray.init(**options)
        execute()
    finally:
        ray.shutdown()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


RAY_SOCKET_ROOM = 88
"""Characters added to the temp folder's path by ours (``/restora-ray-XXXXXXXX``) and Ray's
longest socket path in it (``/session_<date>_<time>_<pid>/sockets/plasma_store``)."""


def _ray_temp_dir() -> str:
    """A new folder for a local Ray's session, in the temp folder, or in /tmp where the temp
    folder's path is too long for Ray's Unix sockets (at most 107 bytes)."""
    root = tempfile.gettempdir()
    if len(root.encode()) + RAY_SOCKET_ROOM > 107 and os.access("/tmp", os.W_OK):
        root = "/tmp"
    return tempfile.mkdtemp(prefix="restora-ray-", dir=root)


@contextlib.contextmanager
def _quiet_ray_data(quiet: bool) -> Iterator[None]:
    """Ray Data's console lines (execution started, its plan, finished) hidden for the block:
    restora prints its own; they stay in Ray Data's log file."""
    handlers = [
        h
        for h in logging.getLogger("ray.data").handlers
        if quiet and type(h).__name__ != "SessionFileHandler"
    ]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


def _run_on_ray(
    files: list[str],
    outputs: dict[str, str],
    in_root: str,
    out_root: str,
    config: BatchConfig,
    on_row: OnRow,
    quiet: bool,
    *,
    workers: int,
    overwrite: bool,
    gpus_per_worker: float | None,
    cpus_per_worker: float,
) -> None:
    import ray
    import ray.data

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
    with _quiet_ray_data(quiet):
        for record in restored.iter_rows():
            on_row(json.loads(record["row"]))
