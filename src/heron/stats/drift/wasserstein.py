"""Wasserstein-1 distance divided by the reference's spread (Evidently's ``wasserstein``).

The raw distance (``scipy.stats.wasserstein_distance``) is in the feature's units,
so it is divided by the reference's standard deviation: 0.1 means the mass moved
a tenth of a standard deviation on average. A constant reference has no spread;
then the pooled standard deviation is used (its IQR would be 0 too), and two
identical constants give 0.

The distance is the area between the two quantile functions, computed from the
pre-sorted samples in one linear pass: the breakpoints ``i/n`` and ``j/m`` are
merged by integer arithmetic instead of a sort.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from heron.stats.drift.registry import DriftTest, Measured, register


def wasserstein_sorted(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """W1 between two sorted samples: the integral of |Q_ref(q) - Q_cur(q)| over q in [0, 1]."""
    n, m = reference.size, current.size
    if n == m:
        return float(np.abs(reference - current).mean())
    # Breakpoints on the grid 1/(n*m): i*m for the reference, j*n for the current.
    # The merged position of i*m is i + #{j : j*n < i*m}; ties put the reference first.
    i = np.arange(n + 1, dtype=np.int64)
    j = np.arange(m + 1, dtype=np.int64)
    points = np.empty(n + m + 2, dtype=np.int64)
    points[i + -((-i * m) // n)] = i * m
    points[j + (j * n) // m + 1] = j * n
    start, width = points[:-1], np.diff(points)
    keep = width > 0
    start, width = start[keep], width[keep]
    gap = np.abs(reference[start // m] - current[start // n])
    return float(np.dot(width, gap) / (n * m))


def spread(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    scale = float(np.std(reference))
    if scale == 0.0:
        scale = float(np.std(np.concatenate((reference, current))))
    return scale


def wasserstein(reference: NDArray[np.float64], current: NDArray[np.float64], *, seed: int = 0) -> Measured:
    distance = wasserstein_sorted(reference, current)
    if distance == 0.0:
        return Measured(0.0)
    return Measured(distance / spread(reference, current))


WASSERSTEIN = register(
    DriftTest(
        key="wasserstein",
        measure={"numeric": wasserstein},
        threshold=0.1,
        rule="distance",
        description="Wasserstein-1 distance in reference standard deviations; drift when >= threshold. Default for numeric columns above 1,000 rows a side.",
    )
)
