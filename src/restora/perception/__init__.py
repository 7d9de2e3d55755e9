"""The degradation analyzer: an embedded vision tower aligned with the MiniLM text encoder, and
pluggable backends (a CLIP model from a local folder, a VLM behind a chat endpoint).

    >>> from restora import perception
    >>> analysis = perception.analyze(image)          # restora.types.Analysis
    >>> perception.score_text(image, ["a photo with rain streaks", "a sharp clean photo"])
    >>> perception.get_analyzer("clip_dir/", backend="clip").analysis(image)

Submodules: ``features`` (classical statistics the model sees), ``sampling`` (native-resolution
crops + whole-image view), ``model`` (the architecture), ``analyzer`` (shipped weights ->
Analysis), ``backends`` (``get_analyzer`` / ``analyze`` for every backend, the classifier
analyzer), ``clip`` and ``vlm`` (the classifiers). Training lives in ``restora.training.analyzer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from restora.perception.analyzer import Analyzer as Analyzer
    from restora.perception.analyzer import score_text as score_text
    from restora.perception.backends import ANALYZER_BACKENDS as ANALYZER_BACKENDS
    from restora.perception.backends import ClassifierAnalyzer as ClassifierAnalyzer
    from restora.perception.backends import analyze as analyze
    from restora.perception.backends import get_analyzer as get_analyzer

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "analyzer": ["Analyzer", "score_text"],
        "backends": ["ANALYZER_BACKENDS", "ClassifierAnalyzer", "analyze", "get_analyzer"],
    },
)
