"""``restora analyze``: what is wrong with an image, or with every image in a folder.

A folder is searched recursively for image files (by suffix; hidden files and folders skipped),
in sorted order, with the analyzer loaded once. A file that cannot be read is reported on
stderr and skipped; the command succeeds (exit 0) when at least one photo was analysed and
fails with exit 2 when none could be.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from restora.cli._common import (
    common_options,
    device,
    emit_json,
    image_path_argument,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.errors import InputError, InvalidValueError, OutputError
from restora.perception.backends import ANALYZER_BACKENDS
from restora.vocabulary import DEGRADATION_TYPES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
"""What a folder is searched for (case-insensitive)."""

SUMMARY_WORDS: dict[str, str] = {
    "noise": "noisy",
    "blur": "blurry",
    "motion_blur": "motion-blurred",
    "jpeg": "JPEG-compressed",
    "haze": "hazy",
    "rain": "rainy",
    "low_light": "underexposed",
    "reflection": "with reflections",
}
"""How the summary line counts the photos of each type ("12 blurry")."""

SIGNAL_COLUMNS = ("jpeg_quality", "iso", "exposure_time")
"""What a file says about itself (restora.perception.analyzer.file_signals), as CSV columns."""


def images_under(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursively, by suffix), sorted by relative path.

    Names starting with a dot (hidden files and folders, macOS ``._`` companions, restora's
    own temporary files) are skipped; links to folders are not followed, so a loop of links
    cannot hang the search."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(root) / name
            for name in files
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
        ]
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def summary_of(
    analysed: Sequence[dict[str, Any]], errors: Sequence[dict[str, str]]
) -> dict[str, Any]:
    """Counts over a folder's analyses (``analysed``: the JSON objects of the photos read;
    ``errors``: ``{"file", "error"}`` of those that were not), with the line that says them."""
    by_type = {t: 0 for t in DEGRADATION_TYPES}
    clean = 0
    for entry in analysed:
        types = {d["type"] for d in entry["degradations"]}
        clean += not types
        for kind in types:
            by_type[kind] += 1
    found = sorted((t for t in DEGRADATION_TYPES if by_type[t]), key=lambda t: -by_type[t])
    counts = [f"{by_type[t]} {SUMMARY_WORDS[t]}" for t in found] + [f"{clean} clean"]
    noun = "photo" if len(analysed) == 1 else "photos"
    text = f"{len(analysed)} {noun} analysed: " + ", ".join(counts)
    if errors:
        text += f"; {len(errors)} could not be read"
    return {
        "photos": len(analysed) + len(errors),
        "analysed": len(analysed),
        "unreadable": len(errors),
        "clean": clean,
        "by_type": by_type,
        "errors": list(errors),
        "text": text + ".",
    }


def check_csv_path(
    csv_path: Path, overwrite: bool, inputs: Sequence[Path], report: Path | None
) -> None:
    """Refuse, before any work, a CSV path that is an input, exists without --overwrite,
    has an image suffix (a slip for an output image) or is the report."""
    from restora.io import check_output

    check_output(csv_path, overwrite=overwrite, inputs=list(inputs), image=False)
    if csv_path.suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"{csv_path}: --csv writes a text table; give it a .csv name, not an image one"
        )
    if report is not None and report.resolve() == csv_path.resolve():
        raise OutputError(f"{csv_path}: --csv and --report name the same file")


def csv_table(entries: Sequence[dict[str, Any]]) -> bytes:
    """One row per photo: file, the types found (``;``-separated, most confident first), the
    caption, the quality, each type's severity (empty when not found), what the file says
    about itself, and the error of a file that could not be read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "file",
            "types",
            "caption",
            "quality",
            "level",
            *DEGRADATION_TYPES,
            *SIGNAL_COLUMNS,
            "error",
        ]
    )
    for entry in entries:
        if "error" in entry:
            empty = [""] * (4 + len(DEGRADATION_TYPES) + len(SIGNAL_COLUMNS))
            writer.writerow([entry["file"], *empty, entry["error"]])
            continue
        severity = {d["type"]: d["severity"] for d in entry["degradations"]}
        signals = entry.get("file_signals", {})
        writer.writerow(
            [
                entry["file"],
                ";".join(d["type"] for d in entry["degradations"]),
                entry["caption"],
                f"{entry['quality']['score']:.1f}",
                entry["quality"]["level"],
                *(f"{severity[t]:.3f}" if t in severity else "" for t in DEGRADATION_TYPES),
                *(f"{signals[k]:g}" if k in signals else "" for k in SIGNAL_COLUMNS),
                "",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def analysis_payload(path: Path, image: Any, analysis: Any) -> dict[str, Any]:
    """The ``analyze --json`` object of one photo (the contract's keys, ``file`` and, where the
    file says something about itself, ``file_signals``)."""
    from restora.perception.analyzer import file_signals

    payload: dict[str, Any] = {"file": str(path), **analysis.to_dict()}
    signals = file_signals(image)
    if signals:
        payload["file_signals"] = signals
    return payload


def _signals_line(signals: dict[str, float]) -> str:
    parts = []
    if "jpeg_quality" in signals:
        parts.append(f"JPEG quality {signals['jpeg_quality']:.0f}")
    if "iso" in signals:
        parts.append(f"ISO {signals['iso']:.0f}")
    if "exposure_time" in signals:
        seconds = signals["exposure_time"]
        parts.append(
            f"exposure 1/{1 / seconds:.0f} s" if 0 < seconds < 1 else f"exposure {seconds:g} s"
        )
    return ", ".join(parts)


@click.command(short_help="Say which degradations an image (or a folder's) has, and how strong.")
@image_path_argument()
@click.option(
    "--analyzer",
    "backend",
    type=click.Choice(ANALYZER_BACKENDS),
    default="embedded",
    show_default=True,
    help="Who classifies the degradations: the embedded analyzer, a CLIP model from a local "
    "folder (--weights DIR), or a vision-language model at RESTORA_VLM_URL / RESTORA_LLM_URL "
    "(the embedded analyzer answers when it fails).",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help="Analyzer weights (.safetensors with its .json); with --analyzer clip, the CLIP folder.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write one row per photo to this CSV file (never an input; --overwrite to "
    "replace it).",
)
@click.option(
    "--report", type=click.Path(path_type=Path), help="Write an HTML report here (one image)."
)
@overwrite_option
@max_pixels_option
@json_option
@common_options
def analyze(
    input_path: Path,
    backend: str,
    weights: Path | None,
    csv_path: Path | None,
    report: Path | None,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Detect the degradations in IN (noise, blur, motion blur, JPEG, haze, rain, low light,
    reflection) with severity and confidence, a caption and a quality level.

    IN may be a folder: every image under it, one line each and a summary (with --json one
    object, {"files": [...], "summary": {...}}). A file that cannot be read is reported and
    skipped; the exit status is 0 when at least one photo was analysed, 2 when none was.
    A JPEG file's quantisation tables give its quality, which joins the pixel evidence."""
    if input_path.is_dir():
        _analyze_folder(
            input_path, backend, weights, csv_path, report, overwrite, max_pixels, as_json
        )
        return
    from restora.perception import analyze as run_analyzer

    if csv_path is not None:
        check_csv_path(csv_path, overwrite, [input_path], report)
    image = load_input(input_path, max_pixels)
    if report is not None:
        from restora.cli.restore import check_report_path

        check_report_path(report, overwrite, input_path)
    analysis = run_analyzer(image, weights=weights, device=device(), backend=backend)
    if report is not None:
        from restora.reports import analysis_report
        from restora.reports.html import write_html

        page = analysis_report(image.rgb, analysis, input_path.name)
        write_html(page, report, overwrite=overwrite)
    payload = analysis_payload(input_path, image, analysis)
    if csv_path is not None:
        from restora.io import write_bytes_atomic

        write_bytes_atomic(csv_path, csv_table([payload]), overwrite=overwrite)
    if as_json:
        emit_json(payload)
        return
    click.echo(f"{input_path}: {analysis.caption}")
    if analysis.is_clean:
        click.echo("  no degradation found")
    for item in analysis.degradations:
        click.echo(
            f"  {item.type:<12} severity {item.severity:.2f}  confidence {item.confidence:.2f}"
        )
    q = analysis.quality
    click.echo(f"  quality {q.score:.0f}/100 ({q.level})")
    if "file_signals" in payload:
        click.echo(f"  file: {_signals_line(payload['file_signals'])}")


def _analyze_folder(
    folder: Path,
    backend: str,
    weights: Path | None,
    csv_path: Path | None,
    report: Path | None,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    from restora.perception import analyze as run_analyzer

    if report is not None:
        raise InputError(f"{folder}: --report takes one image; for a folder use --csv or --json")
    files = images_under(folder)
    if not files:
        raise InputError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    if csv_path is not None:
        check_csv_path(csv_path, overwrite, files, None)
    analysed: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    for path in files:
        try:
            image = load_input(path, max_pixels)
            # the process-wide analyzer: loaded on the first photo, reused for the others
            analysis = run_analyzer(image, weights=weights, device=device(), backend=backend)
        except (InputError, InvalidValueError) as exc:
            message = " ".join(str(exc).split())
            click.echo(f"restora: warning: {message} (skipped)", err=True)
            errors.append({"file": str(path), "error": message})
            rows.append(errors[-1])
            continue
        payload = analysis_payload(path, image, analysis)
        del image
        analysed.append(payload)
        rows.append(payload)
        if not as_json:
            types = ", ".join(d.type for d in analysis.degradations) or "clean"
            click.echo(f"{path}: {types} - {analysis.caption}")
    if not analysed:
        raise InputError(f"{folder}: none of the {len(files)} image files could be read")
    summary = summary_of(analysed, errors)
    if csv_path is not None:
        from restora.io import write_bytes_atomic

        write_bytes_atomic(csv_path, csv_table(rows), overwrite=overwrite)
    if as_json:
        emit_json({"files": analysed, "summary": summary})
        return
    click.echo(summary["text"])
