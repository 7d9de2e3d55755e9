"""``restora bench``: benchmarks on the public test sets, anchors side by side.

Expert tasks (denoise, upscale...) go to the harness (:mod:`restora.bench.harness`); the other
benchmarks are the registry :data:`restora.bench.BENCHMARKS`, run by
:func:`restora.bench.run_named`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from restora.cli._common import common_options, emit_json, json_option

TASK_HELP = (
    "Task to benchmark (repeatable). Expert tables: denoise, dejpeg, upscale, derain, dehaze, "
    "deblur, brighten, dereflect (all of them without --task). Other benchmarks, each "
    "rewriting its section of BENCHMARKS.md unless --quick: analyze (the degradation "
    "analyzer, and its model card), agent (the restoration agent), quality (metric "
    "calibration, correlation with human scores, speed), language (instruction parsing), "
    "batch (restora batch throughput, local and Ray), degradations (degradation engine and "
    "training data speed), speed (the agent on 0.25-24 MP photos, time and memory), "
    "published (the published SR networks next to nafnet_upscale and ibp on Set5/Set14/B100/"
    "Urban100 x2/x4, and SRMD/waifu2x on CBSD68 noise), "
    "runtimes (the learned experts under onnxruntime, bf16, int8 and thread settings on "
    "the CPU: PSNR kept and speed-up), "
    "agenticir (the AgenticIR protocol: its 16 mixed-degradation combinations in groups A, B, "
    "C; input, seed routing, fixed pipelines, agent, oracle), "
    "real_noise (the denoisers and the agent on held-out PolyU real-noise scenes and RNI15)."
)


def _write_report(path: Path | None, results: dict[str, Any]) -> None:
    """The HTML report of a finished run (a re-run replaces it: it is a product of the run)."""
    if path is None:
        return
    from restora.reports import bench_report
    from restora.reports.html import write_html

    write_html(bench_report(results), path, overwrite=True)


@click.command(
    short_help="Benchmarks: experts vs published anchors; analyzer, agent, metrics, parser..."
)
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
    help=TASK_HELP,
)
@click.option(
    "--quick",
    is_flag=True,
    help="A small subset that runs in a few minutes (the non-expert benchmarks then leave "
    "BENCHMARKS.md alone).",
)
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
    help="Expert tasks: rewrite the experts section of this BENCHMARKS.md. Other benchmarks: "
    "write their section here instead of the checkout's BENCHMARKS.md.",
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
    """Run the benchmark harness (expert tasks) and write Markdown and JSON tables, or run
    registered benchmarks (analyze, agent, quality, ...) and rewrite their BENCHMARKS.md
    sections."""
    import shlex
    import sys

    from restora.bench import BENCHMARKS, run_named
    from restora.bench.harness import (
        TASK_DATASETS,
        run_benchmark,
        to_markdown,
        update_benchmarks_file,
        write_report,
    )
    from restora.errors import OutputError, UnknownNameError

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{report}: the report is HTML; name it .html")
    for task in tasks:
        if task not in BENCHMARKS and task not in TASK_DATASETS:
            raise UnknownNameError("benchmark task", task, [*TASK_DATASETS, *BENCHMARKS])
    registered = [t for t in tasks if t in BENCHMARKS]
    if registered:
        if len(registered) != len(tasks):
            raise click.UsageError(
                f"run the {', '.join(BENCHMARKS)} benchmarks on their own, not with expert tasks"
            )
        if methods or datasets or max_images is not None:
            raise click.UsageError("--method, --dataset and --max-images are for expert tasks")
        outcomes: dict[str, Any] = {}
        for task in dict.fromkeys(registered):
            outcome = run_named(task, data, quick, path=update_benchmarks)
            outcomes[task] = outcome.results
            if not as_json:
                click.echo(outcome.markdown)
                if not quick:
                    target = update_benchmarks or "BENCHMARKS.md"
                    click.echo(f"wrote the {outcome.section} section of {target}", err=True)
        _write_report(report, outcomes)
        if as_json:
            emit_json(outcomes)
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
