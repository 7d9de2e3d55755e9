"""Deblurring: Wiener and Richardson-Lucy deconvolution (scikit-image) with blind kernel
estimates from :mod:`restora.experts.estimate` (Gaussian/defocus from the re-blur gradient
ratio, linear motion from the cepstrum).

Deconvolution in the Fourier domain assumes a periodic image; we reflect-pad by the kernel
size first so the wrap-around does not ring at the borders.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.experts.base import Expert
from restora.experts.estimate import (
    estimate_gaussian_blur_sigma,
    estimate_motion_blur,
    gaussian_kernel,
    motion_kernel,
)
from restora.quality.statistics import estimate_noise_sigma


def _prepare_gaussian(image: np.ndarray, **params: Any) -> dict[str, Any]:
    out = dict(params)
    if out.get("blur_sigma") is None:
        out["blur_sigma"] = estimate_gaussian_blur_sigma(image)
    if "noise_sigma" in out and out.get("noise_sigma") is None:
        out["noise_sigma"] = estimate_noise_sigma(image)
    return out


def _prepare_motion(image: np.ndarray, **params: Any) -> dict[str, Any]:
    out = dict(params)
    if out.get("length") is None or out.get("angle") is None:
        length, angle = estimate_motion_blur(image)
        out["length"] = out.get("length") or length
        out["angle"] = angle if out.get("angle") is None else out["angle"]
    if out.get("noise_sigma") is None:
        out["noise_sigma"] = estimate_noise_sigma(image)
    return out


def _pad(image: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, int]:
    pad = 2 * max(kernel.shape)
    return np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect"), pad


def wiener_deconvolve(
    image: np.ndarray, kernel: np.ndarray, balance: float, regulariser: str = "laplacian"
) -> np.ndarray:
    """Per-channel Wiener deconvolution (scikit-image).

    ``regulariser="laplacian"`` (scikit-image's default) suits Gaussian blur, whose spectrum has
    no zeros; a motion blur's spectrum is zero at low frequencies too, where the Laplacian
    penalty vanishes, so it needs the identity (classic Wiener, constant noise-to-signal).
    """
    from skimage.restoration import wiener as skimage_wiener

    reg = np.ones((1, 1)) if regulariser == "identity" else None
    padded, pad = _pad(image, kernel)
    out = np.stack(
        [
            skimage_wiener(
                padded[..., c].astype(np.float64), kernel.astype(np.float64), balance, reg=reg
            )
            for c in range(padded.shape[2])
        ],
        axis=2,
    )
    return out[pad:-pad, pad:-pad].astype(np.float32)


def _balance(noise_sigma: float | None, strength: float) -> float:
    # the regulariser weight grows with the noise variance: a sweep on a 256x256 crop of
    # skimage's astronaut (Gaussian blur 1.5 and 3, noise 1-10) put the best balance near
    # 0.0008 * sigma^2 (sigma in 8-bit units); the floor keeps 8-bit quantisation from ringing
    sigma = max(float(noise_sigma or 0.0), 0.8)
    return float(np.clip(strength * 0.0008 * sigma**2, 5e-4, 0.5))


def _wiener(
    image: np.ndarray,
    blur_sigma: float | None = None,
    noise_sigma: float | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    if not blur_sigma or blur_sigma < 0.3:
        return image
    return wiener_deconvolve(image, gaussian_kernel(blur_sigma), _balance(noise_sigma, strength))


def _wiener_motion(
    image: np.ndarray,
    length: float | None = None,
    angle: float | None = None,
    noise_sigma: float | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    if not length or length < 2:
        return image
    kernel = motion_kernel(length, float(angle or 0.0))
    # same sweep as _balance with motion blurs (length 9-21, noise 0-5): best near
    # 0.008 + 0.001 * sigma^2 with the identity regulariser
    sigma = float(noise_sigma or 0.0)
    balance = float(np.clip(strength * (0.008 + 0.001 * sigma**2), 1e-3, 0.5))
    return wiener_deconvolve(image, kernel, balance, regulariser="identity")


def _richardson_lucy(
    image: np.ndarray, blur_sigma: float | None = None, iterations: int = 30
) -> np.ndarray:
    from skimage.restoration import richardson_lucy as skimage_rl

    if not blur_sigma or blur_sigma < 0.3:
        return image
    kernel = gaussian_kernel(blur_sigma)
    padded, pad = _pad(image, kernel)
    out = np.stack(
        [
            skimage_rl(padded[..., c].astype(np.float64), kernel, num_iter=int(iterations))
            for c in range(padded.shape[2])
        ],
        axis=2,
    )
    return out[pad:-pad, pad:-pad].astype(np.float32)


def wiener() -> Expert:
    return Expert(
        name="wiener",
        task="deblur",
        backend="classical",
        run=_wiener,
        prepare=_prepare_gaussian,
        params={"blur_sigma": None, "noise_sigma": None, "strength": 1.0},
        needs=("blur_kernel", "noise_sigma"),
        tile_size=1024,
        tile_overlap=128,
        description="Wiener deconvolution of a Gaussian/defocus blur; blind sigma estimate.",
        reference="Wiener 1949; blur estimate after Zhuo & Sim 2011",
        handles=("blur",),
        rank=20,
        side_effects=frozenset({"noise", "jpeg"}),  # deconvolution amplifies both
    )


def richardson_lucy() -> Expert:
    return Expert(
        name="richardson_lucy",
        task="deblur",
        backend="classical",
        run=_richardson_lucy,
        prepare=_prepare_gaussian,
        params={"blur_sigma": None, "iterations": 30},
        param_ranges={"iterations": (1, 500)},
        needs=("blur_kernel",),
        tile_size=1024,
        tile_overlap=128,
        description="Richardson-Lucy deconvolution of a Gaussian/defocus blur (scikit-image).",
        reference="Richardson 1972; Lucy 1974",
        rank=30,
        rank_for={"motion_blur": 24},
        side_effects=frozenset({"noise", "jpeg"}),  # deconvolution amplifies both
    )


def wiener_motion() -> Expert:
    return Expert(
        name="wiener_motion",
        task="deblur",
        backend="classical",
        run=_wiener_motion,
        prepare=_prepare_motion,
        params={"length": None, "angle": None, "noise_sigma": None, "strength": 1.0},
        needs=("blur_kernel", "noise_sigma"),
        tile_size=1024,
        tile_overlap=128,
        description="Wiener deconvolution of a linear motion blur; cepstral kernel estimate "
        "(best effort: straight-line motion only).",
        reference="Cepstral estimate after Rom 1977, Moghaddam & Jamzad 2007",
        handles=("motion_blur",),
        rank=40,
        rank_for={"motion_blur": 22},
        side_effects=frozenset({"noise", "jpeg"}),  # deconvolution amplifies both
    )
