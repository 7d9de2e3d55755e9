"""Motion blur from random camera-shake trajectories (and straight lines).

Severity -> physical parameter: the trajectory's path length in pixels is
``length = 1 + 34 * severity`` (up to 35 px). Trajectories follow Boracchi & Foi (2012,
"Modeling the performance of image restoration from motion blur"): a particle whose direction
drifts with inertia (random curvature) and occasionally jerks (impulsive shake). A ``linear``
trajectory is the classic straight-line kernel. The kernel is centred on the trajectory's centre
of mass so that blurring does not shift the image (the pair stays aligned for training).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from restora.degradations._common import check_image, check_severity, filter2d, finish, rounded

TRAJECTORIES: tuple[str, ...] = ("shake", "linear")
_STEPS = 96


def length_for_severity(severity: float) -> float:
    """Trajectory path length in pixels for a severity in [0, 1]."""
    return 1.0 + 34.0 * check_severity(severity)


def severity_for_length(length_px: float) -> float:
    """Inverse of :func:`length_for_severity`, clipped to [0, 1]."""
    return float(np.clip((length_px - 1.0) / 34.0, 0.0, 1.0))


def shake_trajectory(rng: np.random.Generator, *, linear: bool = False) -> np.ndarray:
    """A unit-length 2-D camera path, ``(_STEPS + 1, 2)`` points (x, y), starting at 0.

    Direction changes are a random walk (curvature up to 0.25 rad per step) plus rare jerks of
    up to 90 degrees; speed varies by +-30 %. ``linear`` keeps direction and speed constant.
    Always consumes the same number of draws so a seed gives one shape at any length.
    """
    start = rng.uniform(0.0, 2.0 * math.pi)
    curvature = rng.uniform(0.02, 0.25)
    turns = rng.standard_normal(_STEPS) * curvature
    jerk = (rng.random(_STEPS) < 0.03) * rng.uniform(-math.pi / 2, math.pi / 2, _STEPS)
    speed = 1.0 + 0.3 * rng.uniform(-1.0, 1.0, _STEPS)
    if linear:
        theta = np.full(_STEPS, start)
        speed = np.ones(_STEPS)
    else:
        theta = start + np.cumsum(turns + jerk)
    steps = speed[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    steps /= np.linalg.norm(steps, axis=1).sum()
    return np.vstack([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


def trajectory_kernel(points: np.ndarray, length: float) -> np.ndarray:
    """Rasterise a unit-length path scaled to ``length`` px into a normalised blur kernel.

    Points are resampled densely (4 per pixel of path) and splatted bilinearly, so the kernel
    is the exposure time spent over each pixel; written with numpy because OpenCV's line
    drawing cannot weight sub-pixel positions.
    """
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    samples = np.linspace(0.0, arc[-1], max(16, int(4 * length) + 1))
    path = np.stack([np.interp(samples, arc, points[:, k]) for k in (0, 1)], axis=1) * length
    path -= path.mean(axis=0)
    half = math.ceil(float(np.abs(path).max())) + 1
    size = 2 * half + 1
    xy = path + half
    base = np.floor(xy).astype(np.int64)
    frac = xy - base
    kernel = np.zeros((size, size), dtype=np.float64)
    for dx in (0, 1):
        for dy in (0, 1):
            weight = (frac[:, 0] if dx else 1 - frac[:, 0]) * (frac[:, 1] if dy else 1 - frac[:, 1])
            np.add.at(kernel, (base[:, 1] + dy, base[:, 0] + dx), weight)
    return (kernel / kernel.sum()).astype(np.float32)


def add_motion_blur(
    image: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    *,
    length: float | None = None,
    trajectory: str | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blur along a random camera path of ``length`` px (default ``1 + 34 * severity``).

    ``trajectory`` is ``shake`` (70 %) or ``linear`` (30 %) when not given. The convolution is
    ``cv2.filter2D`` (DFT for large kernels).
    """
    img = check_image(image)
    severity = check_severity(severity)
    draw = rng.random()
    if trajectory is None:
        trajectory = "shake" if draw < 0.7 else "linear"
    if trajectory not in TRAJECTORIES:
        raise ValueError(
            f"unknown trajectory {trajectory!r}; choose one of: {', '.join(TRAJECTORIES)}"
        )
    path_length = length_for_severity(severity) if length is None else float(length)
    points = shake_trajectory(rng, linear=trajectory == "linear")
    kernel = trajectory_kernel(points, path_length)
    extent = points.max(axis=0) - points.min(axis=0)
    params = {
        "trajectory": trajectory,
        "length": rounded(path_length, 2),
        "extent": rounded(float(np.hypot(*extent)) * path_length, 2),
        "kernel_size": int(kernel.shape[0]),
    }
    return finish(filter2d(img, kernel)), params
