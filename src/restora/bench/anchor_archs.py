"""Architectures of the published anchor networks, for side-by-side benchmarks only.

Bench-only code: never imported by the expert registry. Each network is rebuilt from its
weights file so the layer counts come from the file, not from a guess:

- DnCNN (Zhang et al., TIP 2017): KAIR's ``dncnn_25.pth`` (17 convs, BatchNorm merged into the
  convs, keys ``model.2k``) and SaoYan's DnCNN-PyTorch ``DnCNN-S-*`` (conv, then conv+BN+ReLU
  blocks, conv; keys ``module.dncnn.N``). Both predict the noise: clean = noisy - net(noisy).
- MatConvNet ``simplenn`` networks (CDnCNN-B, FFDNet; Zhang et al. 2017/2018), read from the
  MATLAB v7.3 (HDF5) files with h5py: ``net.layers`` is a cell array of structs with ``type``
  (``conv``/``relu``/``SubP``/``concat``) and ``weights`` {W, b}. MATLAB stores W as
  (kh, kw, in, out) column-major, which h5py shows reversed as (out, in, kw, kh), so a torch
  weight is ``W.transpose(0, 1, 3, 2)``; the image axes are (H, W) in both.
- PReNet / PRN (Ren et al., CVPR 2019): the official ``networks.py`` structure (6 recurrent
  stages, 5 residual blocks, ConvLSTM in PReNet), input RGB in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class PlainDnCNN(nn.Module):
    """DnCNN with BatchNorm merged (KAIR): conv-ReLU x (depth-1), conv; residual output."""

    def __init__(self, depth: int, in_channels: int = 1, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, features, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(features, in_channels, 3, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.model(x)


class BatchNormDnCNN(nn.Module):
    """SaoYan's DnCNN: conv(no bias)-ReLU, (conv-BN-ReLU) x (depth-2), conv; residual."""

    def __init__(self, depth: int, in_channels: int = 1, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, features, 3, padding=1, bias=False),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(features, features, 3, padding=1, bias=False),
                nn.BatchNorm2d(features),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(features, in_channels, 3, padding=1, bias=False))
        self.dncnn = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.dncnn(x)


def load_kair_dncnn(path: Path) -> PlainDnCNN:
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    convs = sorted({int(k.split(".")[1]) for k in state if k.endswith(".weight")})
    net = PlainDnCNN(depth=len(convs), in_channels=int(state["model.0.weight"].shape[1]))
    net.load_state_dict(state)
    return net.eval()


def load_saoyan_dncnn(path: Path) -> BatchNormDnCNN:
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    state = {k.replace("module.", "", 1): v for k, v in state.items()}
    convs = [k for k, v in state.items() if k.endswith(".weight") and v.ndim == 4]
    net = BatchNormDnCNN(depth=len(convs), in_channels=int(state["dncnn.0.weight"].shape[1]))
    net.load_state_dict(state)
    return net.eval()


# ------------------------------------------------------------------------- MatConvNet simplenn


def _matlab_string(dataset: Any) -> str:
    return "".join(chr(int(c)) for c in np.asarray(dataset).ravel())


def read_matconvnet_layers(path: Path) -> list[dict[str, Any]]:
    """``net.layers`` of a MATLAB v7.3 MatConvNet file as dicts: type, weights (numpy), scale."""
    import h5py

    layers: list[dict[str, Any]] = []
    with h5py.File(path, "r") as f:
        refs = f["net/layers"]
        for i in range(refs.shape[0]):
            group = f[refs[i, 0]]
            layer: dict[str, Any] = {"type": _matlab_string(group["type"])}
            if "weights" in group and group["weights"].dtype == object:
                layer["weights"] = [np.asarray(f[r]) for r in np.asarray(group["weights"]).ravel()]
            if "scale" in group:
                layer["scale"] = float(np.asarray(group["scale"]).ravel()[0])
            if "pad" in group:
                layer["pad"] = int(np.asarray(group["pad"]).ravel()[0])
            layers.append(layer)
    return layers


def _conv_from_matlab(weights: list[np.ndarray], pad: int) -> nn.Conv2d:
    w = torch.from_numpy(np.ascontiguousarray(weights[0].transpose(0, 1, 3, 2)))
    conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=pad)
    bias = torch.from_numpy(np.ascontiguousarray(weights[1].ravel()))
    conv.load_state_dict({"weight": w, "bias": bias})
    return conv


def _swap_subpixel_axes(x: torch.Tensor) -> torch.Tensor:
    n, c4, h, w = x.shape
    return x.reshape(n, c4 // 4, 2, 2, h, w).transpose(2, 3).reshape(n, c4, h, w)


def pixel_unshuffle_matconvnet(x: torch.Tensor) -> torch.Tensor:
    """MatConvNet ``vl_nnSubP`` with scale 1/2: channel ``c*4 + dx*2 + dy`` (MATLAB's
    column-major order, row offset fastest) where torch uses ``c*4 + dy*2 + dx``. Checked on
    CBSD68: torch's order loses 1.7 dB with FFDNet, this one matches the published figure."""
    return _swap_subpixel_axes(F.pixel_unshuffle(x, 2))


def pixel_shuffle_matconvnet(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`pixel_unshuffle_matconvnet` (``vl_nnSubP`` with scale 2)."""
    return F.pixel_shuffle(_swap_subpixel_axes(x), 2)


class MatConvNetSimpleNN(nn.Module):
    """A MatConvNet ``simplenn`` chain of conv/relu (+ FFDNet's SubP and noise-map concat).

    ``residual=True``: the network predicts the noise (DnCNN); FFDNet predicts the image.
    """

    def __init__(self, layers: list[dict[str, Any]], residual: bool) -> None:
        super().__init__()
        self.kinds = [layer["type"] for layer in layers]
        self.residual = residual
        self.convs = nn.ModuleList(
            _conv_from_matlab(layer["weights"], layer.get("pad", 1))
            for layer in layers
            if layer["type"] == "conv"
        )

    def forward(self, x: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
        y, conv_index = x, 0
        for kind in self.kinds:
            if kind == "conv":
                y = self.convs[conv_index](y)
                conv_index += 1
            elif kind == "relu":
                y = F.relu(y)
            elif kind == "SubP" and y.shape[1] == x.shape[1]:
                y = pixel_unshuffle_matconvnet(y)
            elif kind == "SubP":
                y = pixel_shuffle_matconvnet(y)
            elif kind == "concat":
                level = torch.full_like(y[:, :1], float(sigma or 0.0) / 255.0)
                y = torch.cat([y, level], dim=1)
            else:
                raise ValueError(f"unsupported MatConvNet layer type {kind!r}")
        return x - y if self.residual else y


def load_matconvnet(path: Path, residual: bool) -> MatConvNetSimpleNN:
    return MatConvNetSimpleNN(read_matconvnet_layers(path), residual=residual).eval()


# ------------------------------------------------------------------------------- PReNet / PRN


def _block() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU()
    )


class PReNet(nn.Module):
    """Progressive recurrent deraining network; ``recurrent=False`` is PRN (no ConvLSTM)."""

    def __init__(self, iterations: int = 6, recurrent: bool = True) -> None:
        super().__init__()
        self.iterations, self.recurrent = iterations, recurrent
        self.conv0 = nn.Sequential(nn.Conv2d(6, 32, 3, 1, 1), nn.ReLU())
        self.res_conv1, self.res_conv2, self.res_conv3 = _block(), _block(), _block()
        self.res_conv4, self.res_conv5 = _block(), _block()
        if recurrent:
            self.conv_i = nn.Sequential(nn.Conv2d(64, 32, 3, 1, 1), nn.Sigmoid())
            self.conv_f = nn.Sequential(nn.Conv2d(64, 32, 3, 1, 1), nn.Sigmoid())
            self.conv_g = nn.Sequential(nn.Conv2d(64, 32, 3, 1, 1), nn.Tanh())
            self.conv_o = nn.Sequential(nn.Conv2d(64, 32, 3, 1, 1), nn.Sigmoid())
        self.conv = nn.Sequential(nn.Conv2d(32, 3, 3, 1, 1))

    def forward(self, rainy: torch.Tensor) -> torch.Tensor:
        x = rainy
        h = torch.zeros(rainy.shape[0], 32, *rainy.shape[2:], device=rainy.device)
        c = torch.zeros_like(h)
        for _ in range(self.iterations):
            x = self.conv0(torch.cat((rainy, x), 1))
            if self.recurrent:
                xh = torch.cat((x, h), 1)
                i, f = self.conv_i(xh), self.conv_f(xh)
                g, o = self.conv_g(xh), self.conv_o(xh)
                c = f * c + i * g
                h = o * torch.tanh(c)
                x = h
            for block in (
                self.res_conv1,
                self.res_conv2,
                self.res_conv3,
                self.res_conv4,
                self.res_conv5,
            ):
                x = F.relu(block(x) + x)
            x = self.conv(x) + rainy
        return x


def load_prenet(path: Path, recurrent: bool) -> PReNet:
    net = PReNet(recurrent=recurrent)
    net.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
    return net.eval()
