"""Self-contained HTML reports (images and plots inlined) for ``analyze``, ``assess`` and
``bench``; ``restore --report`` (``restora.agent.report``) uses the same building blocks.

    >>> from restora.reports import analysis_report, assess_report, bench_report

Modules: ``html`` (style, inlined images, crops, bars, tables, matplotlib figures), and one
module per report.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.reports.analysis import analysis_report
    from restora.reports.assessment import AssessEntry, assess_entry, assess_report
    from restora.reports.benchmark import bench_report

_API: dict[str, str] = {
    "analysis_report": "restora.reports.analysis",
    "AssessEntry": "restora.reports.assessment",
    "assess_entry": "restora.reports.assessment",
    "assess_report": "restora.reports.assessment",
    "bench_report": "restora.reports.benchmark",
}

__all__ = ["AssessEntry", "analysis_report", "assess_entry", "assess_report", "bench_report"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'restora.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
