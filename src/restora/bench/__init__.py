"""Benchmarks over the public test sets: paired data loaders, the harness comparing experts with
published anchors, and the registry of the other benchmarks.

The expert tables (``restora bench --task denoise`` ...) are :mod:`restora.bench.harness`. Every
other benchmark is one entry of :data:`BENCHMARKS`, ``name -> "module:function"``, imported on
first use. Each function has one signature::

    run(data_dir: Path | None, quick: bool, **options) -> BenchmarkOutcome

(``options`` are the extra settings of the module's own ``python -m`` main, all with defaults)
and measures only: it writes no file. :func:`run_named` runs one and is the one writer of
BENCHMARKS.md (and of the files an outcome brings along, the analyzer's model card); quick runs
never write. ``restora bench --task NAME`` and every ``python -m restora.bench.NAME`` go through
it.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCHMARKS: dict[str, str] = {
    "analyze": "restora.bench.perception:benchmark",
    "agent": "restora.bench.agent:run_from_cli",
    "quality": "restora.bench.quality:benchmark",
    "language": "restora.bench.language:benchmark",
    "batch": "restora.bench.batch:benchmark",
    "degradations": "restora.bench.degradations:benchmark",
    "speed": "restora.bench.speed:benchmark",
    "published": "restora.bench.published:benchmark",
    "runtimes": "restora.bench.runtimes:benchmark",
    "agenticir": "restora.bench.agenticir:benchmark",
    "real_noise": "restora.bench.real_noise:benchmark",
}
"""Benchmark name (``restora bench --task NAME``) -> ``"module:function"``."""


@dataclass(frozen=True)
class BenchmarkOutcome:
    """What a registered benchmark measured: its BENCHMARKS.md section and the raw results."""

    section: str
    """Name of the section between ``<!-- BEGIN section -->`` / ``<!-- END section -->``."""
    markdown: str
    """The section's text."""
    results: dict[str, Any]
    """The measurements, JSON-able (``restora bench --json`` prints them)."""
    files: tuple[tuple[Path, str], ...] = ()
    """Other generated files rewritten with the section: (path, text), e.g. a model card; a
    relative path is taken from the folder of the BENCHMARKS.md written."""


Benchmark = Callable[..., BenchmarkOutcome]


def list_benchmarks() -> list[str]:
    """The registered benchmark names (the expert-table tasks are the harness's)."""
    return list(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    """The function of benchmark ``name`` (its module is imported now); unknown names raise
    :class:`~restora.errors.UnknownNameError` listing the registered ones."""
    if name not in BENCHMARKS:
        from restora.errors import UnknownNameError

        raise UnknownNameError("benchmark", name, list(BENCHMARKS))
    module, function = BENCHMARKS[name].split(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def run_named(
    name: str,
    data_dir: Path | None = None,
    quick: bool = False,
    write: bool = True,
    path: Path | None = None,
    **options: Any,
) -> BenchmarkOutcome:
    """Run benchmark ``name`` and, when ``write`` and not ``quick``, rewrite its section of
    BENCHMARKS.md (``path``; default the checkout's) and the outcome's other files.

    ``options`` go to the benchmark function (the extras of its ``python -m`` main). This is
    the only place that writes a registered benchmark's results.
    """
    outcome = get_benchmark(name)(data_dir, quick, **options)
    if write and not quick:
        from restora.bench.report import write_section
        from restora.io import write_bytes_atomic

        written = write_section(outcome.section, outcome.markdown, path)
        for target, text in outcome.files:
            # a relative path is beside the BENCHMARKS.md written (a page it links to)
            where = target if target.is_absolute() else written.parent / target
            where.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(where, text.encode("utf-8"), overwrite=True)
    return outcome


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """``python -m module ARGS`` as a section quotes the command that wrote it (``argv``
    defaults to this process's arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", "-m", module, *(shlex.quote(a) for a in args)])


def default_command(name: str, quick: bool) -> str:
    """``restora bench --task NAME [--quick]``: the command a section names by default."""
    return f"restora bench --task {name}" + (" --quick" if quick else "")


__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkOutcome",
    "command_line",
    "default_command",
    "get_benchmark",
    "list_benchmarks",
    "run_named",
]
