"""Pluggable analyzer backends: every backend answers ``analysis(image) -> Analysis``.

- ``embedded``: the shipped analyzer (:class:`restora.perception.analyzer.Analyzer`).
- ``clip``: zero-shot classification by a CLIP model from a local folder
  (:mod:`restora.perception.clip`); ``weights`` names the folder.
- ``vlm``: a vision-language model behind an OpenAI-compatible chat endpoint
  (:mod:`restora.perception.vlm`), configured by ``RESTORA_VLM_URL`` / ``RESTORA_LLM_URL``;
  when it fails, the embedded analyzer (``weights``, default the shipped ones) answers.

The classifier backends have no quality head: their :class:`Analysis` takes its quality from
restora's no-reference score (:func:`restora.quality.assess_nr`) and its caption from the same
templates as the embedded analyzer. Choose one with
``restora.perception.get_analyzer(backend=...)`` or ``restora analyze --analyzer NAME``; the
agent takes any of them as ``restore(..., analyzer=...)``. Importing this module is cheap (no
torch), so the command line takes the backend names from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

import numpy as np

from restora.errors import NotAvailableError, UnknownNameError
from restora.types import Analysis, Degradation

if TYPE_CHECKING:
    from restora.perception.analyzer import Analyzer

ANALYZER_BACKENDS: tuple[str, ...] = ("embedded", "clip", "vlm")
"""Names of the analyzer backends, the default first."""

Detection = tuple[Sequence[Degradation], dict[str, float]]
"""What a classifier backend's ``detect(image)`` returns: the degradations judged present and a
presence score in [0, 1] for every type (the agent's judge reads the scores)."""


class AnalyzerBackend(Protocol):
    """What every analyzer backend offers (and what the agent needs)."""

    def analysis(self, image: np.ndarray) -> Analysis: ...


class ClassifierAnalyzer:
    """An analyzer whose degradations and per-type scores come from an image classifier
    (``detect(image) -> (degradations, scores)``, such as CLIP zero-shot or a VLM)."""

    def __init__(self, detect: Callable[[np.ndarray], Detection], source: str) -> None:
        self.detect = detect
        self.source = source

    def analysis(self, image: Any) -> Analysis:
        from restora.perception.analyzer import caption_for
        from restora.quality import assess_nr

        rgb = np.asarray(getattr(image, "rgb", image), dtype=np.float32)
        degradations, scores = self.detect(rgb)
        found = tuple(sorted(degradations, key=lambda d: -d.confidence))
        return Analysis(
            degradations=found,
            caption=caption_for(found),
            quality=assess_nr(rgb),
            scores=dict(scores),
        )

    def __repr__(self) -> str:
        return f"ClassifierAnalyzer(source={self.source!r})"


def check_backend(backend: str) -> str:
    """``backend`` if it names an analyzer backend, else :class:`UnknownNameError`."""
    if backend not in ANALYZER_BACKENDS:
        raise UnknownNameError("analyzer backend", backend, ANALYZER_BACKENDS)
    return backend


def clip_analyzer(model_dir: str | Path | None, device: str | None = None) -> ClassifierAnalyzer:
    """The ``clip`` backend on the CLIP model saved (``save_pretrained``) in ``model_dir``."""
    if model_dir is None:
        raise NotAvailableError(
            "the clip analyzer needs the folder of a CLIP model saved with save_pretrained "
            "(--weights DIR)"
        )
    from restora.perception.clip import ClipZeroShotClassifier

    return ClassifierAnalyzer(ClipZeroShotClassifier(model_dir, device).detect, "clip")


def vlm_analyzer(
    weights: str | Path | None = None, device: str | None = None
) -> ClassifierAnalyzer:
    """The ``vlm`` backend on the endpoint of ``RESTORA_VLM_URL`` (or ``RESTORA_LLM_URL``);
    the embedded analyzer with ``weights`` answers when the endpoint fails."""
    from restora.language.backends import LLMConfig
    from restora.perception.vlm import VlmClassifier

    config = LLMConfig.from_env("RESTORA_VLM")
    if config is None:
        raise NotAvailableError(
            "the vlm analyzer needs an OpenAI-compatible endpoint: set RESTORA_VLM_URL (or "
            "RESTORA_LLM_URL), e.g. http://127.0.0.1:11434/v1"
        )

    def embedded(image: np.ndarray) -> Detection:
        from restora.perception.analyzer import get_embedded_analyzer

        analysis = get_embedded_analyzer(weights, device).analysis(image)
        return analysis.degradations, analysis.scores

    return ClassifierAnalyzer(VlmClassifier(config, fallback=embedded).detect, "vlm")


_BACKENDS: dict[str, ClassifierAnalyzer] = {}
_BACKENDS_LOCK = threading.Lock()


@overload
def get_analyzer(
    weights: str | Path | None = None,
    device: str | None = None,
    *,
    backend: Literal["embedded"] = "embedded",
) -> Analyzer: ...


@overload
def get_analyzer(
    weights: str | Path | None = None, device: str | None = None, *, backend: str
) -> AnalyzerBackend: ...


def get_analyzer(
    weights: str | Path | None = None, device: str | None = None, *, backend: str = "embedded"
) -> Any:
    """The process-wide analyzer for this backend, weights and device (loaded once).

    ``backend`` is one of :data:`ANALYZER_BACKENDS`: ``"embedded"`` (``weights``: the
    .safetensors file, default the shipped one), ``"clip"`` (``weights``: the folder of a CLIP
    model) or ``"vlm"`` (the endpoint of ``RESTORA_VLM_URL``; ``weights``: the embedded analyzer
    that answers when it fails). Every one has ``.analysis(image) -> Analysis``.
    """
    check_backend(backend)
    if backend == "embedded":
        from restora.perception.analyzer import get_embedded_analyzer

        return get_embedded_analyzer(weights, device)
    key = f"{backend}|{weights or ''}|{device or ''}"
    if backend == "vlm":
        from restora.language.backends import LLMConfig

        key += f"|{LLMConfig.from_env('RESTORA_VLM')!r}"  # the repr holds no API key
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            make = clip_analyzer if backend == "clip" else vlm_analyzer
            _BACKENDS[key] = make(weights, device)
        return _BACKENDS[key]


def analyze(
    image: Any,
    *,
    weights: str | Path | None = None,
    device: str | None = None,
    backend: str = "embedded",
    analyzer: AnalyzerBackend | None = None,
) -> Analysis:
    """What is wrong with ``image`` (a :class:`restora.Image`, the path of an image file or a
    float (H, W, 3) array), seen by ``analyzer`` (default the process-wide analyzer of
    ``backend``, ``weights`` and ``device``, see :func:`get_analyzer`: loaded once).

    For an image read from a file, what the file says joins what the pixels show (a JPEG's
    quantisation tables give its quality:
    :func:`restora.perception.analyzer.with_file_signals`). An array carries no file, so
    ``analyzer.analysis(array)``, which the agent calls, sees the pixels only."""
    if isinstance(image, (str, os.PathLike)):
        from restora.io import load

        image = load(image)
    rgb = np.asarray(getattr(image, "rgb", image), dtype=np.float32)
    chosen = analyzer if analyzer is not None else get_analyzer(weights, device, backend=backend)
    from restora.perception.analyzer import file_signals, with_file_signals

    return with_file_signals(chosen.analysis(rgb), file_signals(image))
