"""``restora bench --report``: per data set a plot of quality against seconds per megapixel
(one point per expert or anchor: up and to the left is better) and the table of the run.

The expert harness's report (``restora.bench.harness.run_benchmark``) has ``rows``; the special
benchmarks (``--task agent``, ``--task analyze``) return their own dictionaries, shown as tables
of their lists of records.
"""

from __future__ import annotations

import html
import math
from typing import Any

from restora.reports.html import new_figure, page, plot_uri, table

ROW_COLUMNS = (
    ("method", "method"),
    ("kind", "kind"),
    ("images", "images"),
    ("psnr", "PSNR"),
    ("ssim", "SSIM"),
    ("published", "published"),
    ("seconds_per_mp", "s/MP"),
    ("speed_ratio", "speed vs ref"),
    ("peak_mb", "peak MB"),
    ("note", "note"),
)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def quality_speed_plot(dataset: str, rows: list[dict[str, Any]]) -> str | None:
    """PSNR against seconds per megapixel (log axis) for one data set; None without points."""
    points = [r for r in rows if _finite(r.get("psnr")) and _finite(r.get("seconds_per_mp"))]
    if not points:
        return None
    figure = new_figure(6.4, 4.0)
    axes = figure.add_subplot()
    for kind, marker, colour in (("expert", "o", "#4a7bd0"), ("anchor", "s", "#d0544a")):
        chosen = [r for r in points if r.get("kind") == kind]
        if chosen:
            axes.scatter(
                [max(r["seconds_per_mp"], 1e-4) for r in chosen],
                [r["psnr"] for r in chosen],
                marker=marker,
                color=colour,
                label=kind,
            )
    others = [r for r in points if r.get("kind") not in ("expert", "anchor")]
    if others:
        axes.scatter(
            [max(r["seconds_per_mp"], 1e-4) for r in others],
            [r["psnr"] for r in others],
            marker="^",
            color="#777",
            label="other",
        )
    for r in points:
        axes.annotate(
            r["method"],
            (max(r["seconds_per_mp"], 1e-4), r["psnr"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    axes.set_xscale("log")
    axes.set_xlabel("seconds per output megapixel (log)")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(f"{dataset}: quality vs time")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return plot_uri(figure)


def _expert_body(report: dict[str, Any]) -> str:
    by_set: dict[str, list[dict[str, Any]]] = {}
    for row in report.get("rows", []):
        by_set.setdefault(row["dataset"], []).append(row)
    parts = []
    for dataset, rows in by_set.items():
        plot = quality_speed_plot(dataset, rows)
        image = f"<div class='plot'><img alt='{html.escape(dataset)}' src='{plot}'></div>"
        parts.append(
            f"<h2>{html.escape(dataset)}</h2>"
            + (image if plot else "<p class='muted'>no timed rows to plot</p>")
            + table(
                [label for _, label in ROW_COLUMNS],
                [[r.get(key) for key, _ in ROW_COLUMNS] for r in rows],
                digits=3,
            )
        )
    return "".join(parts)


def _records_tables(name: str, value: Any, depth: int = 0) -> str:
    """Lists of flat records become tables; nested dictionaries are walked (two levels)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(
            dict.fromkeys(k for v in value for k, x in v.items() if not isinstance(x, (dict, list)))
        )
        return f"<h3>{html.escape(name)}</h3>" + table(
            keys, [[v.get(k) for k in keys] for v in value], 3
        )
    if isinstance(value, dict) and depth < 2:
        flat = [(k, v) for k, v in value.items() if not isinstance(v, (dict, list))]
        out = f"<h3>{html.escape(name)}</h3>" + table(["key", "value"], flat, 3) if flat else ""
        return out + "".join(
            _records_tables(f"{name} / {k}", v, depth + 1)
            for k, v in value.items()
            if isinstance(v, (dict, list))
        )
    return ""


def bench_report(report: dict[str, Any], title: str = "restora benchmark") -> str:
    """The bench report as an HTML string (expert harness report or special benchmarks)."""
    if "rows" in report:
        intro = (
            f"<p>Machine: {html.escape(str(report.get('machine', '?')))}. Mode: "
            f"{'quick' if report.get('quick') else 'full'}; run took {report.get('seconds')} s. "
            "PSNR/SSIM in the BasicSR convention; speed in seconds per output megapixel and as "
            "a multiple of the task's speed reference in the same run (&gt;1 is faster).</p>"
        )
        return page(title, intro + _expert_body(report))
    body = "".join(_records_tables(str(name), value) for name, value in report.items())
    return page(title, body or "<p>no results</p>")
