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

``realistic=True`` renders rain as a camera sees a rain storm (after the heavy-rain model of
Li, Cheong & Tan 2019, ``I = T (J + sum S_i) + (1 - T) A``, and Garg & Nayar's streak
appearance):
- 2-3 streak layers at increasing nearness sharing one wind direction (tilt N(0, 15 deg)
  limited to +-40, each layer +-4 deg more): far layers dense, short (x0.4-0.6), thin, dim and
  slightly blurred (0.3-0.8 px); near layers sparse, long, 1-3 px wide, bright and defocused
  (1-3 px blur). The drop density of severity is shared far 50 %, middle 30 %, near 20 %;
- layers are combined like light (screen blending), so streaks brighten dark areas more;
- a veiling layer, the accumulation of distant rain: a haze-like mix towards a bluish-grey
  airlight (0.75-0.95) of weight ``veil * severity`` (``veil`` 0.1-0.45) on a smooth random
  field, so it is uneven;
- drops on the lens or window (35 %): 3-15 soft ellipses (per 128 x 128 px) showing a
  blurred, slightly brighter view of the scene;
- then a low-ISO photograph saved as JPEG (:func:`restora.degradations.camera.finish_capture`).
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
    realistic: bool = False,
    layers: int | None = None,
    lens_drops: bool | None = None,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add rain streaks (see the module docstring for the parameters and their ranges).

    ``realistic``: layered rain with a veil and drops; ``layers`` (1-3), ``lens_drops`` and
    ``camera`` (False: no photograph at the end) fix its choices, ``density``, ``opacity``
    and ``angle`` its totals and wind direction.
    """
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    if realistic:
        return _rain_storm(img, severity, rng, density, opacity, angle, layers, lens_drops, camera)
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


LAYER_SHARES: tuple[float, ...] = (0.5, 0.3, 0.2)
"""Share of the drop density in the far, middle and near layer."""
MAX_LENS_DROPS = 15


def _rain_storm(
    img: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    density: float | None,
    opacity: float | None,
    angle: float | None,
    layers: int | None,
    lens_drops: bool | None,
    camera: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    import cv2

    from restora.degradations._common import smooth_field
    from restora.degradations.camera import finish_capture

    height, width = img.shape[:2]
    u = rng.random(8)
    per_layer = rng.random((3, 6))
    count = (2 + int(2 * u[0])) if layers is None else int(np.clip(layers, 1, 3))
    total_density = density_for_severity(severity) if density is None else float(density)
    weight = opacity_for_severity(severity) if opacity is None else float(opacity)
    wind = float(np.clip(15.0 * _standard_normal_from_uniform(u[1]), -40.0, 40.0))
    wind = wind if angle is None else float(angle)
    raw_shares = np.asarray(LAYER_SHARES[:count] if count > 1 else (1.0,), dtype=np.float64)
    shares = raw_shares / raw_shares.sum()
    screen = np.ones((height, width), dtype=np.float32)  # product of (1 - layer)
    lengths, widths, blurs, tilts = [], [], [], []
    for index in range(count):
        draws = per_layer[index]
        nearness = (index + 1) / count if count > 1 else 0.6
        uniform = rng.random((height, width), dtype=np.float32)
        brightness = rng.random((height, width), dtype=np.float32)
        length = (
            (8.0 + 32.0 * draws[0]) * (0.4 + 0.6 * nearness) if count > 1 else 8.0 + 32.0 * draws[0]
        )
        line_width = 1 + int(2.999 * draws[1] * nearness) if nearness > 0.6 else 1
        blur = (0.3 + 0.5 * draws[2]) if nearness <= 0.5 else (1.0 + 2.0 * draws[2]) * nearness
        tilt = wind + 4.0 * (2.0 * draws[3] - 1.0)
        level = (0.3 + 0.3 * draws[4]) + 0.4 * nearness
        seeds = (uniform < total_density * shares[index]) * (0.3 + 0.7 * brightness)
        streaks = filter2d(seeds.astype(np.float32), streak_kernel(length, tilt, line_width))
        streaks = np.clip(cv2.GaussianBlur(streaks, (0, 0), sigmaX=blur), 0.0, 1.0)
        screen *= 1.0 - np.clip(weight * level * streaks, 0.0, 1.0)
        lengths.append(length)
        widths.append(line_width)
        blurs.append(blur)
        tilts.append(tilt)
    rain = 1.0 - screen
    out = 1.0 - (1.0 - img) * screen[:, :, None]
    veil_strength = 0.1 + 0.35 * float(u[2])
    veil_field = smooth_field(height, width, rng, cells=3, octaves=2)
    veil = (veil_strength * severity * (0.5 + 0.5 * veil_field))[:, :, None]
    grey = 0.75 + 0.2 * float(u[3])
    airlight = np.array([grey * 0.96, grey * 0.98, grey], dtype=np.float32)
    out = out * (1.0 - veil) + airlight * veil
    lens = rng.random((MAX_LENS_DROPS, 5))
    with_drops = bool(u[4] < 0.35) if lens_drops is None else bool(lens_drops)
    drop_count = 0
    if with_drops:
        area_factor = height * width / (128.0 * 128.0)
        drop_count = max(1, round((3 + 12 * float(u[5])) * min(area_factor, 1.0)))
        size_factor = max(1.0, min(height, width) / 128.0)
        mask = np.zeros((height, width), dtype=np.float32)
        for cx, cy, rx, ry, tone in lens[:drop_count]:
            axes = ((3 + 7 * rx) * size_factor, (3 + 7 * ry) * size_factor)
            centre = (round(cx * width), round(cy * height))
            size = (max(1, round(axes[0])), max(1, round(axes[1])))
            cv2.ellipse(mask, centre, size, 0, 0, 360, 0.7 + 0.3 * float(tone), -1, cv2.LINE_AA)
        cover = cv2.GaussianBlur(mask, (0, 0), sigmaX=1.5 * size_factor)[:, :, None]
        seen = cv2.GaussianBlur(out, (0, 0), sigmaX=4.0 * size_factor)
        out = out * (1.0 - cover) + np.clip(seen * 1.08, 0.0, 1.0) * cover
    out = finish(out)
    params: dict[str, Any] = {
        "variant": "realistic",
        "layers": count,
        "density": rounded(total_density, 5),
        "opacity": rounded(weight, 3),
        "angle": rounded(wind, 1),
        "angles": rounded(tilts, 1),
        "lengths": rounded(lengths, 1),
        "widths": widths,
        "blurs": rounded(blurs, 2),
        "veil": rounded(float(veil.mean()), 4),
        "drops": drop_count,
        "coverage": rounded(float((rain > 0.05).mean()), 4),
    }
    if camera:
        out, captured = finish_capture(out, rng)
        params.update(captured)
    return out, params
