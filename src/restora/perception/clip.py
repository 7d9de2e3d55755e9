"""Zero-shot degradation classification with a CLIP model from a local folder (transformers),
the ``clip`` analyzer backend (``restora analyze --analyzer clip --weights DIR``).

Any CLIP checkpoint saved with ``save_pretrained`` (openai/clip-vit-base-patch32, a DA-CLIP
export, ...) works; nothing is downloaded (``local_files_only``). Each degradation type is scored
DA-CLIP style by a two-way softmax between prompts that describe the type and prompts that
describe its absence, so several types can be present at once; the probability is reported as
the confidence and, uncalibrated, as the severity estimate.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import NotAvailableError
from restora.types import Degradation
from restora.vocabulary import DEGRADATION_TYPES

# Prompt ensembles: several phrasings per type average out CLIP's sensitivity to wording.
PRESENT_PROMPTS: dict[str, tuple[str, ...]] = {
    "noise": ("a noisy photo", "a grainy photo with sensor noise", "a photo full of speckles"),
    "blur": ("a blurry photo", "an out of focus photo", "a soft, defocused photo"),
    "motion_blur": ("a photo with motion blur", "a photo smeared by camera shake"),
    "jpeg": ("a heavily compressed jpeg photo", "a photo with blocky compression artifacts"),
    "haze": ("a hazy photo", "a foggy photo", "a washed-out photo with haze"),
    "rain": ("a photo with rain streaks", "a rainy photo with raindrops"),
    "low_light": ("a dark underexposed photo", "a photo taken in low light"),
    "reflection": ("a photo with reflections on glass", "a photo taken through a window"),
}
ABSENT_PROMPTS: dict[str, tuple[str, ...]] = {
    "noise": ("a clean photo without noise", "a smooth, noise-free photo"),
    "blur": ("a sharp photo", "a photo in perfect focus"),
    "motion_blur": ("a sharp photo without motion blur", "a steady, crisp photo"),
    "jpeg": ("an uncompressed photo", "a photo without compression artifacts"),
    "haze": ("a clear photo", "a photo with crisp contrast and no haze"),
    "rain": ("a photo on a dry day", "a photo without rain"),
    "low_light": ("a bright, well-exposed photo", "a photo in good light"),
    "reflection": ("a photo without reflections", "a photo with no glass in front"),
}
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipZeroShotClassifier:
    """``detect(image) -> (degradations, scores)`` with a local CLIP checkpoint."""

    def __init__(self, model_dir: str | Path, device: str | None = None, threshold: float = 0.5):
        model_dir = Path(model_dir).expanduser()
        if not (model_dir / "config.json").is_file():
            raise NotAvailableError(f"no CLIP model in {model_dir} (config.json missing)")
        try:
            import torch
            from transformers import AutoTokenizer, CLIPModel
        except (
            ImportError
        ) as exc:  # pragma: no cover - transformers comes with sentence-transformers
            raise NotAvailableError("CLIP zero-shot needs transformers installed") from exc
        from restora.device import resolve_device

        self.device = resolve_device(device)
        self.threshold = float(threshold)
        self.model: Any = CLIPModel.from_pretrained(str(model_dir), local_files_only=True)
        self.model.eval().to(self.device)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        vision_config: Any = self.model.config.vision_config
        self.image_size = int(vision_config.image_size)
        self.mean, self.std = CLIP_MEAN, CLIP_STD
        preprocessor = model_dir / "preprocessor_config.json"
        if preprocessor.is_file():
            raw = json.loads(preprocessor.read_text(encoding="utf-8"))
            self.mean = tuple(raw.get("image_mean", self.mean))
            self.std = tuple(raw.get("image_std", self.std))
        self._lock = threading.Lock()
        with torch.inference_mode():
            self._present = self._text_embeddings(PRESENT_PROMPTS)
            self._absent = self._text_embeddings(ABSENT_PROMPTS)

    def _text_embeddings(self, prompts: dict[str, tuple[str, ...]]) -> Any:
        import torch

        rows = []
        for kind in DEGRADATION_TYPES:
            tokens = self.tokenizer(list(prompts[kind]), padding=True, return_tensors="pt")
            tokens = {k: v.to(self.device) for k, v in tokens.items() if k != "token_type_ids"}
            features = self.model.get_text_features(**tokens)
            features = getattr(features, "pooler_output", features)
            features = torch.nn.functional.normalize(features, dim=-1).mean(dim=0)
            rows.append(torch.nn.functional.normalize(features, dim=-1))
        return torch.stack(rows)  # (types, dim)

    def preprocess(self, image: Any) -> Any:
        """Resize the short side to the model's size, centre-crop and normalise, like
        CLIPImageProcessor (done by hand so no torchvision is needed)."""
        import torch
        from PIL import Image as PILImage

        array = np.asarray(getattr(image, "pixels", image))
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        picture = PILImage.fromarray(np.ascontiguousarray(array[..., :3]))
        size = self.image_size
        scale = size / min(picture.size)
        width, height = (max(size, round(s * scale)) for s in picture.size)
        picture = picture.resize((width, height), PILImage.Resampling.BICUBIC)
        left, top = (width - size) // 2, (height - size) // 2
        picture = picture.crop((left, top, left + size, top + size))
        pixels = np.asarray(picture, dtype=np.float32) / np.float32(255.0)
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        normalised = ((pixels - mean) / std).astype(np.float32)
        return torch.from_numpy(normalised.transpose(2, 0, 1)).unsqueeze(0).to(self.device)

    def probabilities(self, image: Any) -> dict[str, float]:
        """P(type present) for every degradation type."""
        import torch

        with self._lock, torch.inference_mode():
            features = self.model.get_image_features(pixel_values=self.preprocess(image))
            features = getattr(features, "pooler_output", features)
            features = torch.nn.functional.normalize(features, dim=-1)[0]
            scale = self.model.logit_scale.exp()
            logits = torch.stack([self._present @ features, self._absent @ features], dim=1)
            probs = torch.softmax(scale * logits, dim=1)[:, 0].float().cpu().numpy()
        return {kind: float(p) for kind, p in zip(DEGRADATION_TYPES, probs, strict=True)}

    def detect(self, image: Any) -> tuple[list[Degradation], dict[str, float]]:
        """Types whose probability clears the threshold (most confident first), and the
        probability of every type."""
        probs = self.probabilities(image)
        found = [Degradation(k, p, p) for k, p in probs.items() if p >= self.threshold]
        return sorted(found, key=lambda d: -d.confidence), probs

    def classify(self, image: Any) -> list[Degradation]:
        """Types whose probability clears the threshold, most confident first."""
        return self.detect(image)[0]
