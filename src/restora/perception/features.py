"""Hand-measured image statistics the analyzer sees next to its learned features.

Each statistic is a classical, citable measurement of one kind of damage, computed in torch on
a batch so that training and inference share exactly one implementation (and a GPU is used when
there is one). The network learns how to weigh them; they make the small model data-efficient
and keep it honest on images unlike its training data.

- noise: Immerkaer (1996) fast noise variance estimation, taken per 16x16 block and summarised
  by a low percentile so that texture does not read as noise;
- JPEG: blockiness, the ratio of pixel differences across 8x8 block borders to differences
  elsewhere, maximised over the 8 grid phases (crops are not grid-aligned);
- sharpness: log variance of the Laplacian and gradient-magnitude percentiles;
- motion: coherence of the global structure tensor (blur along one direction leaves gradients
  in the other);
- exposure and haze: luminance percentiles, contrast, saturation and the dark channel of He et al.
  (2009), which rises with haze.

Spectral statistics (``SPECTRAL_STAT_NAMES``, used by models whose config sets ``spectral``),
all from the power spectrum of the crops averaged over the K crops of an image (the magnitude
spectrum does not depend on where a crop falls, so unaligned crops agree):

- motion: the angular profile of the mid/high-frequency log power (8 orientation bins); blur
  along one direction removes energy in that direction only, so the profile's range and spread
  rise (Gaussian and defocus blur lower every direction alike);
- blur and noise: the log power at high frequencies relative to mid frequencies (a flat tail is
  noise, a steep one blur);

Two more were tried on CBSD432 crops and dropped as not separating anything: the power on the
JPEG grid lines (multiples of 1/8 cycle/px) against their neighbours (no peak even at quality
14 in 64 px crops; the spatial blockiness above does better), and the secondary autocorrelation
peak of the Laplacian at 3-12 px lags for double-image reflections (the reflected layer is
blurred, so its ghost barely reaches the Laplacian: clean 0.44, reflection 0.40).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
LOCAL_STAT_NAMES = (
    "noise_sigma_p10",
    "noise_sigma_p50",
    "blockiness_h",
    "blockiness_v",
    "log_laplacian_var",
    "grad_p50",
    "grad_p90",
    "structure_coherence",
)
SPECTRAL_STAT_NAMES = (
    "angular_range",
    "angular_std",
    "high_mid_ratio",
)
GLOBAL_STAT_NAMES = (
    "luma_mean",
    "luma_p05",
    "luma_p50",
    "luma_p95",
    "contrast",
    "saturation",
    "dark_channel",
    "dark_channel_p90",
)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) BT.601 luma."""
    weights = x.new_tensor(LUMA).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def immerkaer_sigma_map(grey: torch.Tensor, block: int = 16) -> torch.Tensor:
    """Noise sigma (in [0,1] units) per ``block`` x ``block`` region: (B, 1, H', W').

    Immerkaer's Laplacian-difference mask cancels smooth image structure up to second order;
    the mean absolute response times sqrt(pi/2)/6 estimates a Gaussian sigma.
    """
    mask = grey.new_tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]).view(1, 1, 3, 3)
    response = F.conv2d(grey, mask).abs()
    pooled = (
        F.avg_pool2d(response, block, stride=block)
        if min(response.shape[-2:]) >= block
        else response.mean(dim=(2, 3), keepdim=True)
    )
    return pooled * (math.sqrt(math.pi / 2.0) / 6.0)


def blockiness(grey: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """JPEG blockiness along x and y: max over the 8 phases of (border diff / other diff)."""
    out = []
    for dim in (3, 2):
        diff = grey.diff(dim=dim).abs()
        profile = diff.mean(dim=2 if dim == 3 else 3).squeeze(1)  # (B, L)
        length = profile.shape[-1] // 8 * 8
        if length < 16:
            out.append(grey.new_zeros(grey.shape[0]))
            continue
        phases = profile[:, :length].reshape(profile.shape[0], -1, 8).mean(dim=1)  # (B, 8)
        peak = phases.max(dim=1).values
        rest = (phases.sum(dim=1) - peak) / 7.0
        out.append(torch.log((peak + 1e-4) / (rest + 1e-4)))
    return out[0], out[1]


def local_statistics(crops: torch.Tensor) -> torch.Tensor:
    """Statistics of native-resolution crops: (B, K, 3, h, w) -> (B, len(LOCAL_STAT_NAMES)).

    Each statistic is averaged over the K crops of an image (the noise percentiles are taken
    over all blocks of all crops).
    """
    b, k, c, h, w = crops.shape
    x = crops.reshape(b * k, c, h, w).float()
    grey = luminance(x)
    sigma = immerkaer_sigma_map(grey).reshape(b, -1)
    noise_p10 = torch.quantile(sigma, 0.10, dim=1)
    noise_p50 = torch.quantile(sigma, 0.50, dim=1)
    block_h, block_v = blockiness(grey)
    lap_kernel = grey.new_tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(
        1, 1, 3, 3
    )
    lap = F.conv2d(grey, lap_kernel)
    log_lap_var = torch.log(lap.var(dim=(1, 2, 3)) + 1e-6).reshape(b, k).mean(dim=1)
    gx = grey[..., :, 1:] - grey[..., :, :-1]
    gy = grey[..., 1:, :] - grey[..., :-1, :]
    gx, gy = gx[..., :-1, :], gy[..., :, :-1]
    magnitude = torch.sqrt(gx**2 + gy**2 + 1e-12).reshape(b, -1)
    grad_p50 = torch.quantile(magnitude, 0.5, dim=1)
    grad_p90 = torch.quantile(magnitude, 0.9, dim=1)
    jxx = (gx * gx).reshape(b, -1).mean(dim=1)
    jyy = (gy * gy).reshape(b, -1).mean(dim=1)
    jxy = (gx * gy).reshape(b, -1).mean(dim=1)
    trace = jxx + jyy + 1e-8
    det_term = torch.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)
    coherence = det_term / trace
    return torch.stack(
        [
            noise_p10 * 10.0,
            noise_p50 * 10.0,
            block_h.reshape(b, k).mean(dim=1),
            block_v.reshape(b, k).mean(dim=1),
            log_lap_var / 10.0,
            grad_p50 * 10.0,
            grad_p90 * 10.0,
            coherence,
        ],
        dim=1,
    )


def global_statistics(thumb: torch.Tensor) -> torch.Tensor:
    """Statistics of the whole image seen small: (B, 3, t, t) -> (B, len(GLOBAL_STAT_NAMES))."""
    x = thumb.float()
    b = x.shape[0]
    grey = luminance(x).reshape(b, -1)
    quant = torch.quantile(grey, grey.new_tensor([0.05, 0.5, 0.95]), dim=1).T  # (B, 3)
    maxc = x.max(dim=1).values
    minc = x.min(dim=1).values
    saturation = ((maxc - minc) / (maxc + 1e-3)).reshape(b, -1).mean(dim=1)
    dark = -F.max_pool2d(-minc.unsqueeze(1), kernel_size=7, stride=1, padding=3)  # 7 px at 128
    dark = dark.reshape(b, -1)
    return torch.stack(
        [
            grey.mean(dim=1),
            quant[:, 0],
            quant[:, 1],
            quant[:, 2],
            grey.std(dim=1) * 4.0,
            saturation,
            dark.mean(dim=1),
            torch.quantile(dark, 0.9, dim=1),
        ],
        dim=1,
    )


def _frequency_grid(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Radius (cycles/px) and orientation in [0, pi) of each bin of a centred size x size FFT."""
    f = torch.fft.fftshift(torch.fft.fftfreq(size, device=device))
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    return torch.sqrt(fx**2 + fy**2), torch.remainder(torch.atan2(fy, fx), math.pi)


def spectral_statistics(crops: torch.Tensor) -> torch.Tensor:
    """Spectral statistics of native-resolution crops: (B, K, 3, c, c) -> (B, 3)
    (see the module docstring; names in ``SPECTRAL_STAT_NAMES``)."""
    b, k, c, h, w = crops.shape
    size = min(h, w)
    grey = luminance(crops.reshape(b * k, c, h, w).float())[:, 0, :size, :size]
    grey = grey - grey.mean(dim=(1, 2), keepdim=True)
    window = torch.hann_window(size, periodic=False, device=grey.device)
    power = torch.fft.fftshift(
        torch.fft.fft2(grey * window[:, None] * window[None, :]).abs() ** 2, dim=(-2, -1)
    )
    power = power.reshape(b, k, size, size).mean(dim=1) + 1e-10  # (B, c, c)
    log_power = torch.log(power)
    radius, angle = _frequency_grid(size, grey.device)
    band = (radius > 0.12) & (radius < 0.42)
    bins = torch.clamp((angle / math.pi * 8).long(), max=7)
    profile = torch.stack(
        [log_power[:, band & (bins == i)].mean(dim=1) for i in range(8)], dim=1
    )  # (B, 8)
    angular_range = profile.amax(dim=1) - profile.amin(dim=1)
    angular_std = profile.std(dim=1)
    high = log_power[:, radius > 0.35].mean(dim=1)
    mid = log_power[:, (radius > 0.1) & (radius < 0.2)].mean(dim=1)
    return torch.stack(
        [
            angular_range / 4.0,
            angular_std,
            (high - mid) / 5.0,
        ],
        dim=1,
    )
