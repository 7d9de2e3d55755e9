"""``restora bench``: benchmarks on the public test sets, anchors side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from restora.cli._common import common_options, emit_json, json_option

# Benchmarks that are not expert tables: task name -> "module:function(data_dir, quick) -> dict".
SPECIAL_BENCHMARKS: dict[str, str] = {
    "analyze": "restora.perception.bench:run_from_cli",
    "agent": "restora.agent.bench:run_from_cli",
}


def _write_report(path: Path | None, results: dict[str, Any]) -> None:
    """The HTML report of a finished run (a re-run replaces it: it is a product of the run)."""
    if path is None:
        return
    from restora.reports import bench_report
    from restora.reports.html import write_html

    write_html(bench_report(results), path, overwrite=True)


@click.command(short_help="Benchmark experts on public test sets against published anchors.")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data folder (default ../shared/data or RESTORA_DATA).",
)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help="Task to benchmark (repeatable): denoise, dejpeg, upscale, derain, dehaze, deblur, "
    "brighten, dereflect; analyze (the degradation analyzer), agent (the restoration agent).",
)
@click.option("--quick", is_flag=True, help="A small subset that runs in a few minutes.")
@click.option("--max-images", type=click.IntRange(min=1), default=None, help="Images per set.")
@click.option("--method", "methods", multiple=True, help="Only these experts/anchors.")
@click.option(
    "--dataset", "datasets", multiple=True, help="Only these data sets of the tasks (repeatable)."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("out/bench"),
    show_default=True,
    help="Folder for bench_experts.md and .json.",
)
@click.option(
    "--update-benchmarks",
    type=click.Path(path_type=Path),
    default=None,
    help="Rewrite the experts section of this BENCHMARKS.md.",
)
@click.option("--report", type=click.Path(path_type=Path), help="Write an HTML report here.")
@json_option
@common_options
def bench(
    data: Path | None,
    tasks: tuple[str, ...],
    quick: bool,
    max_images: int | None,
    methods: tuple[str, ...],
    datasets: tuple[str, ...],
    out_dir: Path,
    update_benchmarks: Path | None,
    report: Path | None,
    as_json: bool,
) -> None:
    """Run the benchmark harness and write Markdown and JSON tables."""
    import shlex
    import sys

    from restora.bench.harness import (
        run_benchmark,
        to_markdown,
        update_benchmarks_file,
        write_report,
    )
    from restora.errors import OutputError

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{report}: the report is HTML; name it .html")
    special = [t for t in tasks if t in SPECIAL_BENCHMARKS]
    if special:
        import importlib

        if len(special) != len(tasks):
            raise click.UsageError(
                "run analyze/agent benchmarks on their own, not with expert tasks"
            )
        results = {}
        for task in special:
            module, function = SPECIAL_BENCHMARKS[task].split(":")
            results[task] = getattr(importlib.import_module(module), function)(data, quick)
        _write_report(report, results)
        if as_json:
            emit_json(results)
        return
    results = run_benchmark(
        tasks or None, data, quick, max_images, methods or None, datasets or None
    )
    command = "restora " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    results["command"] = command
    json_path, md_path = write_report(results, out_dir)
    _write_report(report, results)
    if update_benchmarks is not None and not update_benchmarks_file(
        to_markdown(results), update_benchmarks, command
    ):
        raise OutputError(f"{update_benchmarks} has no experts section markers")
    if as_json:
        emit_json({**results, "markdown": str(md_path), "json": str(json_path)})
    else:
        click.echo(to_markdown(results))
        click.echo(f"wrote {md_path} and {json_path}", err=True)
