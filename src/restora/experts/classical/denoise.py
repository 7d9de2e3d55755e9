"""Denoising: CBM3D (the ``bm3d`` package) and OpenCV's fast non-local means, both blind by
default (sigma from the Immerkaer noise estimate on the whole image)."""

from __future__ import annotations

import cv2
import numpy as np

from restora.experts.base import CrossTask, Expert
from restora.experts.classical._common import on_8bit_levels, prepare_noise_sigma

NLM_H_PER_SIGMA = 0.6
"""OpenCV's filter strength h per unit of noise sigma (8-bit). Chosen on BSDS500 *train*
images (sigma 15/25/50, 4 images): PSNR peaks at 0.6 of sigma (0.5-0.6 at sigma 50)."""


def _nlm(image: np.ndarray, sigma: float | None = None, strength: float = 1.0) -> np.ndarray:
    sigma = float(sigma or 0.0)
    if sigma < 0.5:
        return image
    h = max(NLM_H_PER_SIGMA * sigma * strength, 1.0)
    # larger search windows pay off at high noise (Buades et al. 2011, IPOL parameter table)
    search = 21 if sigma <= 30 else 35
    patch = 5 if sigma <= 25 else 7
    # OpenCV's NLM takes 8-bit levels only: its change is applied to the full-precision input
    return on_8bit_levels(
        image, lambda levels: cv2.fastNlMeansDenoisingColored(levels, None, h, h, patch, search)
    )


def _cbm3d(image: np.ndarray, sigma: float | None = None, strength: float = 1.0) -> np.ndarray:
    import bm3d

    sigma = float(sigma or 0.0)
    if sigma < 0.5:
        return image
    sigma_psd = strength * sigma / 255.0
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
        image[..., 0], image[..., 2]
    ):
        # a grey image: the opponent transform's chroma planes are constant and bm3d_rgb divides
        # by their zero range, so run grey BM3D on the one plane
        grey = bm3d.bm3d(image[..., 0].astype(np.float64), sigma_psd)
        return np.repeat(np.asarray(grey, dtype=np.float32)[..., None], 3, axis=2)
    out = bm3d.bm3d_rgb(image.astype(np.float64), sigma_psd=sigma_psd)
    return np.asarray(out, dtype=np.float32)


def nlm() -> Expert:
    return Expert(
        name="nlm",
        task="denoise",
        backend="classical",
        run=_nlm,
        prepare=prepare_noise_sigma,
        params={"sigma": None, "strength": 1.0},
        needs=("noise_sigma",),
        tile_size=1024,
        tile_overlap=96,
        description="Fast non-local means (OpenCV, colour in Lab); blind sigma estimate.",
        reference="Buades, Coll & Morel, CVPR 2005",
        rank=20,
        side_effects=frozenset({"blur", "reflection"}),  # smoothing reads as blur and veil
        from_analysis={"sigma": "noise_sigma"},
        # JPEG error treated as noise with the sigma its quality implies (Foi et al. 2007): a
        # fast stand-in for bm3d_deblock
        also_serves=(CrossTask("dejpeg", rank=25, from_analysis={"sigma": "jpeg_noise_sigma"}),),
        licence="Apache-2.0 (OpenCV)",
        precision="uint8",
    )


def cbm3d() -> Expert:
    return Expert(
        name="cbm3d",
        task="denoise",
        backend="classical",
        run=_cbm3d,
        prepare=prepare_noise_sigma,
        params={"sigma": None, "strength": 1.0},
        needs=("noise_sigma",),
        tile_size=512,
        tile_overlap=64,
        description="Colour BM3D (bm3d package, opponent colour space); slow, strong.",
        reference="Dabov et al., ICIP 2007 (CBM3D)",
        rank=30,
        side_effects=frozenset({"blur", "reflection"}),  # smoothing reads as blur and veil
        from_analysis={"sigma": "noise_sigma"},
        licence="bm3d package licence (non-commercial)",
        min_size=16,  # 8-px blocks: smaller fails in bm3d (7 px) or crashes it (8 px)
    )
