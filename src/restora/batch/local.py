"""The local engine: files one after another in this process, or in N worker processes.

Workers are spawned (not forked: a fork of a process whose torch/OpenMP threads are running can
deadlock) and each loads the models once in its initializer. Only the parent writes the
manifest, so rows never interleave; workers write their own output files (atomically). At most
``2 * workers`` files are in flight, so a folder of millions of files does not queue millions of
futures. A worker whose parent has died (SIGKILL of the run) exits by itself.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from restora.batch.job import BatchConfig, FileRestorer
from restora.errors import RestoraError

OnRow = Callable[[dict[str, Any]], None]

_WORKER: dict[str, Any] = {}


def default_threads(workers: int) -> int:
    """torch threads per worker: the cores shared out, at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, workers))


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)  # the run was killed: do not finish an orphaned file
            threading.Event().wait(0.5)

    threading.Thread(target=watch, daemon=True, name="restora-parent-watch").start()


def _init_worker(config: BatchConfig, parent: int) -> None:
    # Ctrl-C goes to the whole process group; the parent decides what happens
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    _WORKER["restorer"] = FileRestorer(config)


def _process_in_worker(
    file: str, output: str, in_root: str, out_root: str, overwrite: bool
) -> dict[str, Any]:
    restorer: FileRestorer = _WORKER["restorer"]
    return restorer.process(file, output, in_root, out_root, overwrite)


def run_local(
    files: Iterable[str],
    outputs: dict[str, str],
    in_root: str,
    out_root: str,
    config: BatchConfig,
    *,
    workers: int = 1,
    overwrite: bool = False,
    on_row: OnRow,
) -> None:
    """Restore ``files``, calling ``on_row`` with each finished row (in finishing order)."""
    files = list(files)
    if workers <= 1:
        restorer = FileRestorer(config)
        for file in files:
            on_row(restorer.process(file, outputs[file], in_root, out_root, overwrite))
        return

    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from dataclasses import replace

    if config.threads is None:
        config = replace(config, threads=default_threads(workers))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(config, os.getpid()),
    )
    pending: set[Future[dict[str, Any]]] = set()
    queue = iter(files)
    try:
        while True:
            for file in queue:
                pending.add(
                    pool.submit(
                        _process_in_worker, file, outputs[file], in_root, out_root, overwrite
                    )
                )
                if len(pending) >= 2 * workers:
                    break
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                on_row(future.result())
    except BrokenProcessPool:
        _stop(pool, pending)
        raise RestoraError(
            "a worker process died (out of memory?); finished files are in the manifest: "
            "rerun with --resume (and fewer --workers)"
        ) from None
    except BaseException:
        _stop(pool, pending)
        raise
    pool.shutdown(wait=True)


def _stop(pool: Any, pending: Iterable[Any]) -> None:
    """Stop at once (Ctrl-C, an error): files in flight are not recorded, so --resume redoes
    them; waiting for them could take minutes on large images."""
    for future in pending:
        future.cancel()
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
