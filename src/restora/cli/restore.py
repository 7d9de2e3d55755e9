"""``restora restore``: restore one image and report what was done.

Without ``--task`` or ``--expert`` the image goes to the agent (``restora.agent``): it analyses
the image, merges that with the instruction (``-i``), runs candidate experts with quality checks
and rollback, and reports every decision (``--json``, ``--report out.html``). With ``--expert``
or ``--task`` the named expert (or the best expert of each task, in the order given) runs
through the same executor without planning; every step is kept and still scored.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import click

from restora.cli._common import (
    common_options,
    emit_json,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.errors import NotAvailableError, RestoraError
from restora.vocabulary import TASKS


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are read as JSON when they parse (numbers, true, null)."""
    import json

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RestoraError(f"--param takes KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


OUTPUT_BYTES_PER_PIXEL = 16.0
"""What the result costs per output pixel besides the expert's run: the restored image's
float32 planes and their 8-bit encoding."""


def upscale_memory(
    expert: str | None, tasks: tuple[str, ...], scale: int | None, params: dict[str, Any]
) -> tuple[Any, str]:
    """``(peak_memory(header), purpose)`` for :func:`load_input` when the request upscales:
    the output pixels times the upscaler's bytes per output pixel
    (``Expert.bytes_per_output_pixel``), so that an upscale too large for the memory available
    is refused before the photo is decoded; ``(None, "read it")`` otherwise."""
    from restora.experts import experts_for_task, get_expert

    upscaler = None
    if expert is not None and not expert.startswith("onnx:"):
        upscaler = get_expert(expert)
        if upscaler.task != "upscale":
            return None, "read it"
    elif expert is None and (scale is not None or "upscale" in tasks):
        found = experts_for_task("upscale")
        upscaler = found[0] if found else None
    factor = scale or params.get("scale") or (upscaler.scale if upscaler is not None else 1)
    if not isinstance(factor, int) or factor <= 1:
        return None, "read it"
    per_pixel = upscaler.bytes_per_output_pixel if upscaler is not None else 64.0
    name = f" with {upscaler.name}" if upscaler is not None else ""

    def peak_memory(header: Any) -> float:
        output = float(header.pixels) * factor * factor
        return float(header.decode_bytes) + output * (per_pixel + OUTPUT_BYTES_PER_PIXEL)

    return peak_memory, f"upscale it x{factor}{name}"


def check_report_path(report: Path, overwrite: bool, input_path: Path) -> None:
    """Refuse a report path that is not .html, is the input or exists (without --overwrite)."""
    from restora.errors import OutputError

    if report.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{report}: the report is HTML; name it .html")
    if report.resolve() == input_path.resolve():
        raise OutputError(f"{report}: refusing to overwrite the input")
    if report.exists() and not overwrite:
        raise OutputError(f"{report}: already exists (use --overwrite)")
    from restora.io import check_folder_writable

    check_folder_writable(report)


def remove_own_output(path: Path, created: os.stat_result | None) -> None:
    """Remove ``path`` when it is still the file this run created (``created``: its stat just
    after the write; None when it replaced an existing file, which cannot be given back)."""
    if created is None:
        return
    with contextlib.suppress(OSError):
        now = os.stat(path)
        if (now.st_dev, now.st_ino) == (created.st_dev, created.st_ino):
            os.unlink(path)


def run_request(
    image: Any,
    request: Any,
    out: Path,
    report: Path | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Run one request through :func:`restora.restore`, save, report and print."""
    from restora.agent import restore
    from restora.cli._common import progress_bar
    from restora.io import save

    try:
        with progress_bar(enabled=not as_json) as progress:
            result = restore(image, request=request, progress=progress)
    except NotAvailableError as exc:
        if request.explicit:
            raise
        raise NotAvailableError(
            f"{exc}; or give --task T or --expert NAME to run an expert without the agent"
        ) from exc
    existed = os.path.lexists(out)
    written = save(result.image, out, overwrite=overwrite)
    if report is not None:
        from restora.reports.restoration import write_report

        created = None if existed else os.stat(written)
        try:
            write_report(result, report, overwrite=overwrite)
        except BaseException:
            # exit 2 writes nothing: the image this run just wrote goes too
            remove_own_output(written, created)
            raise
    if as_json:
        emit_json(result.to_dict(str(out)))
        return
    for line in result.trace.lines():
        click.echo(line)
    click.echo(f"wrote {out}" + (f" and {report}" if report is not None else ""))


@click.command(short_help="Restore an image, guided by an optional instruction.")
@image_path_argument()
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), help="Output file.")
@click.option("-i", "--instruction", help="What to do, in plain English.")
@click.option(
    "--task", "tasks", multiple=True, type=click.Choice(TASKS), help="Run this task (repeatable)."
)
@click.option("--expert", help="Use this expert by name, or onnx:PATH (see `restora experts`).")
@click.option("--scale", type=click.IntRange(1, 8), default=None, help="Upscaling factor.")
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Expert parameter (repeatable)."
)
@click.option("--report", type=click.Path(path_type=Path), help="Write an HTML report here.")
@click.option(
    "--exclude",
    "excluded",
    multiple=True,
    type=click.Choice(TASKS),
    help="Never run this task (agent; repeatable; adds to the instruction's exclusions).",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Agent time budget in seconds (default 60).",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help="Analyzer weights for the agent (.safetensors with its .json).",
)
@overwrite_option
@max_pixels_option
@json_option
@common_options
def restore(
    input_path: Path,
    output: Path | None,
    instruction: str | None,
    tasks: tuple[str, ...],
    expert: str | None,
    scale: int | None,
    params: tuple[str, ...],
    report: Path | None,
    excluded: tuple[str, ...],
    budget: float | None,
    weights: Path | None,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Restore the image IN and write the result to OUT (default: IN_restored.png)."""
    from restora.io import check_output

    peak_memory, purpose = upscale_memory(expert, tasks, scale, _parse_params(params))
    image = load_input(input_path, max_pixels, peak_memory=peak_memory, purpose=purpose)
    out = output or input_path.with_name(f"{input_path.stem}_restored.png")
    check_output(out, overwrite=overwrite, inputs=[input_path])
    if report is not None:
        check_report_path(report, overwrite, input_path)
    if report is not None and (tasks or expert):
        raise RestoraError(
            "--report describes an agent run: leave out --task/--expert to use the agent"
        )
    if scale is not None and not (tasks or expert) and scale not in (2, 3, 4):
        raise RestoraError(f"the agent upscales x2, x3 or x4, not x{scale}")
    from restora.agent.api import RestoreRequest
    from restora.cli._common import device

    request = RestoreRequest(
        instruction=instruction,
        tasks=tasks,
        expert=expert,
        exclude=excluded,
        scale=scale,
        budget=budget,
        device=device(),
        params=_parse_params(params),
        analyzer_weights=weights,
        explicit=bool(tasks or expert),
    )
    run_request(image, request, out, report, overwrite, as_json)
