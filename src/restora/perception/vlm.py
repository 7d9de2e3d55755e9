"""Image degradation classification by a vision-language model behind an OpenAI-compatible chat
endpoint (Ollama, vLLM, LM Studio), the ``vlm`` analyzer backend
(``restora analyze --analyzer vlm`` with ``RESTORA_VLM_URL`` or ``RESTORA_LLM_URL`` set).

The chat client and its configuration are the ones instruction parsing uses
(:mod:`restora.language.backends`). The image goes as a PNG data URL (longest side
``max_image_side``) with a prompt listing the eight degradation types; the answer is validated
against :data:`DEGRADATIONS_SCHEMA`. Any error, timeout or invalid answer falls back (with a
warning) to the classifier given as ``fallback``, the embedded analyzer by default.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from restora.language.backends import (
    BackendError,
    ChatClient,
    EndpointDownError,
    LLMConfig,
    extract_json_object,
)
from restora.types import Degradation
from restora.vocabulary import DEGRADATION_TYPES

log = logging.getLogger(__name__)

DEGRADATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["degradations"],
    "properties": {
        "degradations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "severity", "confidence"],
                "properties": {
                    "type": {"enum": list(DEGRADATION_TYPES)},
                    "severity": {"type": "number", "minimum": 0, "maximum": 1},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
        }
    },
}

CLASSIFY_PROMPT = """Look at the attached photo and list the image degradations you see.
Use only these types: {types}. (noise: sensor noise or grain; blur: defocus; motion_blur: camera
or subject motion; jpeg: compression blocks and ringing; haze: fog or haze; rain: rain streaks or
drops; low_light: dark or underexposed; reflection: reflections from glass.)
For each one give severity (0 = none, 1 = extreme) and your confidence (0 to 1).
A clean photo has an empty list. Answer with one JSON object matching this JSON schema:
{schema}"""


def encode_image_data_url(image: Any, max_side: int = 768) -> str:
    """A PNG data URL of an RGB float image in [0, 1] (or uint8), downscaled to ``max_side``."""
    from PIL import Image as PILImage

    array = np.asarray(getattr(image, "pixels", image))
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    picture = PILImage.fromarray(np.ascontiguousarray(array[..., :3]))
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def validate_degradations_payload(payload: dict[str, Any]) -> list[Degradation]:
    """Check a VLM's answer against :data:`DEGRADATIONS_SCHEMA`; most confident first."""
    items = payload.get("degradations")
    if not isinstance(items, list):
        raise BackendError("the model's answer lacks a 'degradations' list")
    found: dict[str, Degradation] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in DEGRADATION_TYPES:
            raise BackendError(f"invalid degradation {item!r}; types: {list(DEGRADATION_TYPES)}")
        try:
            severity = float(item["severity"])
            confidence = float(item.get("confidence", 1.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(f"invalid severity/confidence in {item!r}") from exc
        if not (np.isfinite(severity) and np.isfinite(confidence)):
            raise BackendError(f"non-finite numbers in {item!r}")
        degradation = Degradation(
            item["type"], float(np.clip(severity, 0, 1)), float(np.clip(confidence, 0, 1))
        )
        previous = found.get(degradation.type)
        if previous is None or degradation.confidence > previous.confidence:
            found[degradation.type] = degradation
    return sorted(found.values(), key=lambda d: -d.confidence)


def classify_image_with_vlm(
    image: Any, config: LLMConfig, client: ChatClient | None = None
) -> list[Degradation]:
    """Degradations a vision-language model sees in ``image``; raises BackendError on failure."""
    client = client or ChatClient(config)
    prompt = CLASSIFY_PROMPT.format(
        types=", ".join(DEGRADATION_TYPES), schema=json.dumps(DEGRADATIONS_SCHEMA)
    )
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": prompt},
                {
                    "type": "image_url",
                    "image_url": {"url": encode_image_data_url(image, config.max_image_side)},
                },
            ],
        }
    ]
    return validate_degradations_payload(extract_json_object(client.complete(messages)))


class VlmClassifier:
    """``detect(image) -> (degradations, scores)`` by a vision-language model.

    ``scores`` holds the model's confidence for the types it lists and 0 for the others.
    ``fallback`` (same signature) answers when the endpoint fails; without one the
    :class:`~restora.language.backends.BackendError` propagates.
    """

    def __init__(
        self,
        config: LLMConfig,
        fallback: Callable[[np.ndarray], tuple[Sequence[Degradation], dict[str, float]]]
        | None = None,
        client: ChatClient | None = None,
    ) -> None:
        self.config = config
        self.fallback = fallback
        self.client = client or ChatClient(config)

    def detect(self, image: Any) -> tuple[Sequence[Degradation], dict[str, float]]:
        try:
            found = classify_image_with_vlm(image, self.config, self.client)
        except BackendError as exc:
            if self.fallback is None:
                raise
            # an endpoint found down was already reported once: the next photos say nothing
            level = logging.DEBUG if isinstance(exc, EndpointDownError) else logging.WARNING
            log.log(level, "VLM degradation classification failed (%s); using the fallback", exc)
            return self.fallback(image)
        scores = dict.fromkeys(DEGRADATION_TYPES, 0.0)
        scores.update({d.type: d.confidence for d in found})
        return found, scores
