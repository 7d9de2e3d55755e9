"""The batch summary: one row per file as CSV (spreadsheets) and JSON (programs)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

CSV_COLUMNS = (
    "file",
    "output",
    "status",
    "tasks",
    "experts",
    "degradations",
    "quality_level",
    "quality_before",
    "quality_after",
    "width",
    "height",
    "seconds",
    "error",
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "degradations":
        return "; ".join(f"{d['type']} {d['severity']:.2f}" for d in value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV text; lists are joined with ``; `` and degradations read ``noise 0.62``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(key, row.get(key)) for key in CSV_COLUMNS])
    return buffer.getvalue()


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in rows if r.get("status") == "done"]
    return {
        "files": len(rows),
        "done": len(done),
        "failed": sum(r.get("status") == "failed" for r in rows),
        "pending": sum(r.get("status") not in ("done", "failed") for r in rows),
        "seconds": round(sum(float(r.get("seconds") or 0.0) for r in rows), 2),
    }


def to_json(rows: list[dict[str, Any]], header: dict[str, Any]) -> str:
    """The summary JSON: the job's settings, totals and every row."""
    payload = {
        "job": {k: v for k, v in header.items() if k != "kind"},
        "totals": totals(rows),
        "files": rows,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
