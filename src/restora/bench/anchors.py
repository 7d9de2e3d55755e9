"""Published anchor networks for the benchmark, by name (bench-only; never imported by the
expert registry). Weights come from ``<data>/anchors`` and are never shipped.

Each anchor says which data sets it applies to and how it is called: grey DnCNNs on the grey
denoising sets of their sigma, the colour blind CDnCNN-B and FFDNet (given the true sigma, as
published) on CBSD68, PReNet/PRN on the rain sets, and CBM3D given the true sigma.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from restora.errors import NotAvailableError, UnknownNameError

AnchorRun = Callable[[np.ndarray, dict[str, Any]], np.ndarray]


@dataclass(frozen=True)
class Anchor:
    """A published method run side by side with the experts."""

    name: str
    task: str
    datasets: tuple[str, ...]
    weights: str
    loader: str
    description: str
    published: dict[str, float]

    def applies_to(self, dataset: str) -> bool:
        return dataset in self.datasets


_GREY = ("bsd68", "set12")
ANCHORS: dict[str, Anchor] = {
    "dncnn_kair_25": Anchor(
        "dncnn_kair_25",
        "denoise",
        tuple(f"{p}_sigma25" for p in _GREY),
        "KAIR/dncnn_25.pth",
        "kair_dncnn",
        "DnCNN grey sigma 25 (KAIR, 17 layers)",
        {"bsd68_sigma25": 29.23},
    ),
    **{
        f"dncnn_s{s}": Anchor(
            f"dncnn_s{s}",
            "denoise",
            tuple(f"{p}_sigma{s}" for p in _GREY),
            f"SaoYan_DnCNN-PyTorch/DnCNN-S-{s}.pth",
            "saoyan_dncnn",
            f"DnCNN-S grey sigma {s} (SaoYan, 17 layers with BN)",
            {f"bsd68_sigma{s}": v},
        )
        for s, v in ((15, 31.73), (25, 29.23), (50, 26.23))
    },
    "cdncnn_b": Anchor(
        "cdncnn_b",
        "denoise",
        ("cbsd68_sigma15", "cbsd68_sigma25", "cbsd68_sigma50"),
        "cszn_DnCNN_matconvnet/CDnCNN-B_GD_Color_Blind.mat",
        "matconvnet_residual",
        "CDnCNN-B colour blind (MatConvNet)",
        {"cbsd68_sigma15": 33.90, "cbsd68_sigma25": 31.24, "cbsd68_sigma50": 27.95},
    ),
    "ffdnet_color": Anchor(
        "ffdnet_color",
        "denoise",
        ("cbsd68_sigma15", "cbsd68_sigma25", "cbsd68_sigma50"),
        "cszn_FFDNet_matconvnet/FFDNet_color.mat",
        "matconvnet_ffdnet",
        "FFDNet colour, true sigma (MatConvNet)",
        {"cbsd68_sigma15": 33.87, "cbsd68_sigma25": 31.21, "cbsd68_sigma50": 27.96},
    ),
    "ffdnet_gray": Anchor(
        "ffdnet_gray",
        "denoise",
        tuple(f"{p}_sigma{s}" for p in _GREY for s in (15, 25, 50)),
        "cszn_FFDNet_matconvnet/FFDNet_gray.mat",
        "matconvnet_ffdnet",
        "FFDNet grey, true sigma (MatConvNet)",
        {"bsd68_sigma15": 31.63, "bsd68_sigma25": 29.19, "bsd68_sigma50": 26.29},
    ),
    "cbm3d_known_sigma": Anchor(
        "cbm3d_known_sigma",
        "denoise",
        ("cbsd68_sigma15", "cbsd68_sigma25", "cbsd68_sigma50"),
        "",
        "cbm3d",
        "CBM3D given the true sigma (bm3d package)",
        {"cbsd68_sigma15": 33.52, "cbsd68_sigma25": 30.71, "cbsd68_sigma50": 27.38},
    ),
    "prenet": Anchor(
        "prenet",
        "derain",
        ("rain100l", "rain100h"),
        "PReNet_Rain100L/PReNet6_net_latest.pth",
        "prenet",
        "PReNet (6 stages, trained on Rain100L)",
        {},
    ),
    "prn": Anchor(
        "prn",
        "derain",
        ("rain100l", "rain100h"),
        "PReNet_Rain100L/PRN6_net_latest.pth",
        "prn",
        "PRN (PReNet without recurrence, Rain100L)",
        {},
    ),
}


def anchors_for(dataset: str) -> list[Anchor]:
    return [a for a in ANCHORS.values() if a.applies_to(dataset)]


@lru_cache(maxsize=16)
def _network(loader: str, path: str) -> Any:
    from restora.bench import anchor_archs as archs

    weights = Path(path)
    if loader == "kair_dncnn":
        return archs.load_kair_dncnn(weights)
    if loader == "saoyan_dncnn":
        return archs.load_saoyan_dncnn(weights)
    if loader == "matconvnet_residual":
        return archs.load_matconvnet(weights, residual=True)
    if loader == "matconvnet_ffdnet":
        return archs.load_matconvnet(weights, residual=False)
    if loader in ("prenet", "prn"):
        return archs.load_prenet(weights, recurrent=loader == "prenet")
    raise ValueError(f"unknown anchor loader {loader!r}")


def _torch_run(net: Any, image: np.ndarray, **kwargs: Any) -> np.ndarray:
    import torch

    array = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]
    with torch.inference_mode():
        y = net(x, **kwargs)[0].numpy()
    return y[0] if image.ndim == 2 else y.transpose(1, 2, 0)


def run_anchor(name: str, image: np.ndarray, meta: dict[str, Any], data_dir: Path) -> np.ndarray:
    """Restore ``image`` (float32 (H, W) or (H, W, 3)) with the anchor ``name``."""
    if name not in ANCHORS:
        raise UnknownNameError("anchor", name, list(ANCHORS))
    anchor = ANCHORS[name]
    if anchor.loader == "cbm3d":
        import bm3d

        sigma = float(meta["sigma"]) / 255.0
        out = bm3d.bm3d_rgb(image.astype(np.float64), sigma) if image.ndim == 3 else None
        if out is None:
            out = bm3d.bm3d(image.astype(np.float64), sigma)
        return np.clip(np.asarray(out, np.float32), 0.0, 1.0)
    path = data_dir / "anchors" / anchor.weights
    if not path.is_file():
        raise NotAvailableError(f"anchor weights {path} not found")
    net = _network(anchor.loader, str(path))
    if anchor.loader == "matconvnet_ffdnet":
        h, w = image.shape[:2]
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, pad, mode="edge")
        out = _torch_run(net, padded, sigma=float(meta["sigma"]))[:h, :w]
    else:
        out = _torch_run(net, image)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
