"""Per-type decision thresholds for real-photo prevalence.

The thresholds chosen at the end of training maximise F1 on synthetic validation samples, which
are mostly degraded and look like the synthesis. Real photos differ: the analyzer's probability
for a real degradation is often lower than for its synthetic likeness, and most photos people
hand in are clean. :func:`choose_thresholds` therefore picks, per type, the threshold that finds
the most labelled real photos of that type while keeping false alarms within a budget:

- on clean photos (``negatives``: clean photos held out of training, plus real clean photos);
- on real photos labelled with another type (``cross``): a haze photo read as rain is a false
  alarm for rain, but such photos may also carry the other damage (a rainy street is also
  hazy, a photo through glass is often soft), so their budget is looser.

A threshold may fall below the trained one only as far as both budgets hold; the cross budget
never raises one. Among the allowed thresholds the highest recall wins, and among equal recalls
the one closest to the trained threshold (the least change): a type without labelled real
photos, or whose real photos no allowed threshold finds, keeps its trained threshold unless
that breaks the clean budget, in which case it rises until it keeps it. The search never goes
below ``floor``: under it a probability says little.

These are decision thresholds, calibrated on photos that are never used to train weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

GRID = np.round(np.arange(0.05, 0.951, 0.01), 2).astype(np.float32)
"""The candidate thresholds (float32, as the analyzer compares its probabilities)."""


@dataclass(frozen=True)
class Budgets:
    """How many false alarms each type may cost (shares of the photos checked)."""

    clean: float = 0.02
    """Per type, on clean photos. Eight types at 2 % each keep the union near 10 %, since the
    types' false alarms on one clean photo tend to coincide."""
    cross: float = 0.15
    """Per type, on real photos labelled with another type."""
    floor: float = 0.15


def choose_thresholds(
    positives: Mapping[int, np.ndarray],
    negatives: np.ndarray,
    cross: Mapping[int, np.ndarray],
    trained: np.ndarray,
    budgets: Budgets = Budgets(),
) -> np.ndarray:
    """Thresholds, one per type (column).

    ``positives[j]``: type ``j``'s probability on real photos labelled ``j``; ``negatives``:
    (N, types) probabilities on clean photos; ``cross[j]``: type ``j``'s probability on real
    photos labelled with another type; ``trained``: the thresholds chosen in training."""
    thresholds = np.asarray(trained, dtype=np.float32).copy()
    for j in range(len(thresholds)):
        clean_alarm = _rates(negatives[:, j]) if len(negatives) else np.zeros(len(GRID))
        cross_alarm = _rates(cross.get(j, np.zeros(0)))
        lowered = thresholds[j] > GRID
        # a threshold may fall below the trained one only while both budgets hold; the cross
        # budget never raises one (photos of another type may carry this damage too)
        allowed = (clean_alarm <= budgets.clean + 1e-9) & (
            ~lowered | (cross_alarm <= budgets.cross + 1e-9)
        )
        allowed &= np.float32(budgets.floor) <= GRID
        if not allowed.any():  # nothing keeps the clean budget: the most conservative candidate
            thresholds[j] = max(float(thresholds[j]), float(GRID[-1]))
            continue
        found = positives.get(j)
        recall = _rates(found) if found is not None else np.zeros(len(GRID))
        best = np.flatnonzero(allowed & (recall >= recall[allowed].max() - 1e-9))
        # among the equally good, the one closest to the trained threshold (the least change)
        closest = best[np.argmin(np.abs(GRID[best] - thresholds[j]))]
        own = np.float32(thresholds[j])
        keeps_own = float(np.mean(negatives[:, j] >= own)) if len(negatives) else 0.0
        own_recall = float(np.mean(found >= own)) if found is not None and len(found) else 0.0
        if not (keeps_own <= budgets.clean + 1e-9 and own_recall >= recall[closest] - 1e-9):
            thresholds[j] = float(GRID[closest])
    return thresholds


def _rates(probabilities: np.ndarray) -> np.ndarray:
    """For every candidate threshold, the share of ``probabilities`` at or above it."""
    values = np.asarray(probabilities, dtype=np.float32)
    if values.size == 0:
        return np.zeros(len(GRID))
    return (values[None, :] >= GRID[:, None]).mean(axis=1)


def leave_one_out_hits(
    positives: Mapping[int, np.ndarray],
    negatives: np.ndarray,
    cross: Mapping[int, np.ndarray],
    trained: np.ndarray,
    budgets: Budgets = Budgets(),
) -> dict[int, int]:
    """Per type, how many labelled photos are found when each photo's own type threshold is
    chosen without that photo: the recall a photo from the same sources, but unseen, would
    get (the in-sample recall of :func:`choose_thresholds` is optimistic)."""
    hits: dict[int, int] = {}
    for j, found in positives.items():
        count = 0
        for k in range(len(found)):
            rest = dict(positives)
            rest[j] = np.delete(found, k)
            threshold = choose_thresholds(rest, negatives, cross, trained, budgets)[j]
            count += int(np.float32(found[k]) >= threshold)
        hits[j] = count
    return hits
