"""Optical blur: isotropic and anisotropic Gaussian kernels, and defocus (disk) kernels.

Severity -> physical parameter: the kernel's standard deviation in pixels is
``sigma = 0.3 + 3.7 * severity`` (0.3 px: barely visible, 4 px: very soft). An anisotropic
kernel has that sigma along its long axis and ``ratio * sigma`` (0.3-1) across it, at a random
angle. A defocus disk has radius ``2 * sigma`` (a uniform disk of radius r has standard
deviation r / 2 per axis), so the three kinds blur about equally at one severity.

``realistic=True`` defocuses as a lens does (kind ``lens_defocus``):
- the point-spread function is the aperture's shape: a polygon of 5-9 blades (70 %) or a
  circle, at a random rotation, with a bright or soft rim (``rim`` -0.4..0.6: the weight
  rises by ``rim`` from the centre to the edge, spherical aberration's "soap bubble" bokeh);
- its radius ``2 * sigma`` is the largest circle of confusion; with a depth map (a smooth
  random disparity field, 60 %, or ``depth=``) each pixel's circle of confusion is
  proportional to its disparity's distance from the focused one (thin lens), so the focused
  part of the frame stays sharp; otherwise the whole frame is defocused;
- the blur is computed in linear light (highlights bloom into bright discs) as a blend of
  five blurred layers by circle of confusion, then the image is photographed at low ISO and
  saved as JPEG (:func:`restora.degradations.camera.finish_capture`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, filter2d, finish, rounded

KINDS: tuple[str, ...] = ("gaussian", "anisotropic", "defocus")


def sigma_for_severity(severity: float) -> float:
    """Kernel standard deviation in pixels for a severity in [0, 1]."""
    return 0.3 + 3.7 * check_severity(severity)


def severity_for_sigma(sigma_px: float) -> float:
    """Inverse of :func:`sigma_for_severity`, clipped to [0, 1]."""
    return float(np.clip((sigma_px - 0.3) / 3.7, 0.0, 1.0))


def gaussian_kernel(sigma_x: float, sigma_y: float, angle: float = 0.0) -> np.ndarray:
    """A normalised 2-D Gaussian with axis sigmas ``sigma_x``, ``sigma_y`` rotated by ``angle``
    (radians). Written here because OpenCV and scikit-image only build axis-aligned ones."""
    radius = max(1, math.ceil(3.0 * max(sigma_x, sigma_y)))
    ax = np.arange(-radius, radius + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    cos, sin = math.cos(angle), math.sin(angle)
    u = cos * xx + sin * yy
    v = -sin * xx + cos * yy
    kernel = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def disk_kernel(radius: float, supersample: int = 8) -> np.ndarray:
    """A normalised defocus disk of ``radius`` pixels with anti-aliased edges (each pixel's
    weight is the fraction of it inside the circle, estimated on a supersampled grid)."""
    half = max(1, math.ceil(radius))
    n = (2 * half + 1) * supersample
    ax = (np.arange(n, dtype=np.float64) + 0.5) / supersample - (half + 0.5)
    inside = (ax[None, :] ** 2 + ax[:, None] ** 2) <= max(radius, 0.5) ** 2
    kernel = inside.reshape(2 * half + 1, supersample, 2 * half + 1, supersample).mean(axis=(1, 3))
    return (kernel / kernel.sum()).astype(np.float32)


def add_blur(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    sigma: float | None = None,
    ratio: float | None = None,
    angle: float | None = None,
    realistic: bool = False,
    blades: int | None = None,
    depth: np.ndarray | None = None,
    focus_depth: float | None = None,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blur with a Gaussian (isotropic or anisotropic) or defocus-disk kernel.

    ``sigma`` (pixels) defaults to ``0.3 + 3.7 * severity``; ``kind`` is drawn uniformly from
    :data:`KINDS`; ``ratio`` (0.3-1) and ``angle`` (degrees) shape anisotropic kernels. Random
    draws do not depend on severity, so sharpness falls monotonically with severity for a seed.
    Isotropic Gaussian blur uses ``cv2.GaussianBlur`` (separable); the others ``cv2.filter2D``.

    ``realistic``: lens defocus (see the module docstring). ``blades`` (0 for a circle),
    ``depth`` (H, W disparity-like map, larger nearer or farther: only distances from
    ``focus_depth`` matter), ``focus_depth`` (in the map's units; default a random quantile of
    it) and ``camera`` (False: no low-ISO capture and JPEG at the end) fix its choices.
    """
    import cv2

    img = check_image(image)
    severity = check_severity(severity)
    if realistic or kind == "lens_defocus":
        radius = 2.0 * (sigma_for_severity(severity) if sigma is None else float(sigma))
        return lens_defocus(img, radius, rng, blades, depth, focus_depth, camera)
    draws = rng.random(3)
    kind = KINDS[int(draws[0] * len(KINDS))] if kind is None else kind
    if kind not in KINDS:
        raise ValueError(f"unknown blur kind {kind!r}; choose one of: {', '.join(KINDS)}")
    sigma_px = sigma_for_severity(severity) if sigma is None else float(sigma)
    params: dict[str, Any] = {"kind": kind, "sigma": rounded(sigma_px, 3)}
    if kind == "gaussian":
        out = cv2.GaussianBlur(
            img, (0, 0), sigmaX=sigma_px, sigmaY=sigma_px, borderType=cv2.BORDER_REFLECT_101
        )
    elif kind == "anisotropic":
        axis_ratio = 0.3 + 0.7 * draws[1] if ratio is None else float(ratio)
        degrees = 180.0 * draws[2] if angle is None else float(angle)
        kernel = gaussian_kernel(sigma_px, max(0.2, axis_ratio * sigma_px), math.radians(degrees))
        out = filter2d(img, kernel)
        params.update(ratio=rounded(axis_ratio, 3), angle=rounded(degrees, 1))
    else:
        radius = 2.0 * sigma_px
        out = filter2d(img, disk_kernel(radius))
        params["radius"] = rounded(radius, 3)
    return finish(out), params


def polygon_kernel(
    radius: float,
    blades: int = 0,
    rotation: float = 0.0,
    rim: float = 0.0,
    supersample: int = 8,
) -> np.ndarray:
    """A normalised aperture-shaped kernel of circumradius ``radius`` px: a regular polygon
    of ``blades`` sides (0: a circle) rotated by ``rotation`` radians, weighted
    ``1 + rim * ((rho / radius) ** 2 - 0.5)`` (``rim`` > 0: bright edge), anti-aliased."""
    half = max(1, math.ceil(radius))
    n = (2 * half + 1) * supersample
    ax = (np.arange(n, dtype=np.float64) + 0.5) / supersample - (half + 0.5)
    xx, yy = np.meshgrid(ax, ax)
    rho = np.hypot(xx, yy)
    r = max(radius, 0.5)
    if blades >= 3:
        sector = 2.0 * math.pi / blades
        phase = np.mod(np.arctan2(yy, xx) - rotation, sector) - sector / 2
        inside = rho * np.cos(phase) <= r * math.cos(math.pi / blades)
    else:
        inside = rho <= r
    weight = inside * np.clip(1.0 + rim * ((rho / r) ** 2 - 0.5), 0.05, None)
    size = 2 * half + 1
    kernel = weight.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return (kernel / kernel.sum()).astype(np.float32)


DEFOCUS_LAYERS = 5


def lens_defocus(
    img: np.ndarray,
    radius: float,
    rng: np.random.Generator,
    blades: int | None = None,
    depth: np.ndarray | None = None,
    focus_depth: float | None = None,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Depth-dependent lens defocus of largest circle-of-confusion radius ``radius`` px."""
    from restora.degradations._common import linear_to_srgb, smooth_field, srgb_to_linear
    from restora.degradations.camera import finish_capture

    height, width = img.shape[:2]
    u = rng.random(8)
    field = smooth_field(height, width, rng, cells=3, octaves=2)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    random_depth = (1.0 - 0.5 * u[6]) * field + 0.5 * u[6] * rows  # a tilt: ground nearer
    n_blades = (5 + int(5 * u[1]) if u[0] >= 0.3 else 0) if blades is None else int(blades)
    rotation = 2.0 * math.pi * u[2] / max(n_blades, 1)
    rim = -0.4 + 1.0 * u[3]
    if depth is not None:
        disparity = np.asarray(depth, dtype=np.float32)
        if disparity.shape != (height, width):
            raise ValueError(
                f"depth shape {disparity.shape} does not match image {(height, width)}"
            )
        mode = "given"
    elif u[4] < 0.6:
        disparity, mode = random_depth, "varying"
    else:
        disparity, mode = np.zeros((height, width), np.float32), "uniform"
    if mode == "uniform":
        focus = 0.0
        coc = np.full((height, width), radius, dtype=np.float32)
    else:
        focus = float(np.quantile(disparity, u[5])) if focus_depth is None else float(focus_depth)
        distance = np.abs(disparity - focus)
        coc = (radius * distance / max(float(distance.max()), 1e-6)).astype(np.float32)
    linear = srgb_to_linear(img)
    levels = np.linspace(0.0, radius, DEFOCUS_LAYERS)
    position = np.clip(coc / max(radius, 1e-6) * (DEFOCUS_LAYERS - 1), 0, DEFOCUS_LAYERS - 1)
    out = np.zeros_like(linear)
    for index, level in enumerate(levels):
        weight = np.clip(1.0 - np.abs(position - index), 0.0, 1.0)
        if not weight.any():
            continue
        layer = (
            linear
            if level < 0.5
            else filter2d(linear, polygon_kernel(float(level), n_blades, rotation, rim))
        )
        out += weight[:, :, None] * layer
    out = finish(linear_to_srgb(out))
    params: dict[str, Any] = {
        "kind": "lens_defocus",
        "variant": "realistic",
        "sigma": rounded(radius / 2.0, 3),
        "radius": rounded(radius, 3),
        "blades": n_blades,
        "rotation": rounded(math.degrees(rotation), 1),
        "rim": rounded(rim, 3),
        "depth": mode,
        "focus_depth": rounded(focus, 3),
        "blurred_fraction": rounded(float((coc >= 1.0).mean()), 3),
    }
    if camera:
        out, captured = finish_capture(out, rng)
        params.update(captured)
    return out, params
