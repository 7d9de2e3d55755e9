"""``restora bench --report``: per data set a plot of quality against seconds per megapixel
(one point per expert or anchor: up and to the left is better) and the table of the run.

The expert harness's report (``restora.bench.harness.run_benchmark``) has ``rows``; the other
benchmarks (the registry ``restora.bench.BENCHMARKS``: ``--task agent``, ``--task analyze``,
``--task quality``...) return their own dictionaries, shown as tables of their lists of records.
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


def quality_speed_plot(
    title: str,
    rows: list[dict[str, Any]],
    x_key: str = "seconds_per_mp",
    x_label: str = "seconds per output megapixel (log)",
) -> str | None:
    """PSNR against time (log axis), one labelled point per row's ``method``; None without
    points. Experts are circles, anchors squares, anything else triangles."""
    points = [r for r in rows if _finite(r.get("psnr")) and _finite(r.get(x_key))]
    if not points:
        return None
    figure = new_figure(6.4, 4.0)
    axes = figure.add_subplot()
    styles = {"expert": ("o", "#4a7bd0"), "anchor": ("s", "#d0544a")}
    for kind in dict.fromkeys(str(r.get("kind", "")) for r in points):
        marker, colour = styles.get(kind, ("^", "#777"))
        chosen = [r for r in points if str(r.get("kind", "")) == kind]
        axes.scatter(
            [max(r[x_key], 1e-4) for r in chosen],
            [r["psnr"] for r in chosen],
            marker=marker,
            color=colour,
            label=kind or "method",
        )
    for r in points:
        axes.annotate(
            str(r["method"]),
            (max(r[x_key], 1e-4), r["psnr"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())  # 4x10^-1 labels on every minor tick
    axes.set_xlabel(x_label)
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(f"{title}: quality vs time")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return plot_uri(figure)


def _plot_block(alt: str, uri: str | None) -> str:
    if uri is None:
        return "<p class='muted'>no timed rows to plot</p>"
    return f"<div class='plot'><img alt='{html.escape(alt)}' src='{uri}'></div>"


def _expert_body(report: dict[str, Any]) -> str:
    by_set: dict[str, list[dict[str, Any]]] = {}
    for row in report.get("rows", []):
        by_set.setdefault(row["dataset"], []).append(row)
    parts = []
    for dataset, rows in by_set.items():
        parts.append(
            f"<h2>{html.escape(dataset)}</h2>"
            + _plot_block(dataset, quality_speed_plot(dataset, rows))
            + table(
                [label for _, label in ROW_COLUMNS],
                [[r.get(key) for key, _ in ROW_COLUMNS] for r in rows],
                digits=3,
            )
        )
    return "".join(parts)


def _is_flat(value: Any) -> bool:
    return isinstance(value, dict) and not any(isinstance(v, (dict, list)) for v in value.values())


def _records_tables(name: str, value: Any, depth: int = 0) -> str:
    """The special benchmarks' results as tables: a list of flat records, or a dictionary of
    flat records (one row per key; with ``psnr`` and ``seconds`` also a quality-vs-time plot);
    other dictionaries are walked, their plain values listed."""
    title = f"<h3>{html.escape(name)}</h3>"
    if isinstance(value, list) and value and all(_is_flat(v) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        return title + table(keys, [[v.get(k) for k in keys] for v in value], 3)
    if not isinstance(value, dict) or depth > 4:
        return ""
    if value and all(_is_flat(v) for v in value.values()):
        keys = list(dict.fromkeys(k for v in value.values() for k in v))
        rows = [{"method": key, "kind": "variant", **v} for key, v in value.items()]
        plot = quality_speed_plot(name, rows, "seconds", "seconds per image (log)")
        return (
            title
            + (_plot_block(name, plot) if plot else "")
            + table(
                ["name", *keys], [[key, *(v.get(k) for k in keys)] for key, v in value.items()], 3
            )
        )
    flat = [(k, v) for k, v in value.items() if not isinstance(v, (dict, list))]
    out = title + table(["key", "value"], flat, 3) if flat else ""
    return out + "".join(
        _records_tables(f"{name} / {k}", v, depth + 1)
        for k, v in value.items()
        if isinstance(v, (dict, list))
    )


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
