"""MATLAB-exact building blocks that the official IQA implementations rely on.

The reference numbers of the IQA literature come from MATLAB code, and several MATLAB functions
behave differently from their usual Python stand-ins: ``rgb2gray`` uses its own coefficients and
rounds to uint8, ``imresize`` antialiases when shrinking and pads by mirroring with the edge
pixel repeated, ``imfilter(..., 'replicate')`` is a correlation. OpenCV, scikit-image and kornia
each differ in one of these details (skimage's ``rgb2gray`` uses BT.709 weights, ``cv2.resize``
does not antialias), so they are written here once, vectorised with numpy, and every metric in
:mod:`restora.quality` uses them.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

# First row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]): MATLAB's rgb2gray.
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def to_uint8_levels(image: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] to float64 values on the 0..255 integer grid (clip, then round).

    Files on disk are 8-bit, so this is exactly the array MATLAB's ``imread`` gives the official
    code (``np.round`` rounds half to even, but ``x / 255 * 255`` is never a half for 8-bit data).
    """
    return np.round(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255.0)


def rgb2gray(image: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of an 8-bit image: float64 grey levels 0..255, rounded like uint8.

    ``image`` is float in [0, 1], (H, W, 3) or already grey (H, W).
    """
    levels = to_uint8_levels(image)
    if levels.ndim == 2:
        return levels
    grey = levels @ RGB2GRAY_WEIGHTS
    # MATLAB rounds half away from zero when casting to uint8; values are non-negative here.
    return np.floor(grey + 0.5)


def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: a normalised square Gaussian window."""
    half = (size - 1) / 2.0
    coords = np.arange(size, dtype=np.float64) - half
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    window = np.exp(-(xx * xx + yy * yy) / (2.0 * sigma * sigma))
    window[window < np.finfo(np.float64).eps * window.max()] = 0.0
    return window / window.sum()


def imfilter_replicate(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MATLAB ``imfilter(image, window, 'replicate')`` (correlation, same size)."""
    return ndimage.correlate(np.asarray(image, dtype=np.float64), window, mode="nearest")


def filter2_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(window, image, 'valid')``: correlation keeping only full overlaps."""
    arr = np.asarray(image, dtype=np.float64)
    kh, kw = window.shape
    if kh % 2 and kw % 2:
        # OpenCV correlates with the kernel centred; the border mode is irrelevant once the
        # rows/columns that touch it are cropped, and it is several times faster than scipy.
        full = cv2.filter2D(arr, cv2.CV_64F, np.asarray(window, dtype=np.float64))
    else:
        full = ndimage.correlate(arr, window, mode="constant")
    top, left = (kh - 1) // 2, (kw - 1) // 2
    return full[top : full.shape[0] - (kh - 1 - top), left : full.shape[1] - (kw - 1 - left)]


def average_downsample(grey: np.ndarray, factor: int) -> np.ndarray:
    """``conv2(Y, fspecial('average', F), 'same')`` then ``Y(1:F:end, 1:F:end)``."""
    if factor == 1:
        return grey
    # conv2 'same' keeps full-output rows from floor(F/2): the window over output pixel i is
    # [i - (F - 1 - F//2), i + F//2], zeros outside the image.
    after = factor // 2
    before = factor - 1 - after
    padded = np.pad(grey, ((before, after), (before, after)))
    window = np.lib.stride_tricks.sliding_window_view(padded, (factor, factor)).mean(axis=(2, 3))
    return window[::factor, ::factor]


def imresize(image: np.ndarray, scale: float, antialiasing: bool = True) -> np.ndarray:
    """MATLAB ``imresize(image, scale)`` with the bicubic kernel on float64 values (no clipping,
    no rounding, as MATLAB does for double input); the one implementation lives in
    :func:`restora.degradations.resize.imresize`."""
    from restora.degradations.resize import imresize as matlab_imresize

    arr = np.asarray(image, dtype=np.float64)
    return matlab_imresize(arr, scale, antialias=antialiasing, dtype=np.float64)
