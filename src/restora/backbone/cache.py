"""A feature cache for training: backbone features computed once, keyed by content and settings.

A key is the SHA-256 of the photo's bytes (the file, or the decoded array with its shape and
dtype) plus :meth:`FeatureSpec.key`, and anything else that changes the features (a synthetic
degradation's seed and parameters): change any of them and the features are computed again,
never reused wrongly. Entries are ``.npy`` files written atomically (a temporary file, then a
rename), so a killed training run leaves no half-written entry and parallel workers may share
one folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from restora.backbone.features import FeatureSpec, extract

DEFAULT_CACHE = Path(".cache") / "features"
"""Relative to the working folder (ignored by git); ``RESTORA_FEATURE_CACHE`` overrides it."""


def content_key(data: bytes | np.ndarray, *extra: Any) -> str:
    """SHA-256 of file bytes or of an array (shape and dtype included) and ``extra`` values."""
    digest = hashlib.sha256()
    if isinstance(data, np.ndarray):
        digest.update(f"{data.shape}{data.dtype}".encode())
        digest.update(np.ascontiguousarray(data).tobytes())
    else:
        digest.update(data)
    for value in extra:
        digest.update(repr(value).encode())
    return digest.hexdigest()[:32]


class FeatureCache:
    """``cache.get_or_compute(key, spec, compute)``: the stored vector, or ``compute()``
    stored under ``key`` in the folder of ``spec``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or os.environ.get("RESTORA_FEATURE_CACHE") or DEFAULT_CACHE)
        self.hits = 0
        self.misses = 0

    def path(self, key: str, spec: FeatureSpec) -> Path:
        return self.root / spec.key() / key[:2] / f"{key}.npy"

    def get(self, key: str, spec: FeatureSpec) -> np.ndarray | None:
        path = self.path(key, spec)
        if not path.is_file():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):  # a damaged entry is computed again
            return None

    def put(self, key: str, spec: FeatureSpec, vector: np.ndarray) -> None:
        path = self.path(key, spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        spec_file = self.root / spec.key() / "spec.json"
        if not spec_file.exists():
            import json

            spec_file.write_text(json.dumps(spec.to_dict(), indent=1))
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, vector)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get_or_compute(
        self, key: str, spec: FeatureSpec, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        vector = self.get(key, spec)
        if vector is not None:
            self.hits += 1
            return vector
        self.misses += 1
        vector = np.asarray(compute(), dtype=np.float32)
        self.put(key, spec, vector)
        return vector

    def features_of_file(
        self, path: str | os.PathLike[str], spec: FeatureSpec, device: str | None = None
    ) -> np.ndarray:
        """Features of an image file, keyed by the file's bytes."""
        from restora.io import load

        file = Path(path)
        key = content_key(file.read_bytes())
        return self.get_or_compute(key, spec, lambda: extract(load(file), spec, device))
