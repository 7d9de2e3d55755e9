"""``restora analyze --report``: the image, what the analyzer sees in words, bars and a table."""

from __future__ import annotations

import html

import numpy as np

from restora.quality.statistics import luma
from restora.reports.html import (
    degradation_bars,
    describe_analysis,
    detail_box,
    encode_crop,
    encode_preview,
    figures,
    new_figure,
    page,
    plot_uri,
    table,
)
from restora.types import Analysis


def tone_histogram(rgb: np.ndarray) -> str:
    """Histograms of R, G, B and luma: what the bars cannot show (clipped shadows or highlights,
    a squeezed range from haze or low light)."""
    figure = new_figure(6.0, 2.6)
    axes = figure.add_subplot()
    bins = np.linspace(0.0, 1.0, 65)
    for channel, colour in zip(range(3), ("#d0544a", "#3a9a4a", "#4a7bd0"), strict=True):
        counts, _ = np.histogram(rgb[..., channel], bins=bins)
        axes.plot(bins[:-1], counts / counts.sum(), color=colour, linewidth=1)
    counts, _ = np.histogram(luma(rgb), bins=bins)
    axes.fill_between(bins[:-1], counts / counts.sum(), color="#888", alpha=0.35, label="luma")
    axes.set_xlim(0, 1)
    axes.set_xlabel("pixel value (R, G, B lines; luma filled)")
    axes.set_ylabel("share of pixels")
    axes.legend(fontsize=8)
    return plot_uri(figure)


def analysis_report(rgb: np.ndarray, analysis: Analysis, name: str = "image") -> str:
    """The analyze report for one image as an HTML string."""
    q = analysis.quality
    shown = [(f"{name} ({rgb.shape[1]}x{rgb.shape[0]})", encode_preview(rgb))]
    box = detail_box(rgb)
    shown.append((f"detail: {box[2]} px at ({box[1]}, {box[0]}), enlarged", encode_crop(rgb, box)))
    rows = [(d.type, d.severity, d.confidence) for d in analysis.degradations]
    found = (
        table(["type", "severity (0-1)", "confidence"], rows)
        if rows
        else "<p>No degradation found above threshold: the image looks clean.</p>"
    )
    body = (
        figures(shown)
        + f"<h2>What the analyzer sees</h2><p>{html.escape(describe_analysis(analysis))}</p>"
        + f"<p class='muted'>caption: {html.escape(analysis.caption)}</p>"
        + f"<p><b>Quality:</b> {q.score:.0f}/100 ({html.escape(q.level)})</p>"
        + "<h2>Degradations</h2>"
        + found
        + "<h2>Every type</h2>"
        + degradation_bars(analysis)
        + "<h2>Tones</h2>"
        + f"<div class='plot'><img alt='histogram' src='{tone_histogram(rgb)}'></div>"
        + "<p class='muted'>Severity maps to physical parameters per type "
        "(docs/degradations.md); confidence is the analyzer's calibrated probability.</p>"
    )
    return page(f"restora analysis: {name}", body)
