"""The degradation analyzer: an embedded vision tower aligned with the MiniLM text encoder.

    >>> from restora import perception
    >>> analysis = perception.analyze(image)          # restora.types.Analysis
    >>> perception.score_text(image, ["a photo with rain streaks", "a sharp clean photo"])

Submodules: ``features`` (classical statistics the model sees), ``sampling`` (native-resolution
crops + whole-image view), ``model`` (the architecture), ``analyzer`` (shipped weights ->
Analysis). Training lives in ``restora.training.analyzer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restora.perception.analyzer import Analyzer, analyze, get_analyzer, score_text

__all__ = ["Analyzer", "analyze", "get_analyzer", "score_text"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from restora.perception import analyzer

        return getattr(analyzer, name)
    raise AttributeError(f"module 'restora.perception' has no attribute {name!r}")
