"""The restoration agent: plan from the analysis and the instruction, run experts with quality
checks, roll back what did not help, and explain every decision.

    >>> import restora
    >>> result = restora.restore("photo.jpg", "brighten it but keep the grain")
    >>> restora.save(result.image, "fixed.png")
    >>> print("\\n".join(result.trace.lines()))

Modules: ``planning`` (order rule, intent merge, ``AgentConfig``, explicit plans),
``candidates`` (experts per step, sorted from their descriptors), ``judge`` (the ``Judge``
protocol and ``DefaultJudge``: state score, guards, keep/rollback margin), ``learned_judge``
(``LearnedJudge``, the default: the predicted dB gain of a candidate and how sure it is),
``change`` (what a step changed, the fidelity judge's measurements), ``execution`` (the
loop with rollback), ``trace`` (records, ``Result``), ``api`` (``RestoreRequest``,
``restore``). The HTML report is ``restora.reports.restoration``; the benchmark and the tuner
are ``restora.bench.agent``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.agent.api import RestoreRequest as RestoreRequest
    from restora.agent.api import restore as restore
    from restora.agent.execution import execute as execute
    from restora.agent.judge import DefaultJudge as DefaultJudge
    from restora.agent.judge import Judge as Judge
    from restora.agent.learned_judge import LearnedJudge as LearnedJudge
    from restora.agent.planning import AgentConfig as AgentConfig
    from restora.agent.planning import Plan as Plan
    from restora.agent.planning import Step as Step
    from restora.agent.planning import plan as plan
    from restora.agent.trace import Attempt as Attempt
    from restora.agent.trace import Result as Result
    from restora.agent.trace import StepRecord as StepRecord
    from restora.agent.trace import Trace as Trace

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "api": ["RestoreRequest", "restore"],
        "execution": ["execute"],
        "planning": ["AgentConfig", "Plan", "Step", "plan"],
        "judge": ["DefaultJudge", "Judge"],
        "learned_judge": ["LearnedJudge"],
        "trace": ["Attempt", "Result", "StepRecord", "Trace"],
    },
)
