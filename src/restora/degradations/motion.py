"""Motion blur from random camera-shake trajectories (and straight lines).

Severity -> physical parameter: the trajectory's path length in pixels is
``length = 1 + 34 * severity`` (up to 35 px). Trajectories follow Boracchi & Foi (2012,
"Modeling the performance of image restoration from motion blur"): a particle whose direction
drifts with inertia (random curvature) and occasionally jerks (impulsive shake). A ``linear``
trajectory is the classic straight-line kernel. The kernel is centred on the trajectory's centre
of mass so that blurring does not shift the image (the pair stays aligned for training).

``realistic=True`` follows the random-motion generator of Boracchi & Foi (2012) as DeblurGAN
(Kupyn et al. 2018) uses it: a particle with a random initial direction whose velocity each
step gets a Gaussian shake (strength U(0, 10)), a centripetal pull back towards the start
(U(0, 0.7)) and, rarely, a big shake that reverses it (probability U(0, 0.2) times the
anxiety 0.005 per step of 2000); its speed is constant, so exposure is uniform along the path.
It runs 500 steps with the per-step terms rescaled to give the 2000-step statistics (the
random term by sqrt(4), the deterministic ones by 4). The path is scaled to ``length`` px,
the image is blurred in linear light (lights streak), then photographed at low ISO and saved
as JPEG (:func:`restora.degradations.camera.finish_capture`).
"""

from __future__ import annotations

import cmath
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
    realistic: bool = False,
    camera: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blur along a random camera path of ``length`` px (default ``1 + 34 * severity``).

    ``trajectory`` is ``shake`` (70 %) or ``linear`` (30 %) when not given. The convolution is
    ``cv2.filter2D`` (DFT for large kernels). ``realistic``: the Boracchi-Foi generator,
    linear light and a camera (see the module docstring; ``camera=False`` leaves out the
    low-ISO capture and JPEG).
    """
    img = check_image(image)
    severity = check_severity(severity)
    if realistic:
        path_length = length_for_severity(severity) if length is None else float(length)
        return _camera_shake(img, path_length, rng, camera)
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


BORACCHI_STEPS = 500
_REFERENCE_STEPS = 2000
_ANXIETY = 0.005


def boracchi_trajectory(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """A unit-length random camera path (Boracchi & Foi 2012; DeblurGAN's parameters), as
    ``(BORACCHI_STEPS, 2)`` points (x, y) from 0, and its random parameters."""
    u = rng.random(4)
    jumps = rng.random((BORACCHI_STEPS, 2)).tolist()
    shakes = rng.standard_normal((BORACCHI_STEPS, 2)).tolist()
    centripetal = 0.7 * float(u[0])
    big_shake = 0.2 * float(u[1])
    gaussian_shake = 10.0 * float(u[2])
    ratio = _REFERENCE_STEPS / BORACCHI_STEPS
    random_scale = _ANXIETY * math.sqrt(ratio)
    pull_scale = _ANXIETY * ratio
    jump_probability = big_shake * _ANXIETY * ratio
    step = 60.0 / (BORACCHI_STEPS - 1)  # DeblurGAN's canvas length 60; rescaled below
    angle = 2.0 * math.pi * float(u[3])
    velocity = complex(math.cos(angle), math.sin(angle)) * step
    position = 0j
    points = [position]
    big_shakes = 0
    for (jump, turn), (sx, sy) in zip(jumps[:-1], shakes[:-1], strict=True):
        change = 0j
        if jump < jump_probability:
            change = 2.0 * velocity * cmath.exp(1j * (math.pi + turn - 0.5))  # reverses
            big_shakes += 1
        change += (
            random_scale * gaussian_shake * complex(sx, sy) - pull_scale * centripetal * position
        ) * step
        velocity += change
        velocity = velocity / max(abs(velocity), 1e-12) * step
        position += velocity
        points.append(position)
    path = np.array([[p.real, p.imag] for p in points], dtype=np.float64)
    length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    params = {
        "generator": "boracchi_foi",
        "centripetal": rounded(centripetal, 3),
        "gaussian_shake": rounded(gaussian_shake, 3),
        "big_shake": rounded(big_shake, 3),
        "big_shakes": big_shakes,
    }
    return path / max(length, 1e-12), params


def _camera_shake(
    img: np.ndarray, path_length: float, rng: np.random.Generator, camera: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    from restora.degradations._common import linear_to_srgb, srgb_to_linear
    from restora.degradations.camera import finish_capture

    points, shape = boracchi_trajectory(rng)
    kernel = trajectory_kernel(points, path_length)
    extent = points.max(axis=0) - points.min(axis=0)
    out = finish(linear_to_srgb(filter2d(srgb_to_linear(img), kernel)))
    params: dict[str, Any] = {
        "trajectory": "shake",
        "variant": "realistic",
        "length": rounded(path_length, 2),
        "extent": rounded(float(np.hypot(*extent)) * path_length, 2),
        "kernel_size": int(kernel.shape[0]),
        **shape,
    }
    if camera:
        out, captured = finish_capture(out, rng)
        params.update(captured)
    return out, params
