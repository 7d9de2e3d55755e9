"""One batch job: its settings, the files it covers, and the per-file pipeline every engine runs.

The pipeline is the one of ``restora restore``: the job's settings become one
:class:`restora.agent.api.RestoreRequest` and :func:`restora.restore` runs it (the agent without
tasks or an expert; with ``tasks``/``expert`` the same executor runs the named experts without
planning). Each file becomes one
output PNG (alpha, ICC and EXIF kept, 16-bit sources stay 16-bit) at the same relative path under
the output root, and one summary row. A file that cannot be read or restored gives a row with
``status: "failed"`` and the error, never an exception: one bad file must not stop a run.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from restora.batch.storage import filesystem_for, is_uri, local_path
from restora.errors import InputError, RestoraError

log = logging.getLogger("restora.batch")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
"""Files a batch picks up (by extension, case-insensitive); everything else is ignored."""

OUTPUT_SUFFIX = ".png"
"""Outputs are PNG whatever the input: lossless, 16-bit and alpha capable."""

MANIFEST_NAME = "batch_manifest.jsonl"
SUMMARY_CSV = "batch_summary.csv"
SUMMARY_JSON = "batch_summary.json"

DISK_FULL = "no space left on the device"
"""How the error of a file that could not be written for want of space begins: the run stops
there (every next file would fail the same way) and exits 1."""

TOP_TYPES = 3
"""Degradation types of the analysis kept in a summary row (most confident first)."""


@dataclass(frozen=True)
class BatchConfig:
    """What to do with every file; the fields are the options of ``restora batch``.

    ``instruction``/``exclude``/``scale``/``budget_s`` go to the agent; ``tasks``/``expert``/
    ``params`` run experts directly as ``restora restore --task/--expert`` does. Every row has
    the analyzer's view of its input.
    """

    instruction: str | None = None
    tasks: tuple[str, ...] = ()
    expert: str | None = None
    scale: int | None = None
    exclude: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    budget_s: float | None = None
    weights: str | None = None
    device: str = "auto"
    max_pixels: int | None = None
    threads: int | None = None
    intent: Any = None
    """The instruction already parsed (:func:`check_request` does it once per run), so that
    workers never parse it again: a chat endpoint is asked once, not once per file."""

    @property
    def uses_agent(self) -> bool:
        return not (self.tasks or self.expert)

    def request(self) -> Any:
        """The :class:`restora.agent.api.RestoreRequest` every file of the job is restored with."""
        from restora.agent.api import RestoreRequest

        return RestoreRequest(
            instruction=self.instruction,
            tasks=self.tasks,
            expert=self.expert,
            exclude=self.exclude,
            scale=self.scale,
            budget=self.budget_s,
            device=self.device,
            params=self.params,
            analyzer_weights=self.weights,
            explicit=not self.uses_agent,
        )

    def identity(self) -> dict[str, Any]:
        """The settings that change outputs: a resumed run must use the same ones."""
        out = asdict(self)
        for key in ("device", "threads", "max_pixels", "intent"):
            out.pop(key)
        out["tasks"], out["exclude"] = list(self.tasks), list(self.exclude)
        return out


def check_roots(in_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> None:
    """Refuse an output root that is, or is inside, or contains the input root: a batch never
    writes into its input folder, and its outputs must never become inputs of a rerun."""
    if is_uri(in_dir) or is_uri(out_dir):
        if str(in_dir).rstrip("/") == str(out_dir).rstrip("/"):
            raise InputError(f"{out_dir}: OUT_DIR is IN_DIR; choose another output folder")
        return
    src = local_path(in_dir)
    if not src.is_dir():
        raise InputError(f"{in_dir}: not a folder" if src.exists() else f"{in_dir}: not found")
    a, b = src.resolve(), local_path(out_dir).resolve()
    if a == b:
        raise InputError(f"{out_dir}: OUT_DIR is IN_DIR; choose another output folder")
    if a in b.parents:
        raise InputError(f"{out_dir}: OUT_DIR is inside IN_DIR; restora never writes there")
    if b in a.parents:
        raise InputError(f"{out_dir}: IN_DIR is inside OUT_DIR; choose separate folders")


def list_images(in_dir: str | os.PathLike[str]) -> list[str]:
    """Image files under ``in_dir`` (recursive), as sorted POSIX paths relative to it.

    Hidden files and folders (``.name``) are skipped: they hold temporary and system files.
    ``in_dir`` may be a local folder or any URI pyarrow opens (``s3://bucket/prefix``).
    """
    if is_uri(in_dir):
        from pyarrow import fs as pafs

        filesystem, base = filesystem_for(str(in_dir))
        infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
        names = [info.path[len(base) + 1 :] for info in infos if info.type == pafs.FileType.File]
    else:
        root = local_path(in_dir)
        names = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel = Path(folder).relative_to(root)
            names.extend((rel / name).as_posix() for name in files)
    return sorted(
        name.removeprefix("./")
        for name in names
        if name.lower().endswith(IMAGE_SUFFIXES)
        and not any(part.startswith(".") for part in PurePosixPath(name).parts)
    )


def output_names(files: Iterable[str], taken: Mapping[str, str] | None = None) -> dict[str, str]:
    """Relative output path for every relative input path; never two the same.

    The rule (docs/batch.md, "Output names"), decided once for the whole folder before any
    work, in sorted order so that every run and resume of the same folder gives the same names:

    1. the input's path with its extension replaced by ``.png`` (``photo.jpg`` -> ``photo.png``);
    2. inputs that share that name (case-insensitively: ``a.jpg``, ``a.png``) keep their
       extension in it (``a.jpg.png``, ``a.png.png``);
    3. a name still taken (``a.jpg`` and ``a.jpg.png`` both give ``a.jpg.png``) stays with the
       first input in sorted order; the next ones get ``~2``, ``~3``, ... before ``.png``
       (``a.jpg.png`` -> ``a.jpg~2.png``), a suffix never taking a name another input has by
       rule 1 or 2.

    ``taken`` maps inputs to outputs already written (the done rows of a manifest being
    resumed): those inputs keep their output, and no other input is given one of them, even
    when files were added to or removed from the folder since.
    """
    files = sorted(set(files))
    taken = dict(taken or {})
    names: dict[str, str] = {f: taken[f] for f in files if f in taken}
    used = {name.lower() for name in taken.values()}
    plain = {f: str(PurePosixPath(f).with_suffix(OUTPUT_SUFFIX)) for f in files}
    counts = Counter(name.lower() for name in plain.values())
    wanted = {f: plain[f] if counts[plain[f].lower()] == 1 else f + OUTPUT_SUFFIX for f in files}
    natural = {wanted[f].lower() for f in files if f not in names}
    for f in files:
        if f in names:
            continue
        name = wanted[f]
        if name.lower() in used:
            stem = name[: -len(OUTPUT_SUFFIX)]
            number = 2
            while True:
                name = f"{stem}~{number}{OUTPUT_SUFFIX}"
                if name.lower() not in used and name.lower() not in natural:
                    break
                number += 1
        used.add(name.lower())
        names[f] = name
    return names


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised from, is ENOSPC or EDQUOT (quota)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        current = current.__cause__ or current.__context__
    return False


def check_request(config: BatchConfig) -> Any:
    """Fail once, before any file is read, on a request that would fail on every file: an
    unknown expert or task, an instruction that does not parse, an unknown parameter, or a
    parameter value of the wrong type (``--param strength=abc``).

    Returns the parsed instruction (an :class:`restora.types.Intent`) for the agent, else None:
    the run hands it to every file instead of parsing the instruction again."""
    request = config.request()
    if config.uses_agent:
        from restora.agent.api import make_intent

        if config.intent is not None:
            return config.intent
        return make_intent(config.instruction, exclude=config.exclude, scale=config.scale)
    if request.expert is not None and request.expert.startswith("onnx:"):
        return None  # ONNX models are opened (and their parameters known) in the workers
    from restora.agent.planning import plan_explicit
    from restora.experts import get_expert
    from restora.types import Intent

    expert = None if request.expert is None else get_expert(request.expert)
    # resolve_params (called for every step's expert) refuses unknown names and values of
    # another kind than a number/flag default
    plan_explicit(request.tasks, expert, request.scale, request.params, Intent())
    return None


def _top_types(analysis: Any) -> list[dict[str, Any]]:
    return [
        {"type": d.type, "severity": round(float(d.severity), 3)}
        for d in analysis.degradations[:TOP_TYPES]
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def empty_row(file: str, output: str) -> dict[str, Any]:
    """The summary row of one file, before anything is known about it."""
    return {
        "file": file,
        "output": output,
        "status": "failed",
        "width": None,
        "height": None,
        "tasks": [],
        "experts": [],
        "degradations": [],
        "quality_level": None,
        "quality_before": None,
        "quality_after": None,
        "seconds": None,
        "error": "",
    }


class FileRestorer:
    """Restores one image at a time with models loaded once (one per process or Ray actor)."""

    def __init__(self, config: BatchConfig) -> None:
        self.config = config
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        from restora.agent.learned_judge import shipped_judge

        self.request = config.request()
        # one judge (and so one loaded analyzer) for every file of this process
        self.judge = shipped_judge(None, config.weights, config.device)

    def restore(self, image: Any) -> tuple[Any, dict[str, Any]]:
        """The restored :class:`restora.Image` and the row fields this run fills in."""
        from restora.agent import restore as agent_restore

        fields: dict[str, Any] = {"width": image.width, "height": image.height}
        # the intent parsed once for the run (None: the request's instruction is parsed here)
        result = agent_restore(image, self.config.intent, request=self.request, judge=self.judge)
        kept = result.trace.kept
        fields["tasks"] = [s.task for s in kept]
        fields["experts"] = [s.label for s in kept]
        fields["degradations"] = _top_types(result.analysis_before)
        fields["quality_level"] = result.analysis_before.quality.level
        fields["quality_before"] = _round(result.quality_before)
        fields["quality_after"] = _round(result.quality_after)
        return result.image, fields

    def process(
        self, file: str, output: str, in_root: str, out_root: str, overwrite: bool
    ) -> dict[str, Any]:
        """Read, restore and write one file; the summary row, ``status`` done or failed."""
        from restora.batch.storage import read_image, write_image

        row = empty_row(file, output)
        start = time.perf_counter()
        try:
            image = read_image(in_root, file, self.config.max_pixels)
            restored, fields = self.restore(image)
            write_image(restored, out_root, output, overwrite=overwrite, source=image)
            row.update(fields, status="done")
        except Exception as exc:  # one bad file must never stop the run: it becomes a row
            message = str(exc).splitlines()[0] if str(exc) else ""
            if is_disk_full(exc):
                message = f"{DISK_FULL} writing {output}: free some space, then rerun with --resume"
            elif not isinstance(exc, RestoraError):
                message = f"{type(exc).__name__}: {message}".rstrip(": ")
                log.debug("%s failed", file, exc_info=True)
            row["error"] = message or type(exc).__name__
        row["seconds"] = round(time.perf_counter() - start, 3)
        return row
