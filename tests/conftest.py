"""Shared fixtures: small images the project makes itself, the optional data folder, and tiny
stand-ins for the models (helpers that are not fixtures live in tests/helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from .helpers import HashedTextEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The suite runs one process per core (pytest -n 2): one torch thread each. Two threads per
# process on two busy cores made the backbone four times slower, not faster.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


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


@pytest.fixture(scope="session")
def text_encoder() -> HashedTextEncoder:
    """A deterministic stand-in for MiniLM (no model to load) for the training loops."""
    return HashedTextEncoder()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights of the smoke-size analyzer, saved the way training saves them."""
    import json

    import torch
    from safetensors.torch import save_file

    from restora.perception.model import DegradationAnalyzer
    from restora.training.analyzer import smoke_config
    from restora.vocabulary import DEGRADATION_TYPES

    config = smoke_config().model
    torch.manual_seed(0)
    model = DegradationAnalyzer(config)
    path = tmp_path_factory.mktemp("tiny_analyzer") / "analyzer.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    meta = {"model": config.to_dict(), "thresholds": [0.5] * len(DEGRADATION_TYPES)}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path
