"""Self-contained HTML reports (images and plots inlined) for ``analyze``, ``assess`` and
``bench``; ``restore --report`` (``restora.reports.restoration``) uses the same building blocks.

    >>> from restora.reports import analysis_report, assess_report, bench_report

Modules: ``html`` (style, inlined images, crops, bars, tables, matplotlib figures), and one
module per report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.reports.analysis import analysis_report as analysis_report
    from restora.reports.assessment import AssessEntry as AssessEntry
    from restora.reports.assessment import assess_entry as assess_entry
    from restora.reports.assessment import assess_report as assess_report
    from restora.reports.benchmark import bench_report as bench_report

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "analysis": ["analysis_report"],
        "assessment": ["AssessEntry", "assess_entry", "assess_report"],
        "benchmark": ["bench_report"],
    },
)
