"""Haze and fog by the atmospheric scattering model ``I = J t + A (1 - t)``, ``t = exp(-beta d)``.

Severity -> physical parameter: the scattering coefficient is ``beta = 0.2 + 2.8 * severity``
per unit of relative depth (depth runs from about 0.15, near, to 1, far), so the farthest
transmission goes from 0.82 (severity 0) to 0.06 (severity 1). The airlight ``A`` is a bright,
nearly grey colour (0.75-1.0, tinted by at most +-0.03 per channel).

Depth proxy: without a depth map, depth is a vertical gradient (the top of a photo is usually
farther away: sky, horizon) with a random horizon height, mixed with a smooth random field
(bicubic-upsampled coarse noise) for uneven, patchy fog. This is the heuristic of synthetic
haze datasets without depth sensors; a real depth map can be passed as ``depth``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, finish, rounded

NEAR_DEPTH = 0.15


def beta_for_severity(severity: float) -> float:
    """Scattering coefficient per unit relative depth for a severity in [0, 1]."""
    return 0.2 + 2.8 * check_severity(severity)


def severity_for_beta(beta: float) -> float:
    """Inverse of :func:`beta_for_severity`, clipped to [0, 1]."""
    return float(np.clip((beta - 0.2) / 2.8, 0.0, 1.0))


def depth_proxy(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Relative depth in [NEAR_DEPTH, 1], far at the top, with smooth random variation."""
    import cv2

    horizon = rng.uniform(0.2, 0.6)  # fraction of the height where the far field ends
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    vertical = np.clip((1.0 - rows) / (1.0 - horizon), 0.0, 1.0) ** 1.5
    coarse = rng.random((4, 6)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    weight = rng.uniform(0.2, 0.5)
    depth = (1.0 - weight) * np.broadcast_to(vertical, (height, width)) + weight * field
    low, high = float(depth.min()), float(depth.max())
    depth = (depth - low) / max(high - low, 1e-6)
    return (NEAR_DEPTH + (1.0 - NEAR_DEPTH) * depth).astype(np.float32)


def add_haze(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    beta: float | None = None,
    airlight: float | tuple[float, float, float] | None = None,
    depth: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add haze with scattering ``beta`` (default from severity), airlight and a depth map.

    ``depth`` (H, W) is relative depth (larger is farther); the proxy of the module docstring
    is used when it is not given. Random draws do not depend on severity, so for one seed the
    dark channel rises monotonically with severity.
    """
    img = check_image(image)
    severity = check_severity(severity)
    height, width = img.shape[:2]
    level = rng.uniform(0.75, 1.0)
    tint = rng.uniform(-0.03, 0.03, 3)
    proxy = depth_proxy(height, width, rng)
    if depth is not None:
        proxy = np.asarray(depth, dtype=np.float32)
        if proxy.shape != (height, width):
            raise ValueError(f"depth shape {proxy.shape} does not match image {img.shape[:2]}")
    if airlight is None:
        light = np.clip(level + tint, 0.0, 1.0).astype(np.float32)
    else:
        light = np.broadcast_to(np.asarray(airlight, dtype=np.float32), (3,)).copy()
    scattering = beta_for_severity(severity) if beta is None else float(beta)
    transmission = np.exp(-scattering * proxy)[:, :, None]
    out = img * transmission + light * (1.0 - transmission)
    params = {
        "beta": rounded(scattering, 3),
        "airlight": rounded(light, 3),
        "mean_transmission": rounded(float(transmission.mean()), 3),
        "depth": "given" if depth is not None else "proxy",
    }
    return finish(out), params
