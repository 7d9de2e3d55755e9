"""The fidelity judge's switch margin: another candidate replaces the step's first-ranked expert
only when it is predicted better by more than the margin."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from restora.agent.execution import _keep_the_lead


def _judged(candidate: Any, score: float, blend: float = 1.0) -> Any:
    return SimpleNamespace(
        candidate=candidate,
        verdict=SimpleNamespace(score=SimpleNamespace(score=score)),
        attempt=SimpleNamespace(blend=blend),
    )


def _case(ahead: float, margin: float = 0.5, task: str = "derain") -> tuple[Any, Any, str]:
    first, second = SimpleNamespace(label="network"), SimpleNamespace(label="guided")
    lead, other = _judged(first, 10.0), _judged(second, 10.0 + ahead)
    step = SimpleNamespace(task=task, candidates=(first, second))
    judge = SimpleNamespace(switch_margin=margin)
    best, note = _keep_the_lead(other, [lead, other], [lead, other], step, judge)  # type: ignore[arg-type]
    return best, lead, note


def test_a_small_predicted_lead_keeps_the_first_ranked_expert() -> None:
    best, lead, note = _case(0.3)
    assert best is lead and "network kept over guided" in note and "0.5 dB margin" in note


def test_a_clear_predicted_lead_wins() -> None:
    best, lead, note = _case(0.8)
    assert best is not lead and note == ""


def test_no_margin_and_upscaling_leave_the_judge_s_choice() -> None:
    for best, lead, _ in (_case(0.3, margin=0.0), _case(0.3, task="upscale")):
        assert best is not lead


def test_the_training_measure_applies_the_same_rule() -> None:
    from restora.training.judge import Table, asked_gain_with_margin

    # one step: the first row gains 2 dB truly, the second 1 dB but is predicted 0.3 dB better
    table = Table(
        inputs=np.zeros((2, 1), np.float32),
        gains=np.array([2.0, 1.0]),
        groups=np.array([0, 0]),
        items=np.array([0, 0]),
        kinds=["single", "single"],
        variants=["full", "full"],
        true_task=np.array([True, True]),
    )
    predicted = np.array([1.0, 1.3])
    assert asked_gain_with_margin(predicted, table, 0.0) == 1.0
    assert asked_gain_with_margin(predicted, table, 0.5) == 2.0
    assert np.isnan(asked_gain_with_margin(predicted, table, 0.5, ("mixed",)))
