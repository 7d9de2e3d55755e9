"""``restora batch``: restore a folder of images, locally or on Ray (see docs/batch.md)."""

from __future__ import annotations

from pathlib import Path

import click

from restora.cli._common import PIXEL_COUNT, common_options, device, emit_json, json_option
from restora.cli.restore import _parse_params
from restora.vocabulary import TASKS


@click.command(short_help="Restore every image in a folder (local or Ray), with resume.")
@click.argument("in_dir", metavar="IN_DIR")
@click.argument("out_dir", metavar="OUT_DIR")
@click.option("-i", "--instruction", help="What to do, in plain English (the agent).")
@click.option(
    "--task", "tasks", multiple=True, type=click.Choice(TASKS), help="Run this task (repeatable)."
)
@click.option("--expert", help="Use this expert by name (see `restora experts`).")
@click.option("--scale", type=click.IntRange(1, 8), default=None, help="Upscaling factor.")
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Expert parameter (repeatable)."
)
@click.option(
    "--exclude",
    "excluded",
    multiple=True,
    type=click.Choice(TASKS),
    help="Never run this task (agent; repeatable).",
)
@click.option(
    "--budget", type=click.FloatRange(min=0.1), default=None, help="Agent seconds per image."
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help="Analyzer weights (.safetensors with its .json).",
)
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (local) or actors (ray); each loads the models once.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch threads per worker (default: cores / workers); 1 is fastest for small images "
    "or on a busy machine.",
)
@click.option("--resume", is_flag=True, help="Continue the run recorded in OUT_DIR's manifest.")
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist.")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Manifest file (default OUT_DIR/batch_manifest.jsonl; needed for a remote OUT_DIR).",
)
@click.option("--ray-address", default=None, help="Ray cluster to join (default RAY_ADDRESS).")
@click.option(
    "--gpus-per-worker",
    type=click.FloatRange(min=0),
    default=None,
    help="GPUs per Ray actor (default 1 with CUDA, else 0).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal and not --json).",
)
@click.option(
    "--max-pixels",
    type=PIXEL_COUNT,
    default=None,
    help="Skip (as failed) images with more pixels than this.",
)
@json_option
@common_options
def batch(
    in_dir: str,
    out_dir: str,
    instruction: str | None,
    tasks: tuple[str, ...],
    expert: str | None,
    scale: int | None,
    params: tuple[str, ...],
    excluded: tuple[str, ...],
    budget: float | None,
    weights: Path | None,
    engine: str,
    workers: int,
    threads: int | None,
    resume: bool,
    overwrite: bool,
    manifest: Path | None,
    ray_address: str | None,
    gpus_per_worker: float | None,
    progress: bool | None,
    max_pixels: float | None,
    as_json: bool,
) -> int:
    """Restore every image under IN_DIR (recursively) into OUT_DIR, keeping relative paths.

    Outputs are PNG (photo.jpg -> photo.png; names that would collide keep their extension,
    then get ~2, ~3: see docs/batch.md). A file that cannot be read or restored is reported and
    skipped. Every finished file is recorded in OUT_DIR/batch_manifest.jsonl; after a crash or
    Ctrl-C, run the same command with --resume. OUT_DIR/batch_summary.csv and .json list, per
    file, the status, tasks, detected degradations, quality before and after, and the time.
    Files already in OUT_DIR are never replaced without --overwrite. IN_DIR and OUT_DIR may be
    pyarrow URIs (s3://bucket/prefix) with --engine ray or local.

    Exit status: 0 when every file is done; 1 when any file failed or the run stopped early
    (the disk is full), with the count on the last line of stderr; 2 when the request is
    wrong (nothing is done); 130 on Ctrl-C.
    """
    from restora.batch import BatchConfig, run_batch
    from restora.errors import RestoraError

    if (tasks or expert) and (instruction or excluded or budget is not None):
        raise RestoraError("-i/--exclude/--budget are for the agent: leave out --task/--expert")
    if not (tasks or expert) and params:
        raise RestoraError("--param is for --task/--expert runs")
    config = BatchConfig(
        instruction=instruction,
        tasks=tasks,
        expert=expert,
        scale=scale,
        exclude=excluded,
        params=_parse_params(params),
        budget_s=budget,
        weights=None if weights is None else str(weights),
        device=device(),
        max_pixels=None if max_pixels is None else int(max_pixels),
        threads=threads,
    )
    report = run_batch(
        in_dir,
        out_dir,
        config,
        engine=engine,
        workers=workers,
        resume=resume,
        overwrite=overwrite,
        manifest=manifest,
        progress=False if as_json else progress,
        ray_address=ray_address,
        gpus_per_worker=gpus_per_worker,
    )
    if as_json:
        emit_json(report.to_dict())
    else:
        for failure in report.failures:
            click.echo(f"failed: {failure['file']}: {failure['error']}")
        skipped = f", {report.skipped} already done" if report.skipped else ""
        click.echo(
            f"{report.done} of {report.files} done, {report.failed} failed{skipped} "
            f"({report.processed} processed in {report.seconds:.1f} s)"
        )
        click.echo(f"summary: {report.summary_csv} and {report.summary_json}")
    if report.stopped:
        click.echo(
            f"restora batch: stopped early: {report.stopped}; {report.failed} of "
            f"{report.files} files failed, {report.pending} not tried: rerun with --resume",
            err=True,
        )
        return 1
    if report.failed:
        click.echo(
            f"restora batch: {report.failed} of {report.files} files failed "
            f"(see {report.summary_csv})",
            err=True,
        )
        return 1
    return 0
