"""A self-contained HTML report of an agent run: before/after, the analyses in words and bars,
the plan notes and the trace. Images are inlined as base64 (JPEG for photos, PNG when small),
bars are plain CSS widths, so the file opens anywhere without network or JavaScript."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from restora.agent.trace import Result
from restora.types import Analysis
from restora.vocabulary import DEGRADATION_TYPES

REPORT_SIDE = 1024
"""Longer side of the inlined previews (the report shows, the output file keeps full size)."""

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.pair{display:flex;gap:1em;flex-wrap:wrap}.pair figure{flex:1;min-width:300px;margin:0}
.pair img{width:100%;height:auto;border:1px solid #ccc}
figcaption{font-size:.9em;color:#555;margin:.3em 0}
.bars{display:grid;grid-template-columns:8em 1fr 4em;gap:.25em .6em;font-size:.9em;
align-items:center}
.bar{background:#eee;height:.9em;position:relative}
.bar span{display:block;height:100%;background:#4a7bd0}
.bar span.on{background:#d0544a}
table{border-collapse:collapse;font-size:.88em;width:100%}
td,th{border:1px solid #ddd;padding:.3em .45em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.kept{color:#17752c;font-weight:600}.rolled{color:#a33;font-weight:600}
.muted{color:#777}
"""


def encode_preview(rgb: np.ndarray, side: int = REPORT_SIDE) -> str:
    """A data: URI of ``rgb`` (float32 RGB in [0, 1]) reduced to ``side`` px at most."""
    from PIL import Image as PILImage

    pixels = (np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    picture = PILImage.fromarray(pixels)
    if max(picture.size) > side:
        picture.thumbnail((side, side), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    # PNG keeps small images exact; photos as PNG would make the report tens of megabytes
    if picture.size[0] * picture.size[1] <= 256 * 256:
        picture.save(buffer, format="PNG")
        mime = "image/png"
    else:
        picture.save(buffer, format="JPEG", quality=90)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _describe(analysis: Analysis) -> str:
    try:
        from restora.language import describe

        return str(describe(analysis))
    except (ImportError, ValueError):
        return analysis.caption


def _bars(analysis: Analysis) -> str:
    present = {d.type for d in analysis.degradations}
    rows = []
    for kind in DEGRADATION_TYPES:
        value = float(analysis.scores.get(kind, 1.0 if kind in present else 0.0))
        css = ' class="on"' if kind in present else ""
        rows.append(
            f"<div>{html.escape(kind)}</div><div class='bar'><span{css} "
            f"style='width:{100 * min(max(value, 0.0), 1.0):.1f}%'></span></div>"
            f"<div>{value:.2f}</div>"
        )
    return "<div class='bars'>" + "".join(rows) + "</div>"


def _analysis_block(title: str, analysis: Analysis) -> str:
    q = analysis.quality
    return (
        f"<div><h3>{html.escape(title)}</h3><p>{html.escape(_describe(analysis))}</p>"
        f"<p class='muted'>quality {q.score:.0f}/100 ({html.escape(q.level)}); red bars: "
        "judged present</p>" + _bars(analysis) + "</div>"
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
                f"{a.expert}: score {_fmt(a.score)}, residual {_fmt(a.residual)}, "
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
        f"auto {intent.auto}; scale {intent.scale or '-'}; strength {intent.strength}"
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
change.</p>
</body></html>
"""


def write_report(result: Result, path: str | Path, overwrite: bool = False) -> Path:
    """Write :func:`render_report` atomically to ``path``."""
    from restora.io import write_bytes_atomic

    target = Path(path)
    write_bytes_atomic(target, render_report(result).encode("utf-8"), overwrite=overwrite)
    return target
