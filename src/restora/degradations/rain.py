"""Rain streaks rendered as motion-blurred drops, blended additively.

The streak layer is made the way the Rain100 / Rain12 style datasets were (the "Photoshop rain"
recipe, also used by Rain800): sparse random drops of random brightness, smeared along a line
of random length, angle and width (``cv2.line`` anti-aliased kernel through ``cv2.filter2D``),
softened with a Gaussian blur, then added to the image. Streaks are bright, so the addition is
clipped at white.

Severity -> physical parameters: drop density ``0.0003 + 0.0045 * severity`` drops per pixel
(streaks then cover about 1-25 % of the image) and streak opacity ``0.3 + 0.5 * severity``;
length (8-40 px), angle from vertical (normal, sd 12 degrees, limited to +-35), width (1 px, or
2 px in 15 % of cases), drop brightness (0.3-1) and blur (0.4-1.2 px) are random.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, filter2d, finish, rounded


def density_for_severity(severity: float) -> float:
    """Drops per pixel for a severity in [0, 1]."""
    return 0.0003 + 0.0045 * check_severity(severity)


def opacity_for_severity(severity: float) -> float:
    """Streak opacity (additive weight) for a severity in [0, 1]."""
    return 0.3 + 0.5 * check_severity(severity)


def streak_kernel(length: float, angle_deg: float, width: int) -> np.ndarray:
    """A line kernel (peak 1) of ``length`` px at ``angle_deg`` from vertical (OpenCV AA line)."""
    import cv2

    half = math.ceil(length / 2) + width
    size = 2 * half + 1
    canvas = np.zeros((size, size), dtype=np.uint8)
    dx = 0.5 * length * math.sin(math.radians(angle_deg))
    dy = 0.5 * length * math.cos(math.radians(angle_deg))
    shift = 4  # OpenCV fixed-point sub-pixel coordinates (1/16 px)
    points = [(round((half + sx * dx) * 16), round((half + sx * dy) * 16)) for sx in (-1.0, 1.0)]
    cv2.line(canvas, points[0], points[1], 255, thickness=width, lineType=cv2.LINE_AA, shift=shift)
    return canvas.astype(np.float32) / 255.0


def add_rain(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    density: float | None = None,
    opacity: float | None = None,
    length: float | None = None,
    angle: float | None = None,
    width: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add rain streaks (see the module docstring for the parameters and their ranges)."""
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    height, width_px = img.shape[:2]
    shape_draws = rng.random(4)
    uniform = rng.random((height, width_px), dtype=np.float32)
    brightness = rng.random((height, width_px), dtype=np.float32)
    drop_density = density_for_severity(severity) if density is None else float(density)
    weight = opacity_for_severity(severity) if opacity is None else float(opacity)
    streak_length = 8.0 + 32.0 * shape_draws[0] if length is None else float(length)
    # One uniform draw per shape parameter (the tilt through the inverse normal CDF) keeps the
    # random stream identical whichever options are given, so a seed means one rain pattern.
    tilt = float(np.clip(12.0 * _standard_normal_from_uniform(shape_draws[1]), -35.0, 35.0))
    tilt = tilt if angle is None else float(angle)
    line_width = (1 if shape_draws[2] < 0.85 else 2) if width is None else int(width)
    blur_sigma = 0.4 + 0.8 * shape_draws[3]
    drops = (uniform < drop_density) * (0.3 + 0.7 * brightness)
    streaks = filter2d(drops.astype(np.float32), streak_kernel(streak_length, tilt, line_width))
    streaks = cv2.GaussianBlur(streaks, (0, 0), sigmaX=blur_sigma)
    streaks = np.clip(streaks, 0.0, 1.0)
    out = img + weight * streaks[:, :, None]
    params = {
        "density": rounded(drop_density, 5),
        "opacity": rounded(weight, 3),
        "length": rounded(streak_length, 1),
        "angle": rounded(tilt, 1),
        "width": line_width,
        "blur_sigma": rounded(blur_sigma, 2),
        "coverage": rounded(float((streaks > 0.05).mean()), 4),
    }
    return finish(out), params


def _standard_normal_from_uniform(u: float) -> float:
    """Inverse standard-normal CDF (scipy), so one uniform draw gives the tilt for any options."""
    from scipy.special import ndtri

    return float(ndtri(min(max(u, 1e-6), 1 - 1e-6)))
