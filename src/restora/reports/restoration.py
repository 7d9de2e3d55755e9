"""A self-contained HTML report of an agent run: before/after, the analyses in words and bars,
the plan notes and the trace. Images are inlined as base64 (JPEG for photos, PNG when small),
bars are plain CSS widths, so the file opens anywhere without network or JavaScript."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from restora.agent.trace import Result
from restora.reports.html import (
    REPORT_SIDE,
    STYLE,
    degradation_bars,
    describe_analysis,
    encode_preview,
    side_by_side_crops,
    write_html,
)
from restora.types import Analysis

__all__ = ["REPORT_SIDE", "STYLE", "encode_preview", "render_report", "write_report"]


def _analysis_block(title: str, analysis: Analysis) -> str:
    q = analysis.quality
    return (
        f"<div><h3>{html.escape(title)}</h3><p>{html.escape(describe_analysis(analysis))}</p>"
        f"<p class='muted'>quality {q.score:.0f}/100 ({html.escape(q.level)}); red bars: "
        "judged present</p>" + degradation_bars(analysis) + "</div>"
    )


def _fmt(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"


def _trace_table(result: Result) -> str:
    rows = []
    for step in result.trace.steps:
        verdict = (
            "<span class='kept'>kept</span>"
            if step.kept
            else "<span class='rolled'>rolled back</span>"
        )
        tried = "<br>".join(
            html.escape(
                f"{a.expert}{' (generative)' if a.generative else ''}: "
                f"score {_fmt(a.score)}, residual {_fmt(a.residual)}, "
                f"NR {_fmt(a.quality, 1)}, fidelity {_fmt(a.fidelity, 3)}, {a.seconds:.2f} s"
                + (f" ({a.note})" if a.note else "")
            )
            for a in step.attempts
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(step.task)}<br><span class='muted'>{html.escape(step.source)}; "
            f"{html.escape(', '.join(step.targets))}</span></td>"
            f"<td>{html.escape(step.expert or '-')}</td><td>{verdict}</td>"
            f"<td>{_fmt(step.score_before)} &rarr; {_fmt(step.score_after)}</td>"
            f"<td>{step.seconds:.2f}</td><td>{html.escape(step.reason)}</td><td>{tried}</td>"
            "</tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='7'>no step ran</td></tr>")
    head = (
        "<tr><th>step</th><th>expert</th><th>decision</th><th>score</th><th>s</th>"
        "<th>why</th><th>candidates</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(result: Result, title: str = "restora report") -> str:
    """The report as one HTML string."""
    intent = result.intent
    asked = html.escape(intent.text or "(no instruction: restore what the analyzer finds)")
    intent_line = (
        f"tasks {', '.join(intent.tasks) or '-'}; exclude {', '.join(intent.exclude) or '-'}; "
        f"auto {intent.auto}; scale {intent.scale or '-'}; strength {intent.strength}; "
        f"look {intent.look}"
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.trace.notes)
    before = result.input_image.rgb if result.input_image is not None else result.rgb
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><b>Instruction:</b> {asked}<br><span class="muted">{html.escape(intent_line)}</span></p>
<div class="pair">
<figure><figcaption>before ({before.shape[1]}x{before.shape[0]})</figcaption>
<img alt="before" src="{encode_preview(before)}"></figure>
<figure><figcaption>after ({result.rgb.shape[1]}x{result.rgb.shape[0]})</figcaption>
<img alt="after" src="{encode_preview(result.rgb)}"></figure>
</div>
{side_by_side_crops([("before", before), ("after", result.rgb)])}
<h2>Analysis</h2>
<div class="pair">{_analysis_block("before", result.analysis_before)}
{_analysis_block("after", result.analysis_after)}</div>
<h2>Plan</h2>
<p>{html.escape(" -> ".join(result.plan.tasks) or "nothing to do")}</p>
<ul>{notes}</ul>
<h2>Trace</h2>
{_trace_table(result)}
<p class="muted">Stopped: {html.escape(result.trace.stopped)}; {result.trace.seconds:.1f} s in all.
Score (0-100): the analyzer's residual probability of the step's target, the mean of the
other types and the no-reference quality (NR) combined (docs/agent.md); fidelity: correlation of
the low-pass luma with the step's input. Half steps (<i>*0.5</i>) apply half of an expert's
change. A <i>generative</i> candidate (a GAN restorer) invents plausible texture; its note says
why it was chosen, not chosen or not tried.</p>
</body></html>
"""


def write_report(result: Result, path: str | Path, overwrite: bool = False) -> Path:
    """Write :func:`render_report` atomically to ``path``."""
    return write_html(render_report(result), path, overwrite=overwrite)
