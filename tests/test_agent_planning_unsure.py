"""Types the analyzer is unsure of: tried under a fidelity judge, never otherwise."""

from __future__ import annotations

from restora.agent.planning import AgentConfig, plan, unsure_types
from restora.types import Analysis, QualityScore


def _analysis(noise: float, blur: float = 0.0) -> Analysis:
    quality = QualityScore(score=50.0, level="fair", source="test")
    return Analysis((), "a photo", quality, scores={"noise": noise, "blur": blur})


def test_unsure_types_lie_between_the_fraction_and_the_threshold() -> None:
    config = AgentConfig()
    types, thresholds = ("noise", "blur"), (0.8, 0.6)
    assert unsure_types(_analysis(0.5, 0.5), types, thresholds, config) == ("noise",)
    assert unsure_types(_analysis(0.3), types, thresholds, config) == ()  # under 0.5 x 0.8
    assert unsure_types(_analysis(0.85), types, thresholds, config) == ()  # found, not unsure
    # blur is not among the types tried when unsure
    assert unsure_types(_analysis(0.0, 0.5), types, thresholds, config) == ()


def test_an_unsure_type_becomes_an_unsure_step_in_automatic_mode_only() -> None:
    from restora.types import Intent

    steps = plan(_analysis(0.5), config=AgentConfig(), unsure=("noise",))
    assert [(s.task, s.source) for s in steps.steps] == [("denoise", "unsure")]
    assert not steps.steps[0].asked
    assert any("unsure of noise" in note for note in steps.notes)
    asked = plan(_analysis(0.5), Intent(tasks=("deblur",)), AgentConfig(), unsure=("noise",))
    assert [s.task for s in asked.steps] == ["deblur"]
    excluded = plan(_analysis(0.5), Intent(auto=True, exclude=("denoise",)), unsure=("noise",))
    assert not excluded.steps
