"""``restora assess``: image quality, with or without a reference.

No ``--ref``: the no-reference metrics (and a quality level with a description). With
``--ref``: full-reference and no-reference metrics. A folder IN gives a table; with ``--ref`` a
folder too, files are matched by name (then by name without extension).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np

from restora.cli._common import (
    common_options,
    emit_json,
    json_option,
    load_input,
    max_pixels_option,
    overwrite_option,
)
from restora.errors import InputError, InvalidValueError

log = logging.getLogger("restora.cli.assess")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


def _metric_array(
    path: Path,
    max_pixels: float | None,
    peak_memory: Callable[[Any], float] | None = None,
) -> np.ndarray:
    """Pixels for the metrics: grey files stay (H, W), colour files are (H, W, 3).

    A grey file keeps only its one plane (a third of the memory of the RGB it is read as)."""
    image = load_input(path, max_pixels, peak_memory=peak_memory, purpose="assess it")
    if image.meta.grey:
        return np.ascontiguousarray(image.rgb[..., 0])
    return np.asarray(image.rgb)


def _resident_bytes(header: Any) -> float:
    """What :func:`_metric_array` keeps of an image: float32, one plane or three."""
    return (4.0 if header.grey else 12.0) * header.pixels


def _peak_memory(
    names: list[str], with_ref: bool, image_loaded: bool = False
) -> Callable[[Any], float]:
    """The estimate of ``assess``'s peak memory for one image (or, ``image_loaded``, for the
    reference read after it) that :func:`restora.io.load` compares with the memory available
    before decoding: the arrays kept, the reference's decode, and the most any one metric
    needs (each metric declares its working memory; metrics run one after the other)."""
    from restora.quality import get_metric

    def estimate(header: Any) -> float:
        h, w = header.height, header.width
        # EXIF may turn the image: count the larger of both orientations
        metrics = max(
            max(get_metric(n).working_memory(h, w), get_metric(n).working_memory(w, h))
            for n in names
        )
        resident = _resident_bytes(header)
        if image_loaded or not with_ref:
            return resident + metrics
        # the reference (the same size) is read while the image is kept
        return resident + max(header.decode_bytes, resident + metrics)

    return estimate


def _images_in(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise InputError(
            f"{folder}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return files


def _match_reference(path: Path, ref_folder: Path) -> Path:
    exact = ref_folder / path.name
    if exact.is_file():
        return exact
    by_stem = [p for p in _images_in(ref_folder) if p.stem == path.stem]
    if len(by_stem) == 1:
        return by_stem[0]
    raise InputError(f"{path.name}: no reference with the same name in {ref_folder}")


def _choose_metrics(requested: str | None, with_ref: bool) -> tuple[list[str], bool]:
    """Metric names to compute, and whether the user named them (then sizes are enforced)."""
    from restora.quality import get_metric, list_metrics

    if requested is not None:
        names = [n.strip() for n in requested.split(",") if n.strip()]
        if not names:
            raise InputError(
                f"--metrics {requested!r}: no metrics given (see restora assess --list)"
            )
        for name in names:
            metric = get_metric(name)  # unknown names: one line listing the valid ones
            if metric.needs_reference and not with_ref:
                raise InputError(f"metric {name!r} is full-reference: give --ref REF")
        return names, True
    names = list_metrics("no-reference")
    if with_ref:
        names = list_metrics("full-reference") + names
    return [n for n in names if get_metric(n).by_default], False


PROGRESS_PIXELS = 24e6
"""Above this many pixels ``assess`` says on stderr which metric it is computing (a 144 MP
photo takes minutes); in a terminal every image gets a transient progress bar instead."""


@contextlib.contextmanager
def _metric_progress(label: str, pixels: int) -> Iterator[Callable[[str, int, int], None]]:
    """``progress(metric, done, total)`` before each metric: a bar when stderr is a terminal,
    one line per metric on large images otherwise, nothing for small ones (stdout, where
    ``--json`` prints, is never written)."""
    if sys.stderr.isatty():
        from restora.cli._common import progress_bar

        with progress_bar() as update:
            yield lambda name, done, total: update(f"{label}: {name}", done / total, None)
        return
    if pixels <= PROGRESS_PIXELS:
        yield lambda name, done, total: None
        return

    def line(name: str, done: int, total: int) -> None:
        size = f"{pixels / 1e6:.0f} megapixels"
        click.echo(f"restora: {label} ({size}): {name} ({done + 1}/{total})", err=True)

    yield line


def _assess_one(
    image: np.ndarray,
    ref: np.ndarray | None,
    names: list[str],
    explicit: bool,
    label: str = "image",
) -> dict[str, Any]:
    from restora.quality import assess_nr, get_metric
    from restora.quality.registry import check_pair

    if ref is not None:
        check_pair(image, ref)
    metrics: dict[str, float] = {}
    result: dict[str, Any] = {"metrics": metrics}
    with _metric_progress(label, image.shape[0] * image.shape[1]) as progress:
        for done, name in enumerate(names):
            metric = get_metric(name)
            if not explicit and min(image.shape[:2]) < metric.min_size:
                log.warning(
                    "skipping %s: the image is smaller than %d pixels", name, metric.min_size
                )
                continue
            progress(name, done, len(names))
            if name == "quality":
                judgement = assess_nr(image)
                metrics[name] = judgement.score
                result["level"] = judgement.level
                result["description"] = judgement.description
                continue
            metrics[name] = metric(image, ref if metric.needs_reference else None)
    return result


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def _list_metrics(as_json: bool) -> None:
    from restora.quality import get_metric, list_metrics

    metrics = [get_metric(name) for name in list_metrics()]
    if as_json:
        emit_json({"metrics": [m.to_dict() for m in metrics]})
        return
    click.echo(f"{'metric':<9} {'kind':<15} {'direction':<17} {'range':<18} convention")
    for m in metrics:
        low, high = (_format_value(v) for v in m.range)
        click.echo(
            f"{m.name:<9} {m.kind:<15} {m.direction:<17} {f'[{low}, {high}]':<18} {m.convention}"
        )
        click.echo(f"{'':<9} {m.description}")


def _check_csv_path(
    csv_path: Path, overwrite: bool, inputs: list[Path], report: Path | None
) -> None:
    """Refuse, before any work, a CSV path that is an input (an image file in an input folder
    included), exists without --overwrite, looks like an image, or is the report."""
    from restora.errors import OutputError
    from restora.io import check_output

    check_output(csv_path, overwrite=overwrite, inputs=inputs, image=False)
    if csv_path.suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(
            f"{csv_path}: --csv writes a text table; give it a .csv name, not an image one"
        )
    if report is not None and report.resolve() == csv_path.resolve():
        raise OutputError(f"{csv_path}: --csv and --report name the same file")


def _write_csv(
    path: Path, rows: list[dict[str, Any]], names: list[str], overwrite: bool = False
) -> None:
    from restora.io import write_bytes_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    extra = [k for k in ("level", "description", "error") if any(k in r for r in rows)]
    writer.writerow(["file", *names, *extra])
    for row in rows:
        values = row["metrics"]
        writer.writerow(
            [
                row["file"],
                *(_format_value(values[n]) if n in values else "" for n in names),
                *(row.get(k, "") for k in extra),
            ]
        )
    write_bytes_atomic(path, buffer.getvalue().encode(), overwrite=overwrite)


def _write_report(report: Path | None, entries: list[Any] | None, overwrite: bool) -> None:
    if report is None or entries is None:
        return
    from restora.reports import assess_report
    from restora.reports.html import write_html

    write_html(assess_report(entries), report, overwrite=overwrite)


@click.command(short_help="Measure image quality (no-reference, or full-reference with --ref).")
@click.argument("input_path", metavar="IN", type=click.Path(path_type=Path), required=False)
@click.option("--ref", type=click.Path(path_type=Path), help="Reference (clean) image or folder.")
@click.option("--metrics", help="Comma-separated metric names (see --list).")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the table as CSV to this file.",
)
@click.option("--list", "list_only", is_flag=True, help="List every metric and exit.")
@click.option("--report", type=click.Path(path_type=Path), help="Write an HTML report here.")
@overwrite_option
@max_pixels_option
@json_option
@common_options
def assess(
    input_path: Path | None,
    ref: Path | None,
    metrics: str | None,
    csv_path: Path | None,
    list_only: bool,
    report: Path | None,
    overwrite: bool,
    max_pixels: float | None,
    as_json: bool,
) -> None:
    """Assess the quality of IN (a file or a folder).

    Without --ref: no-reference metrics (NIQE, PIQE, restora's 0-100 quality with its level
    and description). With --ref: full-reference metrics too (PSNR, SSIM, MS-SSIM, GMSD, VIF,
    FSIM). `restora assess --list` shows every metric with its direction and range.
    """
    if list_only:
        _list_metrics(as_json)
        return
    if input_path is None:
        raise click.UsageError("missing argument IN (or use --list)")
    names, explicit = _choose_metrics(metrics, ref is not None)
    entries: list[Any] | None = None
    if report is not None:
        from restora.cli.restore import check_report_path

        check_report_path(report, overwrite, input_path)
        entries = []

    with_ref = ref is not None
    image_memory = _peak_memory(names, with_ref)
    ref_memory = _peak_memory(names, with_ref, image_loaded=True)
    if input_path.is_dir():
        files = _images_in(input_path)
        if ref is not None and not ref.is_dir():
            raise InputError(f"{ref}: IN is a folder, so --ref must be a folder too")
        references = [_match_reference(p, ref) for p in files] if ref is not None else []
        files_order = {p.name: i for i, p in enumerate(files)}
        if csv_path is not None:
            _check_csv_path(csv_path, overwrite, [*files, *references], report)
        rows: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        for index, path in enumerate(files):
            image = reference = None  # let the previous file's pixels go before reading on
            loaded = False
            try:
                image = _metric_array(path, max_pixels, image_memory)
                if references:
                    reference = _metric_array(references[index], max_pixels, ref_memory)
                loaded = True
                row = _assess_one(image, reference, names, explicit, path.name)
            except (InputError, InvalidValueError) as exc:
                # as `analyze DIR`: a file that cannot be read or measured is skipped; a
                # read error names its file, a metric's error does not
                where = f"{path.name}: " if loaded else ""
                message = " ".join(f"{where}{exc}".split())
                click.echo(f"restora: warning: {message} (skipped)", err=True)
                errors.append({"file": path.name, "error": message})
                continue
            rows.append({"file": path.name, **row})
            if entries is not None:
                from restora.reports import assess_entry

                entries.append(assess_entry(path.name, image, reference, row))
        if not rows:
            raise InputError(
                f"{input_path}: none of the {len(files)} image files could be assessed"
            )
        if csv_path is not None:
            failed = [{**error, "metrics": {}} for error in errors]
            table = sorted([*rows, *failed], key=lambda r: files_order[r["file"]])
            _write_csv(csv_path, table, names, overwrite)
        _write_report(report, entries, overwrite)
        if as_json:
            emit_json({"files": rows, "errors": errors})
            return
        shown = [n for n in names if any(n in r["metrics"] for r in rows)]
        width = max(len("file"), *(len(r["file"]) for r in rows))
        click.echo(f"{'file':<{width}}  " + "  ".join(f"{n:>9}" for n in shown))
        for row in rows:
            cells = (
                f"{_format_value(row['metrics'][n]) if n in row['metrics'] else '-':>9}"
                for n in shown
            )
            click.echo(f"{row['file']:<{width}}  " + "  ".join(cells))
        return

    if ref is not None and ref.is_dir():
        ref = _match_reference(input_path, ref)
    if csv_path is not None:
        _check_csv_path(csv_path, overwrite, [input_path, *([ref] if ref else [])], report)
    image = _metric_array(input_path, max_pixels, image_memory)
    reference = _metric_array(ref, max_pixels, ref_memory) if ref is not None else None
    result = _assess_one(image, reference, names, explicit, input_path.name)
    if csv_path is not None:
        _write_csv(csv_path, [{"file": input_path.name, **result}], names, overwrite)
    if entries is not None:
        from restora.reports import assess_entry

        entries.append(assess_entry(input_path.name, image, reference, result))
        _write_report(report, entries, overwrite)
    if as_json:
        emit_json(result)
        return
    from restora.quality import get_metric

    for name, value in result["metrics"].items():
        metric = get_metric(name)
        click.echo(f"{name:<9} {_format_value(value):>10}   ({metric.direction})")
    if "description" in result:
        click.echo(result["description"])
