"""The restoration agent: plan from the analysis and the instruction, run experts with quality
checks, roll back what did not help, and explain every decision.

    >>> import restora
    >>> result = restora.restore("photo.jpg", "brighten it but keep the grain")
    >>> restora.save(result.image, "fixed.png")
    >>> print("\\n".join(result.trace.lines()))

Modules: ``planning`` (order rule, intent merge, ``AgentConfig``), ``candidates`` (experts per task
from the registry, preference and cost), ``scoring`` (state score, fidelity guard), ``execution``
(the loop with rollback), ``trace`` (records, ``Result``), ``api`` (``restore``), ``report``
(self-contained HTML), ``bench`` (``restora bench --task agent``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.agent.api import restore
    from restora.agent.execution import execute
    from restora.agent.planning import AgentConfig, Plan, Step, plan
    from restora.agent.report import render_report, write_report
    from restora.agent.trace import Attempt, Result, StepRecord, Trace

_API: dict[str, str] = {
    "restore": "restora.agent.api",
    "execute": "restora.agent.execution",
    "AgentConfig": "restora.agent.planning",
    "Plan": "restora.agent.planning",
    "Step": "restora.agent.planning",
    "plan": "restora.agent.planning",
    "render_report": "restora.agent.report",
    "write_report": "restora.agent.report",
    "Attempt": "restora.agent.trace",
    "Result": "restora.agent.trace",
    "StepRecord": "restora.agent.trace",
    "Trace": "restora.agent.trace",
}

__all__ = [
    "AgentConfig",
    "Attempt",
    "Plan",
    "Result",
    "Step",
    "StepRecord",
    "Trace",
    "execute",
    "plan",
    "render_report",
    "restore",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'restora.agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
