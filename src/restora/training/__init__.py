"""Training code: data pipelines and training loops for the learned models.

Never imported at inference: restoration, analysis and the CLI must work without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class SentenceEncoder(Protocol):
    """What the training loops need of a text encoder: ``encode(texts)`` gives ``(N, 384)``
    float32 rows of unit norm. :class:`restora.language.encoder.TextEncoder` is the real one;
    the tests inject a small deterministic stand-in instead of loading MiniLM."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
