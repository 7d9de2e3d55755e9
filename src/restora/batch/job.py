"""One batch job: its settings, the files it covers, and the per-file pipeline every engine runs.

The pipeline is the one of ``restora restore``: without tasks or an expert the agent
(:func:`restora.restore`) analyses, plans, runs and checks; with ``tasks``/``expert`` the named
experts run directly (``restora.cli.restore.plan_explicit``/``run_steps``). Each file becomes one
output PNG (alpha, ICC and EXIF kept, 16-bit sources stay 16-bit) at the same relative path under
the output root, and one summary row. A file that cannot be read or restored gives a row with
``status: "failed"`` and the error, never an exception: one bad file must not stop a run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from restora.errors import InputError, RestoraError

log = logging.getLogger("restora.batch")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
"""Files a batch picks up (by extension, case-insensitive); everything else is ignored."""

OUTPUT_SUFFIX = ".png"
"""Outputs are PNG whatever the input: lossless, 16-bit and alpha capable."""

MANIFEST_NAME = "batch_manifest.jsonl"
SUMMARY_CSV = "batch_summary.csv"
SUMMARY_JSON = "batch_summary.json"

TOP_TYPES = 3
"""Degradation types of the analysis kept in a summary row (most confident first)."""


@dataclass(frozen=True)
class BatchConfig:
    """What to do with every file; the fields are the options of ``restora batch``.

    ``instruction``/``exclude``/``scale``/``budget_s`` go to the agent; ``tasks``/``expert``/
    ``params`` run experts directly as ``restora restore --task/--expert`` does; ``analyze``
    adds the analyzer's view to rows of direct runs (agent rows always have it).
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
    analyze: bool = False
    threads: int | None = None

    @property
    def uses_agent(self) -> bool:
        return not (self.tasks or self.expert)

    def identity(self) -> dict[str, Any]:
        """The settings that change outputs: a resumed run must use the same ones."""
        out = asdict(self)
        for key in ("device", "threads", "max_pixels"):
            out.pop(key)
        out["tasks"], out["exclude"] = list(self.tasks), list(self.exclude)
        return out


def is_uri(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` locations (S3, GCS, HDFS, ...), read through pyarrow."""
    return "://" in str(location) and not str(location).startswith("file://")


def local_path(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    return Path(text.removeprefix("file://"))


def filesystem_for(uri: str) -> tuple[Any, str]:
    """(pyarrow FileSystem, path inside it without a trailing slash) for a ``scheme://`` URI."""
    from pyarrow import fs as pafs

    filesystem, base = pafs.FileSystem.from_uri(uri)
    return filesystem, base.rstrip("/")


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


def output_names(files: Iterable[str]) -> dict[str, str]:
    """Relative output path for every relative input path: the same path with ``.png``.

    Two inputs that differ only by extension (``a.jpg``, ``a.png``) would collide; those keep
    their extension in the name (``a.jpg.png``, ``a.png.png``) so no output overwrites another.
    """
    files = list(files)
    plain = {f: str(PurePosixPath(f).with_suffix(OUTPUT_SUFFIX)) for f in files}
    counts: dict[str, int] = {}
    for name in plain.values():
        key = name.lower()
        counts[key] = counts.get(key, 0) + 1
    return {
        f: (name if counts[name.lower()] == 1 else f + OUTPUT_SUFFIX) for f, name in plain.items()
    }


def _top_types(analysis: Any) -> list[dict[str, Any]]:
    return [
        {"type": d.type, "severity": round(float(d.severity), 3)}
        for d in analysis.degradations[:TOP_TYPES]
    ]


def _nr_quality(rgb: Any) -> float | None:
    from restora.quality import assess_nr

    try:
        return round(float(assess_nr(rgb).score), 2)
    except (RestoraError, ValueError):
        return None


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
        self._analyzer: Any = None
        self._steps: list[tuple[str | None, str]] | None = None
        if config.uses_agent or config.analyze:
            from restora.perception import get_analyzer

            self._analyzer = get_analyzer(config.weights, config.device)
        if not config.uses_agent:
            from restora.cli.restore import plan_explicit

            self._steps = plan_explicit(config.tasks, config.expert, config.scale)

    def restore(self, image: Any) -> tuple[Any, dict[str, Any]]:
        """The restored :class:`restora.Image` and the row fields this run fills in."""
        config = self.config
        fields: dict[str, Any] = {"width": image.width, "height": image.height}
        if config.uses_agent:
            from dataclasses import replace

            from restora.agent import AgentConfig
            from restora.agent import restore as agent_restore

            agent_config = AgentConfig()
            if config.budget_s is not None:
                agent_config = replace(agent_config, time_budget_s=config.budget_s)
            result = agent_restore(
                image,
                config.instruction,
                exclude=config.exclude,
                scale=config.scale,
                config=agent_config,
                analyzer=self._analyzer,
            )
            restored = result.image
            kept = result.trace.kept
            fields["tasks"] = [s.task for s in kept]
            fields["experts"] = [s.expert for s in kept]
            fields["degradations"] = _top_types(result.analysis_before)
            fields["quality_level"] = result.analysis_before.quality.level
        else:
            from restora.cli.restore import run_steps

            assert self._steps is not None
            rgb, records = run_steps(image.rgb, self._steps, config.scale, dict(config.params))
            restored = image.with_rgb(rgb)
            fields["tasks"] = [r["task"] for r in records]
            fields["experts"] = [r["expert"] for r in records]
            if self._analyzer is not None:
                before = self._analyzer.analysis(image.rgb)
                fields["degradations"] = _top_types(before)
                fields["quality_level"] = before.quality.level
        fields["quality_before"] = _nr_quality(image.rgb)
        fields["quality_after"] = _nr_quality(restored.rgb)
        return restored, fields

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
            if not isinstance(exc, RestoraError):
                message = f"{type(exc).__name__}: {message}".rstrip(": ")
                log.debug("%s failed", file, exc_info=True)
            row["error"] = message or type(exc).__name__
        row["seconds"] = round(time.perf_counter() - start, 3)
        return row
