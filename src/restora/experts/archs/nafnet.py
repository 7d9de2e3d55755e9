"""NAFNet-style U-Net and its embedding-conditioned variant.

NAFNet (Chen, Chu, Zhang, Sun, "Simple Baselines for Image Restoration", ECCV 2022) replaces
attention and non-linear activations with a SimpleGate (the product of two channel halves) and a
simplified channel attention (global pooling + 1x1 convolution): no attention over the full
resolution, so it is fast on a CPU and tiles cleanly. Written here in plain torch (no basicsr,
which needs torchvision); LayerNorm2d is expressed with mean/var so that it exports to ONNX.

The conditioned variant follows InstructIR (Conde, Geigle, Timofte, ECCV 2024): an embedding
vector (the MiniLM embedding of an instruction, or the analyzer's degradation embedding) is
projected once to a code, and every encoder/decoder stage multiplies its features by channel
gates computed from that code (``x * sigmoid(W c)``), so the same weights behave differently
per degradation. With ``cond_dim = 0`` it is a plain NAFNet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class NAFNetConfig:
    """Size and conditioning of a :class:`NAFNet` (saved as JSON beside the weights)."""

    width: int = 24
    enc_blocks: tuple[int, ...] = (1, 1, 2, 4)
    middle_blocks: int = 2
    dec_blocks: tuple[int, ...] = (1, 1, 1, 1)
    in_channels: int = 3
    cond_dim: int = 0
    """Length of the conditioning embedding (384 for MiniLM); 0 = unconditioned."""
    cond_code: int = 128
    """Width of the shared code the embedding is projected to before the per-stage gates."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def size_multiple(self) -> int:
        return 2 ** len(self.enc_blocks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["enc_blocks"] = list(self.enc_blocks)
        data["dec_blocks"] = list(self.dec_blocks)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NAFNetConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("enc_blocks", "dec_blocks"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


SIZES: dict[str, NAFNetConfig] = {
    # 20 k parameters, two levels: smoke runs and tests of the training loop, never shipped
    "tiny": NAFNetConfig(width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1)),
    "small": NAFNetConfig(
        width=16, enc_blocks=(1, 1, 1, 2), middle_blocks=2, dec_blocks=(1, 1, 1, 1)
    ),
    "base": NAFNetConfig(
        width=24, enc_blocks=(1, 1, 1, 2), middle_blocks=2, dec_blocks=(1, 1, 1, 1)
    ),
}
"""``small`` 1.7 M parameters (6.9 MB), ``base`` 3.8 M (15 MB). Most parameters sit in the
coarse levels (channels double per level), most compute in the fine ones: a training step of
16 x 64 px crops takes ~0.23 s (small) and ~0.38 s (base) on 2 CPU cores."""


class LayerNorm2d(nn.Module):
    """Per-pixel LayerNorm over channels (NCHW)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        y = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """NAFNet's block: LN -> 1x1 -> depthwise 3x3 -> SimpleGate -> SCA -> 1x1, then an FFN."""

    def __init__(self, channels: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = channels * dw_expand
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.gate = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv3 = nn.Conv2d(dw // 2, channels, 1)
        ffn = channels * ffn_expand
        self.norm2 = LayerNorm2d(channels)
        self.conv4 = nn.Conv2d(channels, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, channels, 1)
        # Zero-initialised residual scales (as NAFNet): each block starts as the identity.
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gate(self.conv2(self.conv1(self.norm1(x))))
        y = self.conv3(y * self.sca(y))
        x = x + y * self.beta
        y = self.conv5(self.gate(self.conv4(self.norm2(x))))
        return x + y * self.gamma


class NAFNet(nn.Module):
    """U-Net of NAF blocks predicting a residual; optionally gated by an embedding.

    ``forward(x, cond=None)``: ``x`` NCHW in [0, 1] with H, W multiples of
    ``config.size_multiple`` (the expert wrapper pads); ``cond`` (N, cond_dim) when conditioned.
    """

    def __init__(self, config: NAFNetConfig | None = None) -> None:
        super().__init__()
        cfg = config or NAFNetConfig()
        self.config = cfg
        width = cfg.width
        self.intro = nn.Conv2d(cfg.in_channels, width, 3, padding=1)
        self.ending = nn.Conv2d(width, cfg.in_channels, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        enc_channels: list[int] = []
        channels = width
        for count in cfg.enc_blocks:
            self.encoders.append(nn.Sequential(*[NAFBlock(channels) for _ in range(count)]))
            enc_channels.append(channels)
            self.downs.append(nn.Conv2d(channels, channels * 2, 2, stride=2))
            channels *= 2
        self.middle = nn.Sequential(*[NAFBlock(channels) for _ in range(cfg.middle_blocks)])
        for count in cfg.dec_blocks:
            # 1x1 conv + PixelShuffle upsampling, as NAFNet.
            self.ups.append(
                nn.Sequential(nn.Conv2d(channels, channels * 2, 1, bias=False), nn.PixelShuffle(2))
            )
            channels //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(channels) for _ in range(count)]))
        self.conditioned = cfg.cond_dim > 0
        if self.conditioned:
            self.cond_proj = nn.Sequential(
                nn.Linear(cfg.cond_dim, cfg.cond_code),
                nn.GELU(),
                nn.Linear(cfg.cond_code, cfg.cond_code),
            )
            stage_channels = [*enc_channels, enc_channels[-1] * 2, *enc_channels[::-1]]
            gates = [nn.Linear(cfg.cond_code, c) for c in stage_channels]
            for gate in gates:
                # Start at sigmoid(0)*2 = 1: the conditioned net begins as the plain one.
                nn.init.zeros_(gate.weight)
                nn.init.zeros_(gate.bias)
            self.gates = nn.ModuleList(gates)

    def _gate(self, x: torch.Tensor, code: torch.Tensor | None, index: int) -> torch.Tensor:
        if code is None:
            return x
        scale = 2.0 * torch.sigmoid(self.gates[index](code))
        return x * scale[:, :, None, None]

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        code = None
        if self.conditioned:
            if cond is None:
                raise ValueError("this NAFNet is conditioned: pass cond (N, cond_dim)")
            code = self.cond_proj(cond.to(x.dtype))
        feat = self.intro(x)
        skips: list[torch.Tensor] = []
        stage = 0
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            feat = self._gate(encoder(feat), code, stage)
            stage += 1
            skips.append(feat)
            feat = down(feat)
        feat = self._gate(self.middle(feat), code, stage)
        stage += 1
        for up, decoder, skip in zip(self.ups, self.decoders, skips[::-1], strict=True):
            feat = self._gate(decoder(up(feat) + skip), code, stage)
            stage += 1
        return x + self.ending(feat)


def build(config: NAFNetConfig | dict[str, Any] | str) -> NAFNet:
    """A network from a config, its dict (JSON), or a size name in :data:`SIZES`."""
    if isinstance(config, str):
        if config not in SIZES:
            from restora.errors import UnknownNameError

            raise UnknownNameError("NAFNet size", config, list(SIZES))
        config = SIZES[config]
    elif isinstance(config, dict):
        config = NAFNetConfig.from_dict(config)
    return NAFNet(config)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad NCHW ``x`` on the bottom/right to a multiple; returns the original H, W."""
    height, width = x.shape[-2:]
    ph, pw = (-height) % multiple, (-width) % multiple
    if ph or pw:
        mode = "reflect" if ph < height and pw < width else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (height, width)


def upsample(image: torch.Tensor, scale: int, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Bicubic pre-upsampling of NCHW (torch, a = -0.75 as OpenCV), used in training and use."""
    if size is None:
        size = (image.shape[-2] * scale, image.shape[-1] * scale)
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
