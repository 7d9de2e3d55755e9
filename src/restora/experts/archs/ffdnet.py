"""FFDNet (Zhang, Zuo & Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image
Denoising", IEEE TIP 2018), as KAIR's ``models/network_ffdnet.py`` defines it.

The image is split into four half-resolution sub-images (pixel unshuffle by 2), a constant
noise-level map (sigma / 255) is put beside them, ``depth`` plain 3x3 convolutions with ReLU
between them (no batch norm: the released weights have it folded away) predict the clean
sub-images, and a pixel shuffle puts them back together. The map makes one network cover every
noise level, and the level a user or an estimate chooses sets how strongly it denoises.

The module names (``model.0``, ``model.2``...) are KAIR's, so its released state dicts load
with ``strict=True``: the colour model ``ffdnet_color.pth`` is ``channels=3, width=96,
depth=12``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class FFDNetConfig:
    """Size of an :class:`FFDNet` (KAIR's ``in_nc``/``out_nc``, ``nc`` and ``nb``)."""

    channels: int = 3
    width: int = 96
    depth: int = 12
    """All convolutions, head and tail included (KAIR's ``nb``)."""


class FFDNet(nn.Module):
    """``forward(x, sigma)``: ``x`` (N, C, H, W) in [0, 1], ``sigma`` the noise level in [0, 1]
    units (8-bit sigma / 255): a number, or a tensor of one value per image (N,) or (N, 1, 1, 1).
    Odd sides are replicate-padded to even and cropped back, as KAIR does."""

    def __init__(self, config: FFDNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or FFDNetConfig()
        if config.depth < 2:
            raise ValueError(f"FFDNet needs depth >= 2, got {config.depth}")
        layers: list[nn.Module] = [
            nn.Conv2d(4 * config.channels + 1, config.width, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(config.depth - 2):
            layers += [nn.Conv2d(config.width, config.width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(config.width, 4 * config.channels, 3, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = F.pad(x, (0, width % 2, 0, height % 2), mode="replicate")
        x = F.pixel_unshuffle(x, 2)
        level = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
        noise_map = level.expand(x.shape[0], 1, *x.shape[-2:])
        y = self.model(torch.cat((x, noise_map), dim=1))
        return F.pixel_shuffle(y, 2)[..., :height, :width]
