"""FSIM / FSIMc (Zhang, Zhang, Mou & Zhang 2011), as the official ``FeatureSIM.m``.

Phase congruency (Kovesi's ``phasecong2`` with 4 scales x 4 orientations of log-Gabor filters,
noise compensation from the smallest scale) and Scharr gradient magnitude are compared with
the paper's constants T1 = 0.85, T2 = 160 and pooled by the larger phase congruency. No library
implements phase congruency, so it is written here from the published MATLAB code.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from restora.quality import strips
from restora.quality.matlab import average_downsample, to_uint8_levels
from restora.quality.strips import row_strips, strip_memory

N_SCALES = 4
N_ORIENTATIONS = 4
MIN_WAVELENGTH = 6.0
MULT = 2.0
SIGMA_ON_F = 0.55
D_THETA_ON_SIGMA = 1.2
NOISE_K = 2.0
EPSILON = 1e-4


def _frequency_grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised frequency coordinates of phasecong2 / lowpassfilter (centred)."""

    def axis(n: int) -> np.ndarray:
        if n % 2:
            return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
        return np.arange(-n / 2, n / 2) / n

    return np.meshgrid(axis(cols), axis(rows))


def phase_congruency(image: np.ndarray) -> np.ndarray:
    """Kovesi's phase congruency map (``phasecong2`` as shipped with FSIM)."""
    rows, cols = image.shape
    image_fft = np.fft.fft2(image)
    x, y = _frequency_grid(rows, cols)
    radius = np.fft.ifftshift(np.sqrt(x * x + y * y))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    lowpass = np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x * x + y * y) / 0.45) ** (2 * 15)))
    radius[0, 0] = 1.0
    sin_t, cos_t = np.sin(theta), np.cos(theta)

    log_gabor = []
    for s in range(N_SCALES):
        fo = 1.0 / (MIN_WAVELENGTH * MULT**s)
        lg = np.exp(-(np.log(radius / fo) ** 2) / (2 * np.log(SIGMA_ON_F) ** 2)) * lowpass
        lg[0, 0] = 0.0
        log_gabor.append(lg)

    theta_sigma = np.pi / N_ORIENTATIONS / D_THETA_ON_SIGMA
    energy_all = np.zeros((rows, cols))
    amplitude_all = np.zeros((rows, cols))
    for o in range(N_ORIENTATIONS):
        angle = o * np.pi / N_ORIENTATIONS
        ds = sin_t * np.cos(angle) - cos_t * np.sin(angle)
        dc = cos_t * np.cos(angle) + sin_t * np.sin(angle)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        filters = [lg * spread for lg in log_gabor]
        responses = [np.fft.ifft2(image_fft * f) for f in filters]
        ifft_filters = [np.real(np.fft.ifft2(f)) * np.sqrt(rows * cols) for f in filters]

        sum_e = sum(np.real(r) for r in responses)
        sum_o = sum(np.imag(r) for r in responses)
        sum_an = sum(np.abs(r) for r in responses)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + EPSILON
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros((rows, cols))
        for r in responses:
            e, od = np.real(r), np.imag(r)
            energy += e * mean_e + od * mean_o - np.abs(e * mean_o - od * mean_e)

        # Noise compensation from the smallest scale (Rayleigh model of the noise energy).
        em_n = np.sum(filters[0] ** 2)
        median_e2n = np.median(np.abs(responses[0]) ** 2)
        noise_power = (-median_e2n / np.log(0.5)) / em_n
        est_sum_an2 = sum(f**2 for f in ifft_filters)
        est_sum_aiaj = sum(
            ifft_filters[i] * ifft_filters[j]
            for i in range(N_SCALES - 1)
            for j in range(i + 1, N_SCALES)
        )
        noise_energy2 = 2 * noise_power * np.sum(est_sum_an2) + 4 * noise_power * np.sum(
            est_sum_aiaj
        )
        tau = np.sqrt(noise_energy2 / 2)
        threshold = (tau * np.sqrt(np.pi / 2) + NOISE_K * np.sqrt((2 - np.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - threshold, 0.0)
        amplitude_all += sum_an
    # no amplitude at all (a flat image): no phase congruency, where MATLAB divides 0 by 0
    return np.divide(
        energy_all, amplitude_all, out=np.zeros_like(energy_all), where=amplitude_all > 0
    )


def _scharr_magnitude(grey: np.ndarray) -> np.ndarray:
    """|gradient| with conv2(Y, [3 0 -3; 10 0 -10; 3 0 -3]/16, 'same') (zero padding)."""
    p = np.pad(grey, 1)
    cols = p[:, 2:] - p[:, :-2]
    rows = p[2:, :] - p[:-2, :]
    ix = (3 * cols[:-2] + 10 * cols[1:-1] + 3 * cols[2:]) / 16.0
    iy = (3 * rows[:, :-2] + 10 * rows[:, 1:-1] + 3 * rows[:, 2:]) / 16.0
    return np.sqrt(ix * ix + iy * iy)


def _yiq(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """FeatureSIM.m's colour split of the 8-bit image: Y, I, Q (I, Q None for grey input)."""
    levels = to_uint8_levels(image)
    if levels.ndim == 2:
        return levels, None, None
    r, g, b = levels[..., 0], levels[..., 1], levels[..., 2]
    return (
        0.299 * r + 0.587 * g + 0.114 * b,
        0.596 * r - 0.274 * g - 0.322 * b,
        0.211 * r - 0.523 * g + 0.312 * b,
    )


Planes = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


def _downsampled_yiq(image: np.ndarray, factor: int) -> Planes:
    """Y, I, Q of the 8-bit image after FeatureSIM.m's ``conv2(., ones(F)/F^2, 'same')`` and
    ``(1:F:end, 1:F:end)``. Large images go strip by strip, and only the kept windows are
    averaged: FSIM itself works on the ~256-pixel result, so memory stays bounded."""
    height, width = image.shape[:2]
    if factor == 1 or height * width <= strips.STRIP_PIXELS:
        y, i, q = _yiq(image)
        return (
            average_downsample(y, factor),
            None if i is None else average_downsample(i, factor),
            None if q is None else average_downsample(q, factor),
        )
    after = factor // 2
    before = factor - 1 - after
    out_h, out_w = -(-height // factor), -(-width // factor)
    planes = 1 if image.ndim == 2 else 3
    results = [np.empty((out_h, out_w)) for _ in range(planes)]
    for first, last in row_strips(out_h, factor * width):
        # output row k averages input rows k*F - before .. k*F + after (zeros outside)
        top, bottom = first * factor - before, (last - 1) * factor + after + 1
        lo, hi = max(top, 0), min(bottom, height)
        for plane, result in zip(_yiq(image[lo:hi]), results, strict=False):
            if plane is None:
                continue
            padded = np.pad(plane, ((lo - top, bottom - hi), (before, after)))
            windows = sliding_window_view(padded, (factor, factor))[::factor, ::factor]
            result[first:last] = windows.mean(axis=(2, 3))
    if planes == 1:
        return results[0], None, None
    return results[0], results[1], results[2]


def fsim(img: np.ndarray, ref: np.ndarray) -> float:
    """FSIM of ``img`` against ``ref`` as the official ``FeatureSIM.m``: FSIMc (with the I/Q
    chromatic terms) for colour input, FSIM for grey input; 1 for identical images."""
    factor = max(1, int(np.floor(min(ref.shape[:2]) / 256 + 0.5)))
    y1, i1, q1 = _downsampled_yiq(ref, factor)
    y2, i2, q2 = _downsampled_yiq(img, factor)
    pc1, pc2 = phase_congruency(y1), phase_congruency(y2)
    g1, g2 = _scharr_magnitude(y1), _scharr_magnitude(y2)
    t1, t2 = 0.85, 160.0
    similarity = ((2 * pc1 * pc2 + t1) / (pc1**2 + pc2**2 + t1)) * (
        (2 * g1 * g2 + t2) / (g1**2 + g2**2 + t2)
    )
    if i1 is not None and i2 is not None and q1 is not None and q2 is not None:
        t3 = t4 = 200.0
        i_sim = (2 * i1 * i2 + t3) / (i1**2 + i2**2 + t3)
        q_sim = (2 * q1 * q2 + t4) / (q1**2 + q2**2 + t4)
        # real((I .* Q) .^ lambda): negative products give complex powers in MATLAB.
        similarity = similarity * np.real(np.power((i_sim * q_sim).astype(complex), 0.03))
    pc_max = np.maximum(pc1, pc2)
    weight = np.sum(pc_max)
    if weight <= 0:  # no feature in either image (both flat): the plain mean similarity
        return float(np.mean(similarity))
    return float(np.sum(similarity * pc_max) / weight)


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`fsim` beyond the two images: ~110 MB of strips for the
    downscaling (130 with headroom), then phase congruency on the ~256-pixel image; an image
    under 384 pixels on its shorter side is not downscaled and costs ~530 bytes per pixel
    (measured on 383x4000)."""
    if min(height, width) / 256 + 0.5 < 2:
        return 650.0 * height * width
    factor = int(min(height, width) / 256 + 0.5)
    small = -(-height // factor) * -(-width // factor)
    return strip_memory(height, width, 130.0, 2 * factor) + 650.0 * small
