"""Building blocks of restora's self-contained HTML reports.

Every report is one file that opens anywhere without network or JavaScript: images and plots
are inlined as base64 ``data:`` URIs, bars are CSS widths, tables are plain HTML. The agent's
``restore --report`` and the ``analyze``/``assess``/``bench`` reports share the style and the
helpers here.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from restora.types import Analysis
from restora.vocabulary import DEGRADATION_TYPES

REPORT_SIDE = 1024
"""Longer side of the inlined previews (the report shows, the output file keeps full size)."""

CROP_SIDE = 160
"""Side of the detail crops, shown enlarged with nearest-neighbour so pixels stay visible."""

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.pair{display:flex;gap:1em;flex-wrap:wrap}.pair figure{flex:1;min-width:300px;margin:0}
.pair img{width:100%;height:auto;border:1px solid #ccc}
.crops img{image-rendering:pixelated}
figcaption{font-size:.9em;color:#555;margin:.3em 0}
.bars{display:grid;grid-template-columns:8em 1fr 4em;gap:.25em .6em;font-size:.9em;
align-items:center}
.bar{background:#eee;height:.9em;position:relative}
.bar span{display:block;height:100%;background:#4a7bd0}
.bar span.on{background:#d0544a}
table{border-collapse:collapse;font-size:.88em;width:100%}
td,th{border:1px solid #ddd;padding:.3em .45em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.kept{color:#17752c;font-weight:600}.rolled{color:#a33;font-weight:600}
.muted{color:#777}.plot img{max-width:100%;height:auto}
"""


def _png_or_jpeg(picture: Any) -> str:
    buffer = io.BytesIO()
    # PNG keeps small images exact; photos as PNG would make the report tens of megabytes
    if picture.size[0] * picture.size[1] <= 256 * 256:
        picture.save(buffer, format="PNG")
        mime = "image/png"
    else:
        picture.save(buffer, format="JPEG", quality=90)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _to_pil(rgb: np.ndarray) -> Any:
    from PIL import Image as PILImage

    array = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
    return PILImage.fromarray((array * 255.0 + 0.5).astype(np.uint8))


def encode_preview(rgb: np.ndarray, side: int = REPORT_SIDE) -> str:
    """A data: URI of ``rgb`` (float32 RGB or grey in [0, 1]) reduced to ``side`` px at most."""
    from PIL import Image as PILImage

    picture = _to_pil(rgb)
    if max(picture.size) > side:
        picture.thumbnail((side, side), PILImage.Resampling.LANCZOS)
    return _png_or_jpeg(picture)


def detail_box(rgb: np.ndarray, side: int = CROP_SIDE) -> tuple[int, int, int]:
    """(top, left, side) of the most textured square: where restoration differences show.

    Texture is the mean gradient magnitude over a coarse grid of windows; flat sky would hide
    everything a metric measures."""
    grey = np.asarray(rgb, dtype=np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    height, width = grey.shape
    side = min(side, height, width)
    gy, gx = np.gradient(grey)
    energy = np.hypot(gx, gy)
    step = max(1, side // 2)
    best, box = -1.0, (0, 0)
    for top in range(0, height - side + 1, step):
        for left in range(0, width - side + 1, step):
            value = float(energy[top : top + side, left : left + side].mean())
            if value > best:
                best, box = value, (top, left)
    return box[0], box[1], side


def encode_crop(rgb: np.ndarray, box: tuple[int, int, int], zoom_to: int = 320) -> str:
    """A data: URI of the ``box`` of ``rgb``, enlarged (nearest) to about ``zoom_to`` px."""
    from PIL import Image as PILImage

    top, left, side = box
    picture = _to_pil(np.asarray(rgb)[top : top + side, left : left + side])
    factor = max(1, zoom_to // max(side, 1))
    if factor > 1:
        picture = picture.resize((side * factor, side * factor), PILImage.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")  # crops are small: exact pixels
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def figures(items: Sequence[tuple[str, str]], css: str = "pair") -> str:
    """Images side by side: (caption, data URI) pairs."""
    cells = "".join(
        f"<figure><figcaption>{html.escape(caption)}</figcaption>"
        f"<img alt='{html.escape(caption)}' src='{uri}'></figure>"
        for caption, uri in items
    )
    return f"<div class='{css}'>{cells}</div>"


def side_by_side_crops(images: Sequence[tuple[str, np.ndarray]], anchor: int = 0) -> str:
    """The same detail crop of every image (chosen on ``images[anchor]``), side by side."""
    sizes = {np.asarray(rgb).shape[:2] for _, rgb in images}
    if len(sizes) != 1:
        return ""
    box = detail_box(images[anchor][1])
    top, left, side = box
    items = [
        (f"{name}: {side} px crop at ({left}, {top})", encode_crop(rgb, box))
        for name, rgb in images
    ]
    return figures(items, css="pair crops")


def describe_analysis(analysis: Analysis) -> str:
    """The analysis in a sentence (``restora.language.describe``), else its caption."""
    try:
        from restora.language import describe

        return str(describe(analysis))
    except (ImportError, ValueError):
        return analysis.caption


def degradation_bars(analysis: Analysis) -> str:
    """One bar per degradation type: the analyzer's probability, red where judged present."""
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


def fmt(value: Any, digits: int = 2) -> str:
    """A number for a table cell; empty for None/NaN, ``inf`` spelled out."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return ""
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return f"{number:.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 2) -> str:
    """A plain HTML table; cells are escaped, numbers formatted with :func:`fmt`."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(c, digits))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def plot_uri(figure: Any) -> str:
    """A matplotlib Figure as a PNG data: URI (the figure is not shown anywhere)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    """A matplotlib Figure without pyplot: no global state, no GUI backend, safe in servers
    and worker threads."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def page(title: str, body: str) -> str:
    """A complete HTML document with the report style."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def write_html(text: str, path: str | Path, overwrite: bool = False) -> Path:
    """Write a report atomically (never half a file)."""
    from restora.io import write_bytes_atomic

    target = Path(path)
    write_bytes_atomic(target, text.encode("utf-8"), overwrite=overwrite)
    return target
