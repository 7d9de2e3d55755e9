"""``run_batch``: list the files, honour the manifest, run an engine, write the summary."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from restora.batch.job import (
    DISK_FULL,
    IMAGE_SUFFIXES,
    MANIFEST_NAME,
    SUMMARY_CSV,
    SUMMARY_JSON,
    BatchConfig,
    check_request,
    check_roots,
    empty_row,
    is_disk_full,
    is_uri,
    list_images,
    local_path,
    output_names,
)
from restora.batch.manifest import Manifest
from restora.batch.storage import check_writable
from restora.errors import InputError, OutputError, RestoraError, UnknownNameError

log = logging.getLogger("restora.batch")

ENGINES = ("local", "ray")

WORKER_MEMORY_BYTES = 400 * 2**20
"""Memory one worker process (or actor of a local Ray) is counted for: about 300 MB with its
models loaded on a CPU, plus a margin for the images in flight."""


def cap_workers(workers: int) -> int:
    """``workers`` lowered to the cores this process may use and to what fits in the memory
    available (one warning line when lowered): more processes than that only fight for the
    cores or get killed for memory."""
    from restora.io import available_memory

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    memory = available_memory()
    fit = cores if memory is None else max(1, min(cores, memory // WORKER_MEMORY_BYTES))
    if workers <= fit:
        return workers
    why = [f"{cores} cores"]
    if memory is not None:
        why.append(
            f"{memory / 1e9:.1f} GB of memory available at about "
            f"{WORKER_MEMORY_BYTES / 1e9:.1f} GB per worker"
        )
    log.warning("--workers %d lowered to %d (%s)", workers, fit, "; ".join(why))
    return fit


def _on_this_machine(engine: str, ray_address: str | None) -> bool:
    """Whether the workers run here: the local engine, or Ray started by this run."""
    if engine == "local":
        return True
    ray = sys.modules.get("ray")
    joined = ray is not None and getattr(ray, "is_initialized", lambda: False)()
    return not (ray_address or os.environ.get("RAY_ADDRESS") or joined)


@dataclass(frozen=True)
class BatchReport:
    """What a run did: counts, where the manifest and summaries are, the failures."""

    files: int
    done: int
    failed: int
    skipped: int
    processed: int
    seconds: float
    manifest: str
    summary_csv: str
    summary_json: str
    engine: str
    workers: int
    interrupted: bool = False
    failures: tuple[dict[str, str], ...] = field(default_factory=tuple)
    stopped: str | None = None
    """Why the run ended before every file was tried (the disk is full), else None."""

    @property
    def pending(self) -> int:
        """Files not tried: after an interrupt or an early stop."""
        return self.files - self.done - self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "processed": self.processed,
            "seconds": round(self.seconds, 2),
            "manifest": self.manifest,
            "summary_csv": self.summary_csv,
            "summary_json": self.summary_json,
            "engine": self.engine,
            "workers": self.workers,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "pending": self.pending,
            "failures": list(self.failures),
        }


def _manifest_path(in_dir: str, out_dir: str, manifest: str | os.PathLike[str] | None) -> Path:
    if manifest is not None:
        path = Path(manifest)
        # the manifest must never become an input of the next run, nor replace one
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise InputError(
                f"{manifest}: --manifest has an image's extension; give it a name of its own "
                f"(e.g. {path.with_suffix('.jsonl').name})"
            )
        if not is_uri(in_dir) and local_path(in_dir).resolve() in path.resolve().parents:
            raise InputError(f"{manifest}: --manifest is inside IN_DIR; restora never writes there")
        return path
    if is_uri(out_dir):
        raise InputError(
            f"{out_dir}: a remote OUT_DIR needs --manifest PATH (a local file: the manifest "
            "is appended to, which object stores cannot do)"
        )
    return local_path(out_dir) / MANIFEST_NAME


def _check_resume(manifest: Manifest, header: dict[str, Any], resume: bool) -> None:
    if not resume:
        if manifest.rows or manifest.header is not None:
            raise InputError(
                f"{manifest.path} holds a batch manifest ({len(manifest.done)} files done): add "
                "--resume to continue that run, or choose an empty OUT_DIR"
            )
        return
    if manifest.header is None:
        raise InputError(
            f"{manifest.path}: no batch manifest to resume (nothing was recorded in that "
            "OUT_DIR): run without --resume to start"
        )
    if manifest.header.get("in_dir") != header["in_dir"]:
        raise InputError(
            f"{manifest.path} belongs to a run on {manifest.header.get('in_dir')}, not "
            f"{header['in_dir']}; use another OUT_DIR"
        )
    before, now = manifest.header.get("config") or {}, header["config"]
    changed = sorted(k for k in {*before, *now} if before.get(k) != now.get(k))
    if changed:
        raise InputError(
            f"{manifest.path} was written with other settings ({', '.join(changed)}): resume "
            "with the same options, or use another OUT_DIR"
        )


def _progress(total: int, done: int, enabled: bool | None) -> Any:
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=done,
        desc="restora batch",
        unit="img",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )


def run_batch(
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: BatchConfig | None = None,
    *,
    engine: str = "local",
    workers: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    manifest: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    ray_address: str | None = None,
    gpus_per_worker: float | None = None,
) -> BatchReport:
    """Restore every image under ``in_dir`` into ``out_dir`` (same relative paths, PNG).

    ``engine`` is ``"local"`` (this process, or ``workers`` processes) or ``"ray"`` (Ray Data
    actors). The manifest (``out_dir/batch_manifest.jsonl``) gets one row per finished file;
    ``resume`` continues a run from it. ``progress`` shows a bar on stderr (default: when stderr
    is a terminal). Ctrl-C stops the run, writes the summary of what is done, and re-raises.
    """
    config = config or BatchConfig()
    if engine not in ENGINES:
        raise UnknownNameError("batch engine", engine, ENGINES)
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    in_root, out_root = str(in_dir), str(out_dir)
    check_roots(in_root, out_root)
    manifest_path = _manifest_path(in_root, out_root, manifest)
    # a request that would fail on every file fails here, once; the instruction is parsed
    # once for the whole run (a slow or dead chat endpoint is asked once, not per file)
    intent = check_request(config)
    if intent is not None:
        config = replace(config, intent=intent)
    check_writable(out_root)
    if manifest is not None:
        check_writable(manifest_path.parent, "the --manifest folder")
    files = list_images(in_root)
    if not files:
        raise InputError(f"{in_root}: no images found (looked for png, jpg, tif, bmp, webp)")
    book = Manifest(manifest_path)
    header = {"in_dir": in_root, "out_dir": out_root, "config": config.identity()}
    _check_resume(book, header, resume)
    # files done keep the output they were written to; no other file may take one of those
    written = {
        f: str(row["output"])
        for f, row in book.rows.items()
        if row.get("status") == "done" and row.get("output")
    }
    outputs = output_names(files, written)
    todo = [f for f in files if f not in written]
    if not overwrite:
        _refuse_existing(out_root, outputs, todo, book)
    if _on_this_machine(engine, ray_address):
        workers = cap_workers(workers)  # after every refusal: exit 2 says one line only
    skipped = len(files) - len(todo)
    start = time.perf_counter()
    processed = 0
    interrupted = False
    stopped: str | None = None
    failed_files = {f for f, row in book.rows.items() if row.get("status") == "failed"}
    bar = _progress(len(files), skipped, progress)

    def on_row(row: dict[str, Any]) -> None:
        nonlocal processed
        try:
            book.append(row)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise _Stop(f"{DISK_FULL} writing the manifest {book.path}") from None
        processed += 1
        bar.update(1)
        if row["status"] == "failed":
            failed_files.add(row["file"])
            log.warning("%s: %s", row["file"], row["error"])
        else:
            failed_files.discard(row["file"])
        if failed_files:
            bar.set_postfix(failed=len(failed_files), refresh=False)
        if row["status"] == "failed" and str(row["error"]).startswith(DISK_FULL):
            # every next file would fail the same way: stop rather than fail thousands
            raise _Stop(str(row["error"]))

    book.open(header)
    from restora.batch.storage import sweep_partial_writes

    # the lock is held: no other batch run on this manifest writes here now
    swept = {*outputs.values(), *(str(r.get("output")) for r in book.rows.values())}
    removed = sweep_partial_writes(out_root, [*swept, SUMMARY_CSV, SUMMARY_JSON])
    if removed:
        log.info("removed %d temporary files of an interrupted write", removed)
    from tqdm.contrib.logging import logging_redirect_tqdm

    redirect = logging_redirect_tqdm([logging.getLogger("restora")])
    redirect.__enter__()
    # a resumed run replaces outputs of unfinished files: a kill may have left them complete
    # but unrecorded (they were written atomically, so never half-written); the names are
    # the run's own (the first run refused an OUT_DIR that held any of them)
    replace_outputs = overwrite or resume
    engine_options: dict[str, Any] = {}
    run_engine: Callable[..., None]
    if engine == "ray":
        from restora.batch.ray_engine import run_ray

        run_engine = run_ray
        engine_options = {"address": ray_address, "gpus_per_worker": gpus_per_worker}
    else:
        from restora.batch.local import run_local

        run_engine = run_local
    try:
        run_engine(
            todo,
            outputs,
            in_root,
            out_root,
            config,
            workers=workers,
            overwrite=replace_outputs,
            on_row=on_row,
            **engine_options,
        )
    except _Stop as stop:
        stopped = str(stop)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        redirect.__exit__(None, None, None)
        bar.close()
        book.close()
        # the file on disk is the record: an interrupt may land between writing a row and
        # noting it in memory
        recorded = Manifest(book.path)
        rows = [
            recorded.rows.get(f) or {**empty_row(f, outputs[f]), "status": "pending"} for f in files
        ]
        csv_path, json_path = _summary_paths(out_root)
        try:
            csv_path, json_path = write_summary(out_root, rows, recorded.header or header)
        except (OSError, RestoraError) as exc:
            if not is_disk_full(exc):
                raise
            log.warning("the summary could not be written: %s", DISK_FULL)
            stopped = stopped or DISK_FULL
        if interrupted:
            print(
                f"restora batch: interrupted after {processed} files; {len(recorded.done)} of "
                f"{len(files)} done; rerun with --resume to continue",
                file=sys.stderr,
            )
    failures = tuple(
        {"file": r["file"], "error": r["error"]} for r in rows if r["status"] == "failed"
    )
    return BatchReport(
        files=len(files),
        done=sum(r["status"] == "done" for r in rows),
        failed=len(failures),
        skipped=skipped,
        processed=processed,
        seconds=time.perf_counter() - start,
        manifest=str(book.path),
        summary_csv=csv_path,
        summary_json=json_path,
        engine=engine,
        workers=workers,
        interrupted=interrupted,
        failures=failures,
        stopped=stopped,
    )


class _Stop(Exception):
    """Raised from a row callback to end the run early (the disk is full)."""


def _refuse_existing(
    out_root: str, outputs: dict[str, str], todo: list[str], book: Manifest
) -> None:
    """Never replace files the run did not write: refuse, before any work, a new run into an
    OUT_DIR that already holds one of its outputs or summaries, and a resume where the output
    of a file that failed is there (a failed file wrote nothing, so it is someone else's).
    ``--overwrite`` allows both."""
    from restora.batch.storage import existing

    if book.header is None:
        clash = existing(out_root, [SUMMARY_CSV, SUMMARY_JSON, *(outputs[f] for f in todo)])
        why = "not written by a batch run recorded there"
    else:
        failed = [f for f in todo if book.rows.get(f, {}).get("status") == "failed"]
        clash = existing(out_root, [outputs[f] for f in failed])
        why = "the output of a file that failed in this run, so not known to be its own"
    if clash:
        more = f" and {len(clash) - 1} more" if len(clash) > 1 else ""
        raise OutputError(
            f"{out_root}: OUT_DIR already holds {clash[0]}{more}, {why}: move it away, or use "
            "--overwrite to replace it"
        )


def _summary_paths(out_root: str) -> tuple[str, str]:
    if is_uri(out_root):
        return f"{out_root.rstrip('/')}/{SUMMARY_CSV}", f"{out_root.rstrip('/')}/{SUMMARY_JSON}"
    return str(local_path(out_root) / SUMMARY_CSV), str(local_path(out_root) / SUMMARY_JSON)


def write_summary(
    out_root: str, rows: list[dict[str, Any]], header: dict[str, Any]
) -> tuple[str, str]:
    """Write ``batch_summary.csv`` and ``batch_summary.json`` under ``out_root``."""
    from restora.batch.storage import write_text
    from restora.batch.summary import to_csv, to_json

    return (
        write_text(out_root, SUMMARY_CSV, to_csv(rows)),
        write_text(out_root, SUMMARY_JSON, to_json(rows, header)),
    )
