"""The local engine: files one after another in this process, or in N worker processes.

Workers are spawned (not forked: a fork of a process whose torch/OpenMP threads are running can
deadlock) and each loads the models once in its initializer. Only the parent writes the
manifest, so rows never interleave; workers write their own output files (atomically). At most
``2 * workers`` files are in flight, so a folder of millions of files does not queue millions of
futures. A worker whose parent has died (SIGKILL of the run) exits by itself.

A worker that dies (killed for memory on a huge image, a crash in native code) breaks the whole
process pool and every file in flight with it. The run does not stop: the files that were in
flight are tried again one at a time, each in a fresh single-worker pool, so the file that
kills its worker is named and recorded as failed, the innocent ones are done, and the rest of
the folder goes on in a new pool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from restora.batch.job import BatchConfig, FileRestorer, empty_row
from restora.errors import RestoraError

log = logging.getLogger("restora.batch")

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


@contextlib.contextmanager
def _ctrl_c_between_files() -> Iterator[threading.Event]:
    """In-process runs: the first Ctrl-C is noted and acted on after the file in progress (a
    ``KeyboardInterrupt`` raised inside an expert can be lost in a library that calls back into
    Python and clears errors, and the batch then ran on); a second one interrupts at once."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


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


CRASHED = (
    "the worker process died while restoring this file (out of memory? try a lower "
    "--max-pixels or fewer --workers)"
)
MAX_POOL_RESTARTS = 1000
"""A pool is restarted after each worker death; past this many deaths the run stops (something
is wrong with every file, not with one)."""


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
    process: Callable[..., dict[str, Any]] | None = None,
) -> None:
    """Restore ``files``, calling ``on_row`` with each finished row (in finishing order).

    ``process`` is what a worker runs per file (default :func:`_process_in_worker`; it must be
    module-level, so spawned workers can import it): the tests pass one that crashes."""
    files = list(files)
    process = process or _process_in_worker
    if workers <= 1:
        restorer = FileRestorer(config)
        with _ctrl_c_between_files() as asked_to_stop:
            for file in files:
                on_row(restorer.process(file, outputs[file], in_root, out_root, overwrite))
                if asked_to_stop.is_set():
                    raise KeyboardInterrupt
        return

    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from dataclasses import replace

    if config.threads is None:
        config = replace(config, threads=default_threads(workers))

    def new_pool(size: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(config, os.getpid()),
        )

    def submit(pool: ProcessPoolExecutor, file: str) -> Future[dict[str, Any]]:
        return pool.submit(process, file, outputs[file], in_root, out_root, overwrite)

    def alone(file: str) -> dict[str, Any]:
        """One file in a fresh single-worker pool: its row, or a failed row if it kills it."""
        solo = new_pool(1)
        try:
            return submit(solo, file).result()
        except BrokenProcessPool:
            return {**empty_row(file, outputs[file]), "error": CRASHED}
        finally:
            _stop(solo, ())

    pool = new_pool(workers)
    pending: dict[Future[dict[str, Any]], str] = {}
    queue = iter(files)
    restarts = 0
    try:
        while True:
            for file in queue:
                pending[submit(pool, file)] = file
                if len(pending) >= 2 * workers:
                    break
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            suspects = []
            for future in finished:
                file = pending.pop(future)
                try:
                    row = future.result()
                except BrokenProcessPool:
                    suspects.append(file)
                    continue
                on_row(row)
            if not suspects:
                continue
            # the pool is broken: every file still in flight shares the suspicion
            suspects.extend(pending.values())
            pending.clear()
            _stop(pool, ())
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise RestoraError(
                    f"worker processes died {restarts} times; finished files are in the "
                    "manifest: rerun with --resume (and fewer --workers)"
                )
            log.warning("a worker process died; retrying its %d files one by one", len(suspects))
            for file in suspects:
                on_row(alone(file))
            pool = new_pool(workers)
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
