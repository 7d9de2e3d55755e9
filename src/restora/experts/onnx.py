"""ONNX restoration models as experts, run by onnxruntime with tiling.

A user points at any ONNX image-to-image model: ``--expert onnx:PATH --task T --scale S`` on the
command line, ``get_expert("onnx:PATH", task=..., scale=...)`` in Python, or a model card
``PATH.json`` / ``PATH.toml`` (same stem, next to the file) with the fields of
:class:`OnnxCard`. Options given in the call override the card. The model must take and return
NCHW float tensors (RGB, or grey when ``channels = 1``) in [0, 1] (or [0, 255] with
``input_range = 255``); the output may be ``scale`` times larger.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import InputError, NotAvailableError, RestoraError
from restora.experts.base import Expert
from restora.vocabulary import TASKS


@dataclass(frozen=True)
class OnnxCard:
    """What restora needs to know about an ONNX model (all optional except ``task``)."""

    task: str
    scale: int = 1
    name: str = ""
    description: str = ""
    channels: int = 3
    input_range: float = 1.0
    tile_size: int = 512
    tile_overlap: int = 32
    size_multiple: int = 1
    residual: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise RestoraError(f"unknown task {self.task!r} for ONNX model; choose from {TASKS}")
        if self.scale not in (1, 2, 3, 4, 8):
            raise RestoraError(f"ONNX model scale must be 1, 2, 3, 4 or 8, got {self.scale}")
        if self.channels not in (1, 3):
            raise RestoraError(f"ONNX model channels must be 1 or 3, got {self.channels}")


def read_card(path: Path) -> dict[str, Any]:
    """The model card next to ``path`` (``.json`` or ``.toml``), or ``{}`` when there is none."""
    for suffix in (".json", ".toml"):
        card = path.with_suffix(suffix)
        if card.is_file():
            try:
                if suffix == ".json":
                    data = json.loads(card.read_text(encoding="utf-8"))
                else:
                    data = tomllib.loads(card.read_text(encoding="utf-8"))
            except (ValueError, tomllib.TOMLDecodeError) as exc:
                raise InputError(f"cannot read ONNX model card {card}: {exc}") from exc
            if not isinstance(data, dict):
                raise InputError(f"ONNX model card {card} must be an object")
            return data
    return {}


@lru_cache(maxsize=8)
def _session(path: str, device: str) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
        raise NotAvailableError("onnxruntime is not installed") from exc
    providers = ["CPUExecutionProvider"]
    if device != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(path, sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise InputError(f"cannot load ONNX model {path}: {exc}") from exc


def onnx_expert(path: str | Path, **options: Any) -> Expert:
    """An :class:`Expert` running the ONNX model at ``path`` (card fields as ``options``)."""
    model = Path(path).expanduser()
    if not model.is_file():
        raise InputError(f"ONNX model {model} not found")
    card_data = read_card(model)
    card_data.update({k: v for k, v in options.items() if v is not None})
    if "task" not in card_data:
        raise RestoraError(
            f"ONNX model {model.name}: say which task it performs (--task, or a model card "
            f"{model.with_suffix('.json').name} with a 'task' field)"
        )
    known = {f.name for f in fields(OnnxCard)}
    unknown = sorted(set(card_data) - known)
    if unknown:
        raise RestoraError(f"unknown ONNX card field {unknown[0]!r}; fields: {', '.join(known)}")
    card = OnnxCard(**card_data)
    resolved = str(model.resolve())

    def run(image: np.ndarray, device: str = "auto") -> np.ndarray:
        session = _session(resolved, device)
        x = image.mean(axis=2, keepdims=True) if card.channels == 1 else image
        tensor = np.ascontiguousarray(x.transpose(2, 0, 1)[None] * card.input_range, np.float32)
        feed = {session.get_inputs()[0].name: tensor}
        out = session.run(None, feed)[0][0] / card.input_range
        if card.residual:
            out = tensor[0] / card.input_range - out
        out = np.asarray(out, dtype=np.float32).transpose(1, 2, 0)
        return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out

    return Expert(
        name=card.name or f"onnx:{model}",
        task=card.task,
        backend="onnx",
        run=run,
        scale=card.scale,
        params={"device": "auto"},
        devices=("cpu", "cuda"),
        tile_size=card.tile_size,
        tile_overlap=card.tile_overlap,
        size_multiple=card.size_multiple,
        description=card.description or f"ONNX model {model.name} (onnxruntime)",
        reference=str(model),
    )
