"""``restora restore``: restore one image and report what was done.

Without ``--task`` or ``--expert`` the image goes to the agent (``restora.agent``): it analyses
the image, merges that with the instruction (``-i``), runs candidate experts with quality checks
and rollback, and reports every decision (``--json``, ``--report out.html``). With ``--expert``
or ``--task`` the named expert (or the first expert for each task, in the order given) runs
directly, without the analyzer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import numpy as np

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


def _no_reference_score(image: np.ndarray) -> float | None:
    try:
        from restora.quality import assess_nr
    except ImportError:
        return None
    try:
        return round(float(assess_nr(image).score), 3)
    except (RestoraError, ValueError):
        return None


def plan_explicit(
    tasks: tuple[str, ...], expert: str | None, scale: int | None
) -> list[tuple[str | None, str]]:
    """(task, expert name) steps for an explicit request; the agent replaces this later."""
    from restora.experts import experts_for_task

    if expert:
        if len(tasks) > 1:
            raise RestoraError("--expert runs one expert: give at most one --task with it")
        return [(tasks[0] if tasks else None, expert)]
    steps: list[tuple[str | None, str]] = []
    for task in tasks:
        candidates = experts_for_task(task)
        if not candidates:
            raise NotAvailableError(f"no expert is installed for task {task!r}")
        steps.append((task, candidates[0].name))
    return steps


def run_steps(
    image: np.ndarray,
    steps: list[tuple[str | None, str]],
    scale: int | None,
    params: dict[str, Any],
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Run each (task, expert) in order; every step is kept (the agent adds rollback)."""
    from restora.experts import get_expert

    records: list[dict[str, Any]] = []
    current = image
    for task, name in steps:
        options: dict[str, Any] = {}
        if name.startswith("onnx:"):
            options = {"task": task, "scale": scale}
        expert = get_expert(name, **options)
        if task is not None and expert.task != task:
            raise RestoraError(f"expert {name!r} performs {expert.task!r}, not {task!r}")
        call_params = dict(params)
        if scale is not None and "scale" in expert.params:
            call_params["scale"] = scale
        elif scale is not None and expert.scale != scale and expert.task == "upscale":
            raise RestoraError(f"expert {name!r} upscales x{expert.scale}, not x{scale}")
        before = _no_reference_score(current)
        start = time.perf_counter()
        restored = expert(current, **call_params)
        seconds = time.perf_counter() - start
        after = _no_reference_score(restored)
        records.append(
            {
                "task": expert.task,
                "expert": expert.name,
                "kept": True,
                "score_before": before,
                "score_after": after,
                "seconds": round(seconds, 3),
                "params": {k: v for k, v in call_params.items()},
            }
        )
        current = restored
    return current, records


def check_report_path(report: Path, overwrite: bool, input_path: Path) -> None:
    """Refuse a report path that is not .html, is the input or exists (without --overwrite)."""
    from restora.errors import OutputError

    if report.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{report}: the report is HTML; name it .html")
    if report.resolve() == input_path.resolve():
        raise OutputError(f"{report}: refusing to overwrite the input")
    if report.exists() and not overwrite:
        raise OutputError(f"{report}: already exists (use --overwrite)")


def run_agent(
    image: Any,
    input_path: Path,
    out: Path,
    instruction: str | None,
    scale: int | None,
    excluded: tuple[str, ...],
    budget: float | None,
    weights: Path | None,
    report: Path | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """The agent path of ``restore``: plan, execute, save, report."""
    from dataclasses import replace

    from restora.agent import AgentConfig, restore, write_report
    from restora.cli._common import device
    from restora.io import save

    if scale is not None and scale not in (2, 3, 4):
        raise RestoraError(f"the agent upscales x2, x3 or x4, not x{scale}")
    config = AgentConfig() if budget is None else replace(AgentConfig(), time_budget_s=budget)
    try:
        result = restore(
            image,
            instruction,
            exclude=excluded,
            scale=scale,
            config=config,
            weights=weights,
            device=device(),
        )
    except NotAvailableError as exc:
        raise NotAvailableError(
            f"{exc}; or give --task T or --expert NAME to run an expert without the agent"
        ) from exc
    save(result.image, out, overwrite=overwrite)
    if report is not None:
        write_report(result, report, overwrite=overwrite)
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
    from restora.io import check_output, save

    image = load_input(input_path, max_pixels)
    out = output or input_path.with_name(f"{input_path.stem}_restored.png")
    check_output(out, overwrite=overwrite, inputs=[input_path])
    if report is not None:
        check_report_path(report, overwrite, input_path)
    if not tasks and not expert:
        run_agent(
            image,
            input_path,
            out,
            instruction,
            scale,
            excluded,
            budget,
            weights,
            report,
            overwrite,
            as_json,
        )
        return
    if report is not None:
        raise RestoraError(
            "--report describes an agent run: leave out --task/--expert to use the agent"
        )
    if excluded:
        raise RestoraError("--exclude is for the agent: leave out --task/--expert")
    steps = plan_explicit(tasks, expert, scale)
    restored, records = run_steps(image.rgb, steps, scale, _parse_params(params))
    save(image.with_rgb(restored), out, overwrite=overwrite)
    if as_json:
        emit_json(
            {
                "output": str(out),
                "analysis_before": {},
                "analysis_after": {},
                "intent": {"text": instruction or "", "tasks": list(tasks)},
                "steps": records,
            }
        )
    else:
        for record in records:
            click.echo(f"{record['task']}: {record['expert']} ({record['seconds']:.2f} s)")
        click.echo(f"wrote {out}")
