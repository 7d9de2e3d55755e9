"""Shared fixtures: small images the project makes itself, and the optional data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data (or $RESTORA_DATA); tests that use it skip cleanly when it is absent."""
    from restora.paths import data_dir as find

    path = find()
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found (set RESTORA_DATA)")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """512x512 colour photo from scikit-image, float32 RGB in [0, 1]."""
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.float32) / 255.0


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """512x512 grey photo from scikit-image, float32 in [0, 1], shape (H, W)."""
    from skimage import data

    return np.asarray(data.camera(), dtype=np.float32) / 255.0


@pytest.fixture()
def small_rgb(astronaut: np.ndarray) -> np.ndarray:
    """A 96x128 colour crop with faces, edges and flat areas."""
    return np.ascontiguousarray(astronaut[40:136, 160:288])


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
