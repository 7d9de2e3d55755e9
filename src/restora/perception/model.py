"""The analyzer's vision tower: native-resolution crops + a small whole-image view + measured
statistics, fused into one degradation embedding aligned with the MiniLM text space.

Why this shape: noise, JPEG blocks and fine blur live in pixels that any downscaling destroys,
so a crop branch looks at K crops at native resolution (weights shared, pooled by mean and max
across crops); haze, exposure and reflections are global, so a second branch sees the whole
image at ``thumb_size``; classical statistics (``features.py``) give both branches measurements
that a small network would otherwise need much data to learn. The fused vector is the
*degradation embedding* restorers can be conditioned on; a linear projection maps it into the
384-d all-MiniLM-L6-v2 space for CLIP-style alignment with captions, and small heads give
per-type presence, per-type severity and an overall quality score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from restora.perception.features import (
    GLOBAL_STAT_NAMES,
    LOCAL_STAT_NAMES,
    SPECTRAL_STAT_NAMES,
    global_statistics,
    local_statistics,
    spectral_statistics,
)
from restora.vocabulary import DEGRADATION_TYPES


@dataclass(frozen=True)
class AnalyzerConfig:
    """Architecture of :class:`DegradationAnalyzer`; saved next to its weights."""

    crop_size: int = 64
    crops_train: int = 6
    crops_infer: int = 16
    thumb_size: int = 128
    width: int = 24
    embed_dim: int = 256
    text_dim: int = 384
    types: tuple[str, ...] = DEGRADATION_TYPES
    spectral: bool = False  # also the crops' spectral statistics (False in configs before them)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["types"] = list(self.types)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AnalyzerConfig:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "types" in fields:
            fields["types"] = tuple(fields["types"])  # type: ignore[arg-type]
        return cls(**fields)  # type: ignore[arg-type]


def conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.GELU(),
    )


class CropEncoder(nn.Module):
    """Per-crop CNN; the first layer keeps full resolution so pixel noise is seen."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            conv_block(3, w, 1),
            conv_block(w, w, 2),
            conv_block(w, 2 * w, 2),
            conv_block(2 * w, 2 * w, 1),
            conv_block(2 * w, 4 * w, 2),
            conv_block(4 * w, 4 * w, 2),
        )
        self.out_dim = 8 * w  # mean and std pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return torch.cat([h.mean(dim=(2, 3)), h.std(dim=(2, 3))], dim=1)


class ThumbEncoder(nn.Module):
    """CNN over the whole image at low resolution (global illumination, haze, layout)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            conv_block(3, w, 2),
            conv_block(w, 2 * w, 2),
            conv_block(2 * w, 2 * w, 1),
            conv_block(2 * w, 4 * w, 2),
            conv_block(4 * w, 4 * w, 2),
        )
        self.out_dim = 8 * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)


class DegradationAnalyzer(nn.Module):
    """crops (B, K, 3, c, c) + thumb (B, 3, t, t) -> dict of embedding, logits, severity, quality."""

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        super().__init__()
        self.config = config or AnalyzerConfig()
        cfg = self.config
        self.crop_encoder = CropEncoder(cfg.width)
        self.thumb_encoder = ThumbEncoder(cfg.width)
        n_stats = len(LOCAL_STAT_NAMES) + len(GLOBAL_STAT_NAMES)
        if cfg.spectral:
            n_stats += len(SPECTRAL_STAT_NAMES)
        self.stats_norm = nn.BatchNorm1d(n_stats)
        fused = 2 * self.crop_encoder.out_dim + self.thumb_encoder.out_dim + n_stats
        self.fuse = nn.Sequential(
            nn.Linear(fused, 2 * cfg.embed_dim),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(2 * cfg.embed_dim, cfg.embed_dim),
        )
        n_types = len(cfg.types)
        self.presence_head = nn.Linear(cfg.embed_dim, n_types)
        self.severity_head = nn.Linear(cfg.embed_dim, n_types)
        self.quality_head = nn.Linear(cfg.embed_dim, 1)
        self.text_projection = nn.Linear(cfg.embed_dim, cfg.text_dim, bias=False)
        # CLIP's learnable temperature, initialised to 1/0.07
        self.logit_scale = nn.Parameter(torch.tensor(2.659))

    def forward(self, crops: torch.Tensor, thumb: torch.Tensor) -> dict[str, torch.Tensor]:
        b, k, c, h, w = crops.shape
        with torch.no_grad():
            parts = [local_statistics(crops), global_statistics(thumb)]
            if self.config.spectral:
                parts.append(spectral_statistics(crops))
            stats = torch.cat(parts, dim=1)
        per_crop = self.crop_encoder(crops.reshape(b * k, c, h, w)).reshape(b, k, -1)
        crop_features = torch.cat([per_crop.mean(dim=1), per_crop.amax(dim=1)], dim=1)
        features = torch.cat(
            [crop_features, self.thumb_encoder(thumb), self.stats_norm(stats)], dim=1
        )
        embedding = self.fuse(features)
        return {
            "embedding": embedding,
            "presence_logits": self.presence_head(embedding),
            "severity": torch.sigmoid(self.severity_head(embedding)),
            "quality": torch.sigmoid(self.quality_head(embedding)).squeeze(1) * 100.0,
            "text_embedding": F.normalize(self.text_projection(embedding), dim=-1),
        }


def load_grown(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Load ``state`` into ``model`` where the model has grown since (e.g. more statistics):
    a tensor whose shape differs fills the leading slice of the new one, and the new input
    columns of the first fusion layer start at zero, so the grown model computes exactly what
    the old one did until training uses the new inputs. Returns the names that were grown."""
    own = model.state_dict()
    grown = []
    with torch.no_grad():
        for name, value in state.items():
            target = own[name]
            if target.shape == value.shape:
                target.copy_(value)
                continue
            if target.dim() != value.dim() or any(
                a < b for a, b in zip(target.shape, value.shape, strict=True)
            ):
                raise ValueError(
                    f"{name}: cannot grow {tuple(value.shape)} into {tuple(target.shape)}"
                )
            if name.endswith("weight") and target.dim() == 2:
                target.zero_()
            target[tuple(slice(0, n) for n in value.shape)] = value
            grown.append(name)
    model.load_state_dict(own)
    return grown
