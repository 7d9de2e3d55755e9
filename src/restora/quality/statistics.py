"""Pixel statistics shared by quality cues, experts and the agent: each written once, here.

- :func:`luma`: BT.601 luma of an RGB image (grey images unchanged).
- Noise, two estimators that answer different questions (both Immerkaer 1996, "Fast noise
  variance estimation", CVIU 64(2): a mask that cancels locally planar structure leaves mostly
  noise, and ``sigma = sqrt(pi/2) / 6 * mean|I * M|``):

  * :func:`estimate_noise_sigma`: the blind sigma of additive white noise that denoisers and
    deconvolution need. Per channel (independent noise shrinks in a weighted mean) and averaged;
    pixels on strong Sobel edges (Tai & Yang 2008) and clipped pixels are left out. The wavelet
    MAD estimate of Donoho & Johnstone (1994) from scikit-image is ``method="wavelet"``. Used by
    the classical experts (``restora.experts``) and the agent.
  * :func:`estimate_flat_area_noise_sigma`: how much noise a viewer sees in the flattest 40 % of
    the luma. Used for the quality words (``restora.quality.levels.measure_cues``).
  * :func:`estimate_noise_sigma_pca` (and ``_channels``): white-noise sigma from the eigenvalues
    of patch covariances (Chen et al. ICCV 2015) on weak-texture patches (Liu et al. 2013), from
    at most 20k sampled windows whatever the image size.

- :func:`noise_whiteness`, :func:`has_white_noise`: whether noise is independent from pixel to
  pixel (synthetic Gaussian noise) or correlated the way cameras leave it.
- :func:`blockiness` (8x8 JPEG block borders) and :func:`estimate_jpeg_quality`, a rough JPEG
  quality from pixels. The exact quality of a JPEG *file* comes from its quantisation tables:
  :func:`restora.degradations.jpeg.jpeg_quality_from_quantization_tables`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
from scipy import ndimage

from restora.quality.strips import budget_or_default, percentile_of_chunks, row_strips, with_halo

BT601_WEIGHTS = (0.299, 0.587, 0.114)
IMMERKAER_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def luma(image: np.ndarray, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """BT.601 luma of an RGB (H, W, 3) image in [0, 1], computed in ``dtype``; a grey (H, W)
    image is returned as is (in ``dtype``)."""
    array = np.asarray(image, dtype=dtype)
    if array.ndim == 2:
        return array
    return np.asarray(array @ np.array(BT601_WEIGHTS, dtype=dtype), dtype=dtype)


# ------------------------------------------------------------------------------------- noise


def _immerkaer_plane(plane: np.ndarray, edge_quantile: float) -> float:
    h, w = plane.shape
    if h < 3 or w < 3:
        return 0.0
    response = cv2.filter2D(plane, cv2.CV_32F, IMMERKAER_KERNEL, borderType=cv2.BORDER_REFLECT)
    response = np.abs(response[1:-1, 1:-1])
    gx = cv2.Sobel(plane, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(plane, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    magnitude = np.hypot(gx, gy)
    keep = magnitude <= np.quantile(magnitude, edge_quantile)
    # clipped pixels (0 or 1 in the 3x3 window) carry less noise than the rest; leave them out
    kernel = np.ones((3, 3), np.uint8)
    unclipped = (cv2.erode(plane, kernel) > 0.0) & (cv2.dilate(plane, kernel) < 1.0)
    keep &= unclipped[1:-1, 1:-1]
    values = response[keep] if keep.sum() > 64 else response.ravel()
    return float(math.sqrt(math.pi / 2.0) * values.mean() / 6.0)


def estimate_noise_sigma(
    image: np.ndarray, method: str = "immerkaer", edge_quantile: float = 0.9
) -> float:
    """Standard deviation of additive white noise, in 8-bit units (0-255).

    ``method``: ``"immerkaer"`` (default; edge-excluded, Tai & Yang 2008) or ``"wavelet"``
    (Donoho MAD of the finest diagonal wavelet band, scikit-image). Colour images are estimated
    per channel and averaged.
    """
    array = np.asarray(image, dtype=np.float32)
    if method == "wavelet":
        from skimage.restoration import estimate_sigma

        axis = 2 if array.ndim == 3 else None
        return float(estimate_sigma(array, average_sigmas=True, channel_axis=axis)) * 255.0
    if method != "immerkaer":
        raise ValueError(f"unknown noise estimation method {method!r}; use immerkaer or wavelet")
    planes = [array[..., c] for c in range(array.shape[2])] if array.ndim == 3 else [array]
    return 255.0 * float(np.mean([_immerkaer_plane(p, edge_quantile) for p in planes]))


def estimate_flat_area_noise_sigma(
    image: np.ndarray, flat_share: float = 0.4, strip_pixels: int | None = None
) -> float:
    """Noise standard deviation of the luma in 8-bit units, measured in the flattest
    ``flat_share`` of the image (the "noise in flat areas" a viewer notices).

    Flat pixels are picked on a smoothed copy, so that the noise itself does not pick them;
    restricting the Immerkaer response to them keeps texture from being counted as noise.
    Images over ``strip_pixels`` are measured strip by strip (the same number, in bounded
    memory: the percentile that picks the flat pixels comes from
    :func:`restora.quality.strips.percentile_of_chunks`).
    """
    height, width = image.shape[:2]
    if min(height, width) < 8:
        return 0.0
    strip_pixels = budget_or_default(strip_pixels)
    if height * width > strip_pixels:
        return _flat_area_noise_in_strips(image, flat_share, strip_pixels)
    grey = luma(image, np.float64) * 255.0
    mask = IMMERKAER_KERNEL.astype(np.float64)
    residual = np.abs(ndimage.correlate(grey, mask, mode="reflect"))[1:-1, 1:-1]
    smooth = ndimage.gaussian_filter(grey, 2.0)
    gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))[1:-1, 1:-1]
    flat = gradient <= np.percentile(gradient, 100.0 * flat_share)
    return float(np.sqrt(np.pi / 2.0) / 6.0 * residual[flat].mean())


_FLAT_HALO = 10  # the Gaussian's radius (4 sigma = 8), Sobel's 1, and a spare row


def _flat_area_noise_in_strips(image: np.ndarray, flat_share: float, strip_pixels: int) -> float:
    height, width = image.shape[:2]
    mask = IMMERKAER_KERNEL.astype(np.float64)
    strips = row_strips(height, width, budget=strip_pixels)

    def slabs(with_residual: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for start, stop in strips:
            lo, hi, _ = with_halo(start, stop, height, _FLAT_HALO)
            grey = luma(image[lo:hi], np.float64) * 255.0
            # rows 1 .. height-2 of the whole image, as the [1:-1] crop takes them
            first, last = max(start, 1) - lo, min(stop, height - 1) - lo
            if last <= first:
                continue
            smooth = ndimage.gaussian_filter(grey, 2.0)
            gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))
            residual = None
            if with_residual:
                response = ndimage.correlate(grey, mask, mode="reflect")
                residual = np.abs(response[first:last, 1:-1])
            yield gradient[first:last, 1:-1], residual

    # luma is a convex mix of the channels and Sobel's weights sum to 4 per axis
    spread = 255.0 * (float(np.max(image)) - float(np.min(image)))
    bound = 4.0 * math.sqrt(2.0) * spread * 1.01 + 1e-9
    threshold = percentile_of_chunks(
        lambda: (gradient for gradient, _ in slabs(False)), 100.0 * flat_share, (0.0, bound)
    )
    total, count = 0.0, 0
    for gradient, residual in slabs(True):
        assert residual is not None
        flat = gradient <= threshold
        total += float(residual[flat].sum())
        count += int(flat.sum())
    return float(np.sqrt(np.pi / 2.0) / 6.0 * total / max(count, 1))


# Chen, Zhu & Heng, "An Efficient Statistical Method for Image Noise Level Estimation", ICCV 2015:
# the covariance of r x r patches has r*r eigenvalues; those that carry only white noise all equal
# sigma^2, so sigma^2 is the mean of the largest tail of the sorted eigenvalues whose mean is also
# their median (as many above the mean as below). Liu, Tanaka & Okutomi, "Single-image noise level
# estimation for blind denoising", IEEE TIP 22(12) 2013: weak-texture patches are those whose
# gradient energy is below what noise of the current sigma alone reaches with probability
# ``confidence``; re-estimating on them a few times removes most of the texture bias.
PCA_MAX_PATCHES = 20_000
_PCA_MIN_PATCH = 2


def _tail_eigenvalue_mean(eigenvalues: np.ndarray) -> float:
    values = np.sort(np.clip(eigenvalues, 0.0, None))
    counts = np.arange(1, values.size + 1)
    means = np.cumsum(values) / counts
    below = np.searchsorted(values, means, side="left")
    above = counts - np.minimum(np.searchsorted(values, means, side="right"), counts)
    # the smallest value alone always qualifies (nothing above its mean, nothing below)
    balanced = np.flatnonzero(below == above)
    return float(means[balanced[-1]]) if balanced.size else 0.0


class _PatchMoments:
    """Sums of x and x x^T over (n, d) patches, so that the covariance of a subset costs
    the smaller of the subset and its complement."""

    def __init__(self, patches: np.ndarray) -> None:
        self.patches = patches
        self.total = patches.sum(axis=0)
        self.gram = patches.T @ patches

    def covariance_eigenvalues(self, subset: np.ndarray | None = None) -> np.ndarray:
        if subset is None:
            count, total, gram = len(self.patches), self.total, self.gram
        else:
            count = int(subset.sum())
            if 2 * count >= len(subset):
                rest = self.patches[~subset]
                total, gram = self.total - rest.sum(axis=0), self.gram - rest.T @ rest
            else:
                part = self.patches[subset]
                total, gram = part.sum(axis=0), part.T @ part
        # E[x x^T] - mu mu^T without a centred copy; float64 keeps the cancellation harmless
        mean = total / count
        return np.linalg.eigvalsh(gram / count - np.outer(mean, mean))


def _gradient_energy(patches: np.ndarray, side: int) -> np.ndarray:
    square = patches.reshape(-1, side, side)
    across = np.square(np.diff(square, axis=2)).sum(axis=(1, 2))
    down = np.square(np.diff(square, axis=1)).sum(axis=(1, 2))
    return np.asarray(across + down)


def _weak_texture_threshold_factor(side: int, confidence: float) -> float:
    """Gradient energy that white noise of unit variance stays under with probability
    ``confidence`` in a ``side`` x ``side`` patch (Liu et al. 2013's gamma approximation)."""
    from scipy.special import gammaincinv

    trace = 4.0 * side * (side - 1)  # tr(D^T D) of the horizontal and vertical differences
    shape = side * side / 2.0
    return float(gammaincinv(shape, confidence)) * 2.0 * trace / (side * side)


def _pca_plane_sigma(
    patches: np.ndarray, side: int, weak_texture: bool, confidence: float, iterations: int
) -> float:
    """sigma (in the patches' units) of one channel's (n, side*side) patches."""
    moments = _PatchMoments(patches)
    variance = _tail_eigenvalue_mean(moments.covariance_eigenvalues())
    if not weak_texture:
        return math.sqrt(variance)
    energy = _gradient_energy(patches, side)
    factor = _weak_texture_threshold_factor(side, confidence)
    minimum = side * side + 1  # fewer patches than dimensions leave a rank-deficient covariance
    for _ in range(iterations):
        weak = energy <= variance * factor
        if int(weak.sum()) < minimum:
            break
        updated = _tail_eigenvalue_mean(moments.covariance_eigenvalues(weak))
        if updated == variance:
            break
        variance = updated
    return math.sqrt(variance)


def estimate_noise_sigma_pca_channels(
    image: np.ndarray,
    patch: int = 8,
    *,
    weak_texture: bool = True,
    scale: int = 1,
    max_patches: int = PCA_MAX_PATCHES,
    confidence: float = 1.0 - 1e-6,
    iterations: int = 3,
    seed: int = 0,
) -> tuple[float, ...]:
    """Per-channel noise sigma in 8-bit units by PCA of image patches (Chen et al. 2015), one
    value per channel (one for a grey image). See :func:`estimate_noise_sigma_pca`."""
    if patch < _PCA_MIN_PATCH or scale < 1 or max_patches < 1:
        raise ValueError(
            f"patch must be >= {_PCA_MIN_PATCH}, scale >= 1 and max_patches >= 1 "
            f"(got {patch}, {scale}, {max_patches})"
        )
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    to_8bit = 1.0 if array.dtype == np.uint8 else 255.0
    clip_high = 255.0
    height, width = array.shape[:2]
    # a small image gets smaller patches, so that there are more patches than dimensions
    side = patch
    while side >= _PCA_MIN_PATCH:
        window = side * scale
        rows, cols = height - window + 1, width - window + 1
        if rows > 0 and cols > 0 and rows * cols > side * side:
            break
        side -= 1
    if side < _PCA_MIN_PATCH:
        return tuple(0.0 for _ in range(channels))
    # at most max_patches windows, at seeded random positions: cost and memory do not grow
    # with the image, and a random phase keeps the windows off any fixed JPEG block alignment
    count = rows * cols
    if count <= max_patches:
        index = np.arange(count)
    else:  # drawn with replacement, repeats dropped: memory independent of the image size
        index = np.unique(np.random.default_rng(seed).integers(0, count, size=max_patches))
    if scale > 1:
        return _pca_cell_sigmas(
            array, index, cols, side, scale, to_8bit, weak_texture, confidence, iterations
        )
    offsets = np.arange(window)
    ys = (index // cols)[:, None, None] + offsets[None, :, None]
    xs = (index % cols)[:, None, None] + offsets[None, None, :]
    # one gather of every channel's pixels: (n, window * window, C)
    if array.flags.c_contiguous:
        flat = (ys * width + xs).ravel()
        gathered = np.take(array.reshape(height * width, channels), flat, axis=0)
    else:
        gathered = array[ys, xs]
    gathered = gathered.reshape(len(index), window * window, channels)
    sigmas = []
    for channel in range(channels):
        windows = gathered[..., channel].astype(np.float64)
        windows *= to_8bit
        low, high = windows.min(axis=1), windows.max(axis=1)
        finite = np.isfinite(low) & np.isfinite(high)
        # clipped pixels carry less noise than the rest: leave such windows out when enough remain
        unclipped = finite & (low > 0.0) & (high < clip_high)
        sigmas.append(
            _kept_windows_sigma(
                windows, finite, unclipped, side, weak_texture, confidence, iterations
            )
        )
    return tuple(sigmas)


def _kept_windows_sigma(
    windows: np.ndarray,
    finite: np.ndarray,
    unclipped: np.ndarray,
    side: int,
    weak_texture: bool,
    confidence: float,
    iterations: int,
) -> float:
    """sigma of the unclipped windows when enough remain, else of the finite ones (0 when
    there are too few for a full-rank covariance)."""
    keep = unclipped if int(unclipped.sum()) > side * side else finite
    if not keep.all():
        windows = windows[keep]
    if len(windows) <= side * side:
        return 0.0
    return _pca_plane_sigma(windows, side, weak_texture, confidence, iterations)


def _pca_cell_sigmas(
    array: np.ndarray,
    index: np.ndarray,
    cols: int,
    side: int,
    scale: int,
    to_8bit: float,
    weak_texture: bool,
    confidence: float,
    iterations: int,
) -> tuple[float, ...]:
    """The ``scale > 1`` case of :func:`estimate_noise_sigma_pca_channels`: each window is
    ``side`` x ``side`` cells, the mean of ``scale`` x ``scale`` pixels each (white noise
    shrinks by 1/scale). The cell means and a cell's "holds a clipped or non-finite pixel" flag
    are computed once per channel for every position (``scale**2`` shifted sums, so a NaN stays
    in its own cells), then each window gathers ``side**2`` cells instead of ``(side *
    scale)**2`` pixels: the same estimate at a fifth of the cost."""
    height, width = array.shape[:2]
    plane = array if array.ndim == 3 else array[:, :, None]
    cell_rows, cell_cols = height - scale + 1, width - scale + 1
    steps = np.arange(side) * scale
    ys = (index // cols)[:, None, None] + steps[None, :, None]
    xs = (index % cols)[:, None, None] + steps[None, None, :]
    flat = (ys * cell_cols + xs).reshape(len(index), side * side)
    sigmas = []
    for channel in range(plane.shape[2]):
        pixels = plane[:, :, channel]
        means = np.zeros((cell_rows, cell_cols), np.float32)
        flagged = np.zeros((cell_rows, cell_cols), bool)
        for dy in range(scale):
            for dx in range(scale):
                part = pixels[dy : dy + cell_rows, dx : dx + cell_cols].astype(np.float32)
                part *= np.float32(to_8bit)
                means += part
                flagged |= ~((part > 0.0) & (part < 255.0))  # clipped, NaN or infinite
        means /= np.float32(scale * scale)
        windows = np.take(means.ravel(), flat).astype(np.float64)
        finite = np.isfinite(windows).all(axis=1)
        unclipped = ~np.take(flagged.ravel(), flat).any(axis=1)
        sigma = _kept_windows_sigma(
            windows, finite, unclipped, side, weak_texture, confidence, iterations
        )
        sigmas.append(sigma * scale)
    return tuple(sigmas)


def estimate_noise_sigma_pca(
    image: np.ndarray,
    patch: int = 8,
    *,
    weak_texture: bool = True,
    scale: int = 1,
    max_patches: int = PCA_MAX_PATCHES,
    confidence: float = 1.0 - 1e-6,
    iterations: int = 3,
    seed: int = 0,
) -> float:
    """Standard deviation of additive white noise in 8-bit units (0-255), by PCA of
    ``patch`` x ``patch`` image patches (Chen, Zhu & Heng, ICCV 2015).

    ``image``: (H, W) or (H, W, C), float in [0, 1] (uint8 is read as 0-255). Colour images are
    estimated per channel and averaged (:func:`estimate_noise_sigma_pca_channels` gives the
    channels). At most ``max_patches`` overlapping windows are used, at positions drawn with
    ``seed`` (the same for every channel): the image is never resized, and at ``scale`` 1 never
    copied, so a 12 MP photo costs about what a 512 x 512 one does (``scale`` > 1 makes one
    float32 plane of cell means per channel at a time, a few milliseconds a megapixel).
    Windows with clipped (0 or 255) or non-finite pixels are left out while enough others
    remain.

    ``weak_texture`` (default): re-estimate on the patches whose gradient energy white noise of
    the current sigma explains with probability ``confidence``, ``iterations`` times (Liu et al.,
    IEEE TIP 2013). Measured on skimage astronaut, coffee and camera: with it, clean 0.7-1.8 and
    within 11 % at sigma 5, 15 and 30; without it, clean 4.8-6.1 and up to +60 % at sigma 5.

    ``scale`` > 1 measures the noise of ``scale`` x ``scale`` pixel cells and reports what white
    noise per pixel would give them (x ``scale``). In-camera processing (demosaicing, noise
    reduction, JPEG) correlates neighbouring pixels and leaves little noise in the smallest
    eigenvalues. On 10 PolyU camera JPEGs (std(noisy - mean image) 2.2-5.3, mean 3.6) the
    estimate over that truth is on average 0.04 (default), 0.27 (``weak_texture=False``) and
    0.99 (``scale=2, weak_texture=False``, range 0.68-1.24; 0.6-3.0 on their clean mean
    images). Texture biases ``scale=2`` much more: 10.7-12.2 on the clean skimage photos above.

    Images too small for more patches than dimensions (even with smaller patches), and flat
    images, give 0.
    """
    sigmas = estimate_noise_sigma_pca_channels(
        image,
        patch,
        weak_texture=weak_texture,
        scale=scale,
        max_patches=max_patches,
        confidence=confidence,
        iterations=iterations,
        seed=seed,
    )
    return float(np.mean(sigmas))


WHITE_NOISE_MIN_RATIO = 0.8
"""The :func:`noise_whiteness` from which noise counts as white (independent per pixel and per
channel). Measured (``tests/test_noise_whiteness.py`` keeps the synthetic cases): Gaussian noise
on CBSD68 photos, sigma 15-50: 0.84-1.33 (sigma 5: 0.54-1.01); camera noise of held-out PolyU
crops 0.00-0.39, ``real/noise`` photos 0.31-0.48; Gaussian sigma 20 then JPEG q45: 0.05-0.19;
simulated camera captures (``degradations.camera``) of skimage photos, sigma 10-25: 0.10-0.69.
Calling camera noise white costs about 2.5 dB (the Gaussian denoiser leaves it), the reverse a
few tenths: the bar sits high."""
WHITE_NOISE_MIN_SIGMA = 2.0
"""Below this noise sigma (8-bit units, at the 2 x 2 cell scale) the ratio is texture, not
noise: no noise is called white."""


def noise_whiteness(image: np.ndarray, max_patches: int = 6000) -> tuple[float, float]:
    """(whiteness, sigma): how white the noise of ``image`` is, and its sigma in 8-bit units.

    Whiteness is the PCA noise sigma of single pixels over that of 2 x 2 pixel cells scaled
    back to one pixel (:func:`estimate_noise_sigma_pca`, ``scale=2``, weak-texture patches
    both). Noise independent from pixel to pixel (synthetic Gaussian noise, film grain scanned
    sharply) averages down in a cell by exactly 1/2: about 1. Noise a camera made is correlated
    between neighbours by demosaicing, in-camera noise reduction, resizing and JPEG: the cells
    keep most of it and the single-pixel estimate finds little, far under 1. Denoisers trained
    on white Gaussian noise are made for the first kind and leave the second (BENCHMARKS.md,
    real noise)."""
    fine = estimate_noise_sigma_pca(image, max_patches=max_patches)
    coarse = estimate_noise_sigma_pca(image, scale=2, max_patches=max_patches)
    return (fine / coarse if coarse > 0 else 0.0), coarse


def has_white_noise(image: np.ndarray) -> bool:
    """Whether ``image`` carries noise (sigma >= :data:`WHITE_NOISE_MIN_SIGMA`) that is white
    (:func:`noise_whiteness` >= :data:`WHITE_NOISE_MIN_RATIO`)."""
    whiteness, sigma = noise_whiteness(image)
    return sigma >= WHITE_NOISE_MIN_SIGMA and whiteness >= WHITE_NOISE_MIN_RATIO


# -------------------------------------------------------------------------------------- JPEG


def blockiness(image: np.ndarray, block: int = 8, strip_pixels: int | None = None) -> float:
    """Mean absolute step across the ``block`` x ``block`` borders over the mean step elsewhere
    (after Wang, Bovik & Evans, ICIP 2000): ~1 for an unblocked image, 2-4 at JPEG quality 10;
    1 for images under two blocks. Images over ``strip_pixels`` are measured strip by strip."""
    height, width = image.shape[:2]
    if min(height, width) < 2 * block:
        return 1.0
    strip_pixels = budget_or_default(strip_pixels)
    if height * width > strip_pixels:
        return _blockiness_in_strips(image, block, strip_pixels)
    grey = luma(image)
    dx, dy = np.abs(np.diff(grey, axis=1)), np.abs(np.diff(grey, axis=0))
    border = np.s_[block - 1 :: block]
    across = dx[:, border].mean() + dy[border, :].mean()
    inside = np.delete(dx, border, axis=1).mean() + np.delete(dy, border, axis=0).mean()
    return float(across / max(inside, 1e-6))


def _blockiness_in_strips(image: np.ndarray, block: int, strip_pixels: int) -> float:
    height, width = image.shape[:2]
    # sums and counts of |dx| on / off the block borders, then of |dy|
    sums = np.zeros(4)
    counts = np.zeros(4)
    border_cols = np.zeros(width - 1, dtype=bool)
    border_cols[block - 1 :: block] = True
    for start, stop in row_strips(height, width, budget=strip_pixels):
        grey = luma(image[start : min(stop + 1, height)])  # one more row for the last dy
        dx = np.abs(np.diff(grey[: stop - start], axis=1))
        sums[0] += float(dx[:, border_cols].sum(dtype=np.float64))
        sums[1] += float(dx[:, ~border_cols].sum(dtype=np.float64))
        counts[0] += dx[:, border_cols].size
        counts[1] += dx[:, ~border_cols].size
        dy = np.abs(np.diff(grey, axis=0))  # differences of rows start .. stop-1 with the next
        on_border = (np.arange(start, start + dy.shape[0]) % block) == block - 1
        sums[2] += float(dy[on_border].sum(dtype=np.float64))
        sums[3] += float(dy[~on_border].sum(dtype=np.float64))
        counts[2] += dy[on_border].size
        counts[3] += dy[~on_border].size
    means = sums / np.maximum(counts, 1)
    across = means[0] + means[2]
    inside = means[1] + means[3]
    return float(across / max(inside, 1e-6))


def estimate_jpeg_quality(image: np.ndarray) -> float:
    """A rough JPEG quality (1-100) from the pixels' blockiness; 100 when no blocking is seen.

    Fitted on BSDS500 *train* images re-compressed with Pillow at quality 5-95: blockiness - 1
    falls as about 1.67 * (10 / quality)^0.8; the spread between images is ~25 %, so treat the
    result as a severity, not the true quality setting.
    """
    excess = blockiness(image) - 1.0
    if excess <= 0.02:
        return 100.0
    return float(np.clip(10.0 * (1.67 / excess) ** 1.25, 1.0, 100.0))
