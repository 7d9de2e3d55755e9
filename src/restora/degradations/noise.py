"""Sensor noise: Gaussian, Poisson-Gaussian (signal-dependent) and colour-correlated.

Severity -> physical parameter: the noise standard deviation in 8-bit units is
``sigma = 50 * severity`` (severity 0.3 -> 15, 0.5 -> 25, 1.0 -> 50, the usual benchmark levels).
For the signal-dependent kind, ``sigma`` is the standard deviation at mid-grey (0.5).

``realistic=True`` (or ``kind="camera"``) photographs the image with a simulated camera
instead (:mod:`restora.degradations.camera`, after Brooks et al. 2019): the image is
unprocessed to raw, gets shot and read noise on the Bayer mosaic at the ISO that gives
``sigma`` on mid-grey, is demosaicked (bilinear or edge-aware) and developed. A quarter of
the photos are developed by software as DND's were (no denoising, saved losslessly); the
others are processed as in a camera (chroma denoising 60 %, light luma denoising 40 %, sharpening
70 %) and saved as JPEG (85 %, quality 88-97, 4:2:0, 4:2:2 or 4:4:4). 30 % are shrunk by
1.5-2 after capture (finer noise, as in a photo resized for the web). The noise is thus
signal-dependent, coloured by the colour matrix, spatially correlated by demosaicing, and
blotchy in chroma where the camera denoised chroma.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, finish, rounded

KINDS: tuple[str, ...] = ("gaussian", "poisson_gaussian", "colour")
"""Noise models: i.i.d. Gaussian per channel; heteroscedastic Poisson-Gaussian (variance
``a * x + b``, the raw-sensor model of Foi et al. 2008); Gaussian correlated across channels
(demosaicked sensor noise looks like this; correlation 1 is grey noise as in Real-ESRGAN)."""

KIND_PROBABILITIES: tuple[float, ...] = (0.4, 0.35, 0.25)
MAX_SIGMA_8BIT = 50.0


def sigma_for_severity(severity: float) -> float:
    """Noise standard deviation in 8-bit units (0-255) for a severity in [0, 1]."""
    return MAX_SIGMA_8BIT * check_severity(severity)


def severity_for_sigma(sigma_8bit: float) -> float:
    """Inverse of :func:`sigma_for_severity`, clipped to [0, 1]."""
    return float(np.clip(sigma_8bit / MAX_SIGMA_8BIT, 0.0, 1.0))


def add_noise(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    sigma: float | None = None,
    shot_fraction: float | None = None,
    correlation: float | None = None,
    clip: bool = True,
    realistic: bool = False,
    iso: float | None = None,
    downscale: float | None = None,
    jpeg_quality: int | None = None,
    demosaic: str | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add noise of standard deviation ``sigma`` (8-bit units; default ``50 * severity``).

    ``kind`` is drawn from :data:`KINDS` when not given. For ``poisson_gaussian`` the variance
    is ``a * x + b`` with ``shot_fraction`` (0.5-0.9) of the mid-grey variance coming from the
    signal-dependent (shot) term. For ``colour`` the three channels are correlated with
    coefficient ``correlation`` (0.3-0.95). ``clip=False`` keeps values outside [0, 1] (the
    benchmark convention); the output is float32 either way. The random draws do not depend on
    severity, so one seed over a range of severities gives the same pattern, scaled.

    ``realistic`` (or ``kind="camera"``): camera noise (see the module docstring); ``iso``
    then overrides ``sigma``, ``downscale`` (1 for none), ``jpeg_quality`` (0 for none) and
    ``demosaic`` (``bilinear``/``edge_aware``) fix the camera's choices.
    """
    img = check_image(image)
    severity = check_severity(severity)
    if realistic or kind == "camera":
        return _camera_noise(img, severity, rng, sigma, iso, downscale, jpeg_quality, demosaic)
    draws = rng.random(3)
    if kind is None:
        kind = KINDS[int(np.searchsorted(np.cumsum(KIND_PROBABILITIES), draws[0] * 0.999999))]
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of: {', '.join(KINDS)}")
    sigma_8bit = sigma_for_severity(severity) if sigma is None else float(sigma)
    std = sigma_8bit / 255.0
    field = rng.standard_normal(img.shape, dtype=np.float32)
    params: dict[str, Any] = {"kind": kind, "sigma": rounded(sigma_8bit, 3)}
    if kind == "gaussian":
        noisy = img + std * field
    elif kind == "poisson_gaussian":
        fraction = 0.5 + 0.4 * draws[1] if shot_fraction is None else float(shot_fraction)
        shot = fraction * std**2 / 0.5  # variance a*x at x=0.5 equals fraction * std^2
        read = (1.0 - fraction) * std**2
        noisy = img + np.sqrt(shot * img + read) * field
        params["shot_fraction"] = rounded(fraction, 3)
    else:
        rho = 0.3 + 0.65 * draws[2] if correlation is None else float(correlation)
        cov = (1.0 - rho) * np.eye(3) + rho * np.ones((3, 3))
        # Cholesky factor of the channel covariance; a tiny ridge keeps rho = 1 factorisable.
        factor = np.linalg.cholesky(cov + 1e-6 * np.eye(3)).astype(np.float32)
        noisy = img + std * (field @ factor.T)
        params["correlation"] = rounded(rho, 3)
    if clip:
        return finish(noisy), params
    return noisy.astype(np.float32, copy=False), params


def _camera_noise(
    img: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    sigma: float | None,
    iso: float | None,
    downscale: float | None,
    jpeg_quality: int | None,
    demosaic: str | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    from restora.degradations.camera import capture

    target = sigma_for_severity(severity) if sigma is None else float(sigma)
    out, camera = capture(
        img,
        rng,
        sigma=target,
        iso=iso,
        demosaic_method=demosaic,
        downscale=downscale,
        jpeg_quality=jpeg_quality,
    )
    return out, {"kind": "camera", "variant": "realistic", **camera}
