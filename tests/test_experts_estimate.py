"""Blind estimators checked against known noise levels and blur kernels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restora.experts.estimate import (
    estimate_gaussian_blur_sigma,
    estimate_motion_blur,
    motion_kernel,
)
from restora.quality.statistics import estimate_jpeg_quality, estimate_noise_sigma


@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
@pytest.mark.parametrize("method", ["immerkaer", "wavelet"])
def test_noise_sigma_unclipped(
    astronaut: np.ndarray, sigma: float, method: str, rng: np.random.Generator
) -> None:
    noisy = astronaut + rng.normal(0, sigma / 255, astronaut.shape).astype(np.float32)
    assert estimate_noise_sigma(noisy, method) == pytest.approx(sigma, rel=0.12, abs=1.2)


@pytest.mark.parametrize("sigma", [15, 25])
def test_noise_sigma_clipped_grey(
    camera: np.ndarray, sigma: float, rng: np.random.Generator
) -> None:
    noisy = np.clip(camera + rng.normal(0, sigma / 255, camera.shape), 0, 1).astype(np.float32)
    assert estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.1)


def test_clean_image_has_little_noise(astronaut: np.ndarray) -> None:
    assert estimate_noise_sigma(astronaut) < 4.0


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0, 5.0])
def test_gaussian_blur_sigma(astronaut: np.ndarray, sigma: float) -> None:
    blurred = cv2.GaussianBlur(astronaut, (0, 0), sigma)
    assert estimate_gaussian_blur_sigma(blurred) == pytest.approx(sigma, abs=0.35 + 0.1 * sigma)


@pytest.mark.parametrize(("length", "angle"), [(15, 0.0), (21, 45.0), (11, 90.0), (9, 120.0)])
def test_motion_blur_estimate(astronaut: np.ndarray, length: int, angle: float) -> None:
    blurred = cv2.filter2D(astronaut, -1, motion_kernel(length, angle))
    found_length, found_angle = estimate_motion_blur(blurred)
    assert found_length == pytest.approx(length, abs=1.5)
    assert min(abs(found_angle - angle), 180 - abs(found_angle - angle)) <= 3.0


def test_jpeg_quality_orders_compression(astronaut: np.ndarray) -> None:
    import io

    from PIL import Image

    qualities = []
    for q in (10, 30, 90):
        buffer = io.BytesIO()
        Image.fromarray((astronaut * 255).round().astype(np.uint8)).save(buffer, "JPEG", quality=q)
        decoded = np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255.0
        qualities.append(estimate_jpeg_quality(decoded))
    assert qualities[0] < qualities[1] < qualities[2]
    assert qualities[0] < 25
