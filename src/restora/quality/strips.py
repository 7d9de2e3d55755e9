"""Bounded memory for whole-image metrics: work on horizontal strips with a halo.

Every metric of ``restora assess`` is built from local filters (a 7x7 Gaussian, an 11-tap box,
a bicubic resize, Sobel) and from sums, means or order statistics over the whole image. Local
filters give the same numbers on a strip as on the whole image once the strip carries enough
extra rows (the *halo*) on each side for the filter's reach; sums add up over strips, and the
one order statistic (the flat-area noise cue's 40th percentile of the gradient) is found
exactly with a few histogram passes (:func:`percentile_of_chunks`). So memory is bounded by
the strip size (:data:`STRIP_PIXELS`), whatever the image size, and an image that fits in one
strip is computed exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

STRIP_PIXELS = 1 << 20
"""Pixels per strip (about one megapixel): at the metrics' ~50-150 bytes per working pixel a
strip costs tens of megabytes, and numpy's per-call overhead stays negligible."""

HISTOGRAM_BINS = 1 << 16
DISTINCT_LIMIT = 1 << 19
"""Most distinct values :func:`percentile_of_chunks` keeps at once (a few tens of megabytes
while they are merged) before it narrows the range again."""


def budget_or_default(budget: int | None) -> int:
    """``budget``, or :data:`STRIP_PIXELS` as it is now (tests lower it to force strips)."""
    return STRIP_PIXELS if budget is None else int(budget)


def row_strips(
    height: int, width: int, *, unit: int = 1, budget: int | None = None
) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges covering ``height`` rows, each of about ``budget`` pixels
    (default :data:`STRIP_PIXELS`; at least ``unit`` rows), every start a multiple of
    ``unit`` (a block row, say)."""
    if height <= 0:
        return []
    budget = budget_or_default(budget)
    rows = max(unit, budget // max(width, 1) // unit * unit)
    return [(start, min(start + rows, height)) for start in range(0, height, rows)]


def with_halo(start: int, stop: int, height: int, halo: int) -> tuple[int, int, int]:
    """The slab ``[lo, hi)`` that holds rows ``[start, stop)`` plus ``halo`` rows each side
    (clipped to the image), and where ``start`` falls inside it."""
    lo, hi = max(start - halo, 0), min(stop + halo, height)
    return lo, hi, start - lo


def _lerp(low: float, high: float, weight: float) -> float:
    """numpy's interpolation between two order statistics (``numpy.percentile``, 'linear')."""
    diff = high - low
    if weight >= 0.5:
        return float(high - diff * (1 - weight))
    return float(low + diff * weight)


def percentile_of_chunks(
    chunks: Callable[[], Iterator[np.ndarray]],
    q: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """``numpy.percentile(all values, q)`` (its 'linear' method, the same number) of values
    that come in chunks, in bounded memory.

    ``chunks()`` yields the values (float arrays of any shape) and is called once per pass.
    Each pass builds a histogram of the values in the current range and, while they are few
    enough, keeps the distinct values with their counts (a million equal values cost one);
    the range narrows to the bins that hold the two order statistics around the percentile
    until those are known. Usually two passes, three without ``bounds`` (a range known to hold
    every value)."""
    if bounds is None:
        count, low, high = 0, math.inf, -math.inf
        for chunk in chunks():
            if chunk.size:
                count += chunk.size
                low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
        if count == 0:
            raise ValueError("percentile of no values")
    else:
        low, high = float(bounds[0]), float(bounds[1])
    below = 0  # how many values are smaller than ``low``
    ranks: tuple[int, int] | None = None
    weight = 0.0
    while True:
        edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
        histogram = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        distinct: np.ndarray | None = np.empty(0)
        counts = np.empty(0, dtype=np.int64)
        for chunk in chunks():
            inside = chunk[(chunk >= low) & (chunk <= high)]
            if not inside.size:
                continue
            index = np.searchsorted(edges, inside, side="right") - 1
            histogram += np.bincount(
                np.clip(index, 0, HISTOGRAM_BINS - 1), minlength=HISTOGRAM_BINS
            )
            if distinct is not None:
                distinct, counts = _merge_distinct(distinct, counts, inside)
        if ranks is None:
            total = int(histogram.sum())
            if total == 0:
                raise ValueError("percentile of no values")
            virtual = (total - 1) * (q / 100.0)
            first = math.floor(virtual)
            ranks, weight = (first, min(first + 1, total - 1)), virtual - first
        if distinct is not None:
            cumulative = np.cumsum(counts)
            low_value, high_value = (
                float(distinct[np.searchsorted(cumulative, rank - below, side="right")])
                for rank in ranks
            )
            return _lerp(low_value, high_value, weight)
        cumulative = np.cumsum(histogram)
        first_bin, last_bin = (
            int(np.searchsorted(cumulative, rank - below, side="right")) for rank in ranks
        )
        below += int(cumulative[first_bin - 1]) if first_bin else 0
        new_low = float(edges[first_bin])
        new_high = (
            float(np.nextafter(edges[last_bin + 1], -np.inf))
            if last_bin + 1 < HISTOGRAM_BINS
            else high
        )
        if (new_low, new_high) == (low, high):  # cannot narrow: a run of equal values
            return low
        low, high = new_low, new_high


def _merge_distinct(
    distinct: np.ndarray, counts: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray]:
    """Add ``values`` to the sorted distinct values and their counts; None once there are more
    than :data:`DISTINCT_LIMIT` (the range must narrow first)."""
    new, new_counts = np.unique(values, return_counts=True)
    if new.size > DISTINCT_LIMIT:
        return None, counts
    merged, inverse = np.unique(np.concatenate([distinct, new]), return_inverse=True)
    if merged.size > DISTINCT_LIMIT:
        return None, counts
    total = np.bincount(
        inverse, weights=np.concatenate([counts, new_counts]), minlength=merged.size
    )
    return merged, np.rint(total).astype(np.int64)


def strip_memory(
    height: int, width: int, per_strip_pixel: float, rows: int = 1, budget: int | None = None
) -> float:
    """Working bytes of a strip-wise computation: ``per_strip_pixel`` (measured) times the
    pixels of its largest strip (``budget``, at least ``rows`` whole rows, at most the image)."""
    return per_strip_pixel * min(height * width, max(budget_or_default(budget), rows * width))
