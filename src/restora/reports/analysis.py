"""``restora analyze --report``: the image, what the analyzer sees in words, bars and a table."""

from __future__ import annotations

import html

import numpy as np

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
from restora.vocabulary import DEGRADATION_TYPES


def _score_plot(analysis: Analysis) -> str:
    """Probabilities per type against the decision threshold view: a horizontal bar chart."""
    present = {d.type for d in analysis.degradations}
    values = [
        float(analysis.scores.get(k, 1.0 if k in present else 0.0)) for k in DEGRADATION_TYPES
    ]
    figure = new_figure(6.0, 3.0)
    axes = figure.add_subplot()
    colours = ["#d0544a" if k in present else "#4a7bd0" for k in DEGRADATION_TYPES]
    axes.barh(list(DEGRADATION_TYPES), values, color=colours)
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_xlabel("analyzer probability (red: judged present)")
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
        + f"<div class='plot'><img alt='scores' src='{_score_plot(analysis)}'></div>"
        + "<p class='muted'>Severity maps to physical parameters per type "
        "(docs/degradations.md); confidence is the analyzer's calibrated probability.</p>"
    )
    return page(f"restora analysis: {name}", body)
