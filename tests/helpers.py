"""Helpers shared by several test modules (import them from here, never from a test module)."""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``restora ARGS...`` in this process: (exit code, stdout, stderr)."""
    from restora.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def gradient(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth colour image with distinct channels (so orientation and channel order show)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([x / (w - 1), y / (h - 1), (x + y) / (w + h - 2)]).astype(np.float32)


def read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write into (skips where there is none, e.g. root in a
    container without a read-only mount)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return folder
    (folder / "probe").unlink()
    if Path("/sys").is_dir():  # root ignores permissions; sysfs is mounted read-only
        try:
            (Path("/sys") / "restora-probe").write_bytes(b"")
        except OSError:
            return Path("/sys")
    pytest.skip("no read-only folder available on this machine")


class HashedTextEncoder:
    """A stand-in for the MiniLM sentence encoder with its contract (``encode(texts)`` gives
    ``(N, 384)`` float32 unit rows, equal texts embed equally) and none of its load time: each
    text gets a fixed random direction seeded by its CRC32, so different texts are nearly
    orthogonal."""

    dim = 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of strings")
        rows = [
            np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dim)
            for text in texts
        ]
        out = np.asarray(rows, np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


# ------------------------------------------------------------------------------ HTML reports

_VOID_TAGS = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"})


@dataclass
class HtmlReport:
    """What a reader of a report sees: its text, headings, tables, pictures and bars."""

    tags: set[str] = field(default_factory=set)
    headings: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)
    """Every table as rows of cell texts (the header row included)."""
    sources: list[str] = field(default_factory=list)
    """The ``src`` and ``href`` of every element, in document order."""
    bars: dict[str, tuple[float, str, bool]] = field(default_factory=dict)
    """Per degradation bar: (drawn width in %, the number shown, highlighted as present)."""
    styles: str = ""
    text: str = ""
    """The visible text, whitespace collapsed."""

    @property
    def rows(self) -> list[list[str]]:
        """The body rows of every table."""
        return [row for rows in self.tables for row in rows[1:]]

    def images(self) -> list[Any]:
        """The inlined pictures, decoded (PIL images): fails on any that does not decode."""
        from PIL import Image as PILImage

        pictures = []
        for source in self.sources:
            header, _, payload = source.partition(",")
            assert header.startswith("data:image/") and header.endswith(";base64"), header[:40]
            picture = PILImage.open(io.BytesIO(base64.b64decode(payload, validate=True)))
            picture.load()
            pictures.append(picture)
        return pictures


class _ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = HtmlReport()
        self._open: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self._bars_depth: int | None = None
        self._bar_items: list[dict[str, Any]] = []

    def _classes(self, attrs: dict[str, str]) -> set[str]:
        return set(attrs.get("class", "").split())

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attr_list}
        self.report.tags.add(tag)
        self.report.sources += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        elif tag == "table":
            self.report.tables.append([])
        elif tag == "tr":
            self.report.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        depth = len(self._open)
        if self._bars_depth is not None:
            if depth == self._bars_depth + 1:  # a cell of the bar grid: name, bar, value
                self._bar_items.append({"text": "", "width": None, "on": False})
            if tag == "span" and self._bar_items:
                width = attrs.get("style", "").partition("width:")[2].partition("%")[0]
                self._bar_items[-1]["width"] = float(width)
                self._bar_items[-1]["on"] = "on" in self._classes(attrs)
        elif tag == "div" and "bars" in self._classes(attrs):
            self._bars_depth, self._bar_items = depth, []
        if tag not in _VOID_TAGS:
            self._open.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        assert self._open and self._open[-1][0] == tag, f"</{tag}> closes {self._open[-1:]}"
        self._open.pop()
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.report.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None:
            self.report.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._bars_depth is not None and len(self._open) == self._bars_depth:
            items, self._bars_depth = self._bar_items, None
            for name, bar, value in zip(items[::3], items[1::3], items[2::3], strict=True):
                self.report.bars[name["text"]] = (bar["width"], value["text"], bar["on"])

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1][0] == "style":
            self.report.styles += data
            return
        if self._open and self._open[-1][0] in ("title", "script"):
            return
        self._text.append(data)
        for part in (self._heading, self._cell):
            if part is not None:
                part.append(data)
        if self._bars_depth is not None and self._bar_items:
            self._bar_items[-1]["text"] += data.strip()

    def close(self) -> None:
        super().close()
        assert not self._open, f"unclosed elements: {[tag for tag, _ in self._open]}"
        self.report.text = " ".join(" ".join(self._text).split())


def parse_report(text: str) -> HtmlReport:
    """A report's HTML as a reader sees it (fails on a malformed document)."""
    assert text.lstrip().lower().startswith("<!doctype html>")
    parser = _ReportParser()
    parser.feed(text)
    parser.close()
    return parser.report
