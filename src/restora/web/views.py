"""What the web page shows, as plain functions of restora's records (no Gradio here): the
upload check, the analysis in words and numbers, the plan, the trace rows, the quality report
and the files of a run. The Gradio callbacks in :mod:`restora.web.app` only arrange these."""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.trace import Result
from restora.errors import InputError
from restora.types import Analysis
from restora.vocabulary import DEGRADATION_TYPES

PREVIEW_SIDE = 1024
"""Longer side of the pictures sent to the browser; the downloads keep the full size."""

TRACE_HEADERS = ["#", "step", "expert", "decision", "score before → after", "seconds", "why"]


def read_upload(path: str | Path | None, max_pixels: int | None = None) -> Any:
    """The uploaded file as a :class:`restora.Image`, or an :class:`InputError` whose message
    names the file as the user called it (not Gradio's temporary path) and says what is wrong:
    no file, not an image, broken, or over the pixel limit (``max_pixels``; the page passes its
    own, :data:`restora.web.serving.DEFAULT_MAX_PIXELS` unless set). :func:`restora.io.load`
    checks the limit from the file's header, before decoding anything."""
    from restora.io import load

    if path is None or not str(path).strip():
        raise InputError(
            "no image yet: upload a PNG, JPEG, TIFF, BMP or WebP file, or pick an example"
        )
    source = Path(path)
    try:
        return load(source, max_pixels=max_pixels)
    except InputError as exc:
        message = str(exc).replace(str(source), source.name)
        message = message.replace(
            "(raise it with --max-pixels)",
            "(the server's limit is set by RESTORA_MAX_PIXELS or restora serve --max-pixels)",
        )
        raise type(exc)(message) from exc


def instruction_problem(text: str | None) -> str | None:
    """Why the page cannot take this instruction (too long, not text), or None when it can; an
    empty instruction is fine (the page then fixes what the analyzer finds). The rule itself is
    :func:`restora.language.parser.check_instruction`'s."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    from restora.errors import RestoraError
    from restora.language.parser import check_instruction

    try:
        check_instruction(text)
    except RestoraError as exc:
        return str(exc)
    return None


def preview(rgb: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """uint8 RGB of ``rgb`` with its longer side at most ``side`` (for the browser)."""
    from PIL import Image as PILImage

    from restora.io import to_uint

    pixels = to_uint(np.asarray(rgb, dtype=np.float32))
    if max(pixels.shape[:2]) <= side:
        return pixels
    picture = PILImage.fromarray(pixels)
    picture.thumbnail((side, side), PILImage.Resampling.LANCZOS)
    return np.asarray(picture)


def save_preview(pixels: np.ndarray, path: Path) -> Path:
    """Write a uint8 preview as PNG (fast compression: it is only shown, and deleted with the
    session)."""
    from PIL import Image as PILImage

    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, "PNG", compress_level=1)
    return path


def matched_pair(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Before/after previews of one size (an upscaled result is compared with the input
    enlarged the same way, as a comparison slider needs)."""
    from PIL import Image as PILImage

    small_after = preview(after)
    small_before = preview(before)
    if small_before.shape[:2] != small_after.shape[:2]:
        height, width = small_after.shape[:2]
        small_before = np.asarray(
            PILImage.fromarray(small_before).resize((width, height), PILImage.Resampling.BICUBIC)
        )
    return small_before, small_after


def analysis_scores(analysis: Analysis) -> dict[str, float]:
    """Probability of every degradation type (for bars), in vocabulary order."""
    present = {d.type for d in analysis.degradations}
    return {
        kind: float(analysis.scores.get(kind, 1.0 if kind in present else 0.0))
        for kind in DEGRADATION_TYPES
    }


def describe_analysis(analysis: Analysis) -> str:
    """The analysis in one or two sentences (restora.language's wording, the caption when the
    language package cannot describe it)."""
    try:
        from restora.language import describe

        return str(describe(analysis))
    except (ImportError, ValueError):
        return analysis.caption


def _found(analysis: Analysis) -> str:
    if not analysis.degradations:
        return "nothing over the analyzer's thresholds"
    return ", ".join(
        f"{d.type} (severity {d.severity:.2f}, confidence {d.confidence:.2f})"
        for d in analysis.degradations
    )


def analysis_markdown(before: Analysis, after: Analysis | None = None) -> str:
    """The analysis before (and after) the run in words, with what was judged present."""
    parts = [f"**Before:** {describe_analysis(before)}  \nFound: {_found(before)}."]
    if after is not None:
        parts.append(f"**After:** {describe_analysis(after)}  \nFound: {_found(after)}.")
    return "\n\n".join(parts)


def plan_markdown(result: Result) -> str:
    """The instruction as understood, the planned tasks in order and the planner's notes."""
    from restora.language.descriptions import describe_intent

    intent = result.intent
    asked = intent.text or "(no instruction: fix what the analysis finds)"
    lines = [
        f"**Instruction:** {asked}  ",
        f"**Understood:** {describe_intent(intent)}  ",
        f"**Plan:** {' → '.join(result.plan.tasks) or 'nothing to do'}",
    ]
    notes = [*result.trace.notes, f"stopped: {result.trace.stopped} ({result.trace.seconds:.1f} s)"]
    lines.append("")
    lines.extend(f"{number}. {note}" for number, note in enumerate(notes, 1))
    return "\n".join(lines)


def trace_rows(result: Result) -> list[list[Any]]:
    """One row per executed step, in :data:`TRACE_HEADERS` order."""
    rows: list[list[Any]] = []
    for number, step in enumerate(result.trace.steps, 1):
        before = "-" if step.score_before is None else f"{step.score_before:.1f}"
        after = "-" if step.score_after is None else f"{step.score_after:.1f}"
        rows.append(
            [
                number,
                step.task,
                step.expert or "-",
                "kept" if step.kept else "rolled back",
                f"{before} → {after}",
                round(step.seconds, 2),
                step.reason,
            ]
        )
    return rows


def quality_markdown(result: Result) -> str:
    """The quality report: the judge's no-reference score before and after (carried by the
    result, not recomputed) with its level, and the analyzer's own quality head."""
    from restora.quality import level_for

    before = float(result.quality_before or 0.0)
    after = float(result.quality_after or 0.0)
    q0, q1 = result.analysis_before.quality, result.analysis_after.quality
    rows = [
        "| | before | after |",
        "|---|---|---|",
        f"| no-reference score (0-100, {result.quality_model or 'judge'}) | "
        f"{before:.1f} ({level_for(before)}) | {after:.1f} ({level_for(after)}) |",
        f"| analyzer quality (0-100) | {q0.score:.1f} ({q0.level}) | {q1.score:.1f} ({q1.level}) |",
    ]
    change = after - before
    verdict = "better" if change > 0.5 else "worse" if change < -0.5 else "about the same"
    return "\n".join(rows) + f"\n\nNo-reference quality is {verdict} ({change:+.1f})."


def step_line(record: Any) -> str:
    """One line of progress for a finished step (the observer sees StepRecords)."""
    verdict = "kept" if record.kept else "rolled back"
    return f"{record.task} with {record.label}: {verdict} ({record.seconds:.1f} s)"


@dataclass(frozen=True)
class RunFiles:
    """What a run leaves for download: the restored image (PNG) and the HTML report."""

    image: Path
    report: Path


def write_run_files(result: Result, folder: Path, stem: str) -> RunFiles:
    """Save the result as ``<stem>_restored.png`` and its report as ``<stem>_report.html`` in a
    new sub-folder of ``folder`` (one per run, so parallel runs never share a file)."""
    from restora.io import save
    from restora.reports.restoration import write_report

    run_dir = folder / uuid.uuid4().hex[:12]
    run_dir.mkdir(parents=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80] or "image"
    image_path = run_dir / f"{safe}_restored.png"
    save(result.image, image_path)
    report_path = write_report(result, run_dir / f"{safe}_report.html")
    return RunFiles(image_path, Path(report_path))


def error_text(exc: BaseException | str) -> str:
    """A user error's message, HTML-escaped for a Gradio toast (which renders HTML)."""
    return html.escape(str(exc))
