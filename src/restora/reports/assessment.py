"""``restora assess --report``: per file the image (and its reference, with the same detail
crop of both side by side), a metric table with each metric's direction and range, and for a
folder one plot per metric across the files."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.reports.html import (
    encode_preview,
    figures,
    fmt,
    new_figure,
    page,
    plot_uri,
    side_by_side_crops,
    table,
)

PREVIEW_SIDE = 512
"""Previews are smaller than in the restore report: a folder report shows many files."""

PLOTTED_METRICS = 8


@dataclass(frozen=True)
class AssessEntry:
    """One assessed file with its pictures already encoded (a folder report keeps no pixels)."""

    file: str
    result: dict[str, Any]
    pictures: str


def _as_rgb(array: np.ndarray) -> np.ndarray:
    return np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array


def assess_entry(
    file: str, image: np.ndarray, ref: np.ndarray | None, result: dict[str, Any]
) -> AssessEntry:
    """Encode the previews and crops of one file for :func:`assess_report`."""
    rgb = _as_rgb(np.asarray(image))
    shown = [(f"{file} ({rgb.shape[1]}x{rgb.shape[0]})", encode_preview(rgb, PREVIEW_SIDE))]
    crops = ""
    if ref is not None:
        reference = _as_rgb(np.asarray(ref))
        shown.append(("reference", encode_preview(reference, PREVIEW_SIDE)))
        crops = side_by_side_crops([("image", rgb), ("reference", reference)], anchor=1)
    return AssessEntry(file, result, figures(shown) + crops)


def _metric_rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    from restora.quality import get_metric

    rows = []
    for name, value in result["metrics"].items():
        metric = get_metric(name)
        low, high = metric.range
        rows.append((name, fmt(value, 4), metric.direction, f"[{fmt(low)}, {fmt(high)}]"))
    return rows


def _plots(entries: list[AssessEntry]) -> str:
    from restora.quality import get_metric

    names = list(dict.fromkeys(n for e in entries for n in e.result["metrics"]))[:PLOTTED_METRICS]
    if not names or len(entries) < 2:
        return ""
    columns = min(2, len(names))
    rows = (len(names) + columns - 1) // columns
    figure = new_figure(6.0 * columns, 2.6 * rows)
    labels = [e.file for e in entries]
    for k, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, k + 1)
        values = [float(e.result["metrics"].get(name, np.nan)) for e in entries]
        axes.bar(range(len(values)), values, color="#4a7bd0")
        axes.set_title(f"{name} ({get_metric(name).direction})", fontsize=9)
        axes.set_xticks(range(len(values)), labels, rotation=60, ha="right", fontsize=7)
    figure.tight_layout()
    return f"<h2>Metrics across files</h2><div class='plot'><img alt='metrics' src='{plot_uri(figure)}'></div>"


def assess_report(entries: list[AssessEntry], title: str = "restora quality assessment") -> str:
    """The assess report (one file or a folder) as an HTML string."""
    body = []
    if len(entries) > 1:
        names = list(dict.fromkeys(n for e in entries for n in e.result["metrics"]))
        rows = [
            [e.file, *(e.result["metrics"].get(n) for n in names), e.result.get("level", "")]
            for e in entries
        ]
        body.append("<h2>All files</h2>" + table(["file", *names, "level"], rows, digits=4))
        body.append(_plots(entries))
    for entry in entries:
        level = entry.result.get("level")
        words = entry.result.get("description")
        judged = f"<p><b>Quality:</b> {html.escape(str(words or level))}</p>" if level else ""
        body.append(
            f"<h2>{html.escape(entry.file)}</h2>"
            + entry.pictures
            + judged
            + table(["metric", "value", "direction", "range"], _metric_rows(entry.result))
        )
    return page(title, "".join(body))
