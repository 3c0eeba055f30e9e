"""Bins for histogram-based tests on numeric columns: quantiles of the reference.

Quantile bins give each bin about the same reference mass, so no bin is starved
where the reference is sparse (equal-width bins put most of a skewed column in
one bin). Bins are right-closed, ``(-inf, e1], (e1, e2], ..., (ek, inf)``, with
``e`` the reference's interior quantiles (numpy's linear method), de-duplicated.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def quantile_edges(reference: NDArray[np.float64], bins: int) -> NDArray[np.float64]:
    """Interior edges for ``bins`` equal-mass bins of a sorted, non-empty reference."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    rank = np.linspace(0.0, 1.0, bins + 1)[1:-1] * (reference.size - 1)
    below = np.floor(rank).astype(np.int64)
    above = np.minimum(below + 1, reference.size - 1)
    low, high = reference[below], reference[above]
    return np.unique(low + (rank - below) * (high - low))


def bin_counts(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """Counts per right-closed bin for sorted ``values``: two binary searches per edge, no pass over the data."""
    cumulative = np.searchsorted(values, edges, side="right")
    return np.diff(np.concatenate(([0], cumulative, [values.size]))).astype(np.int64)


def binned(reference: NDArray[np.float64], current: NDArray[np.float64], bins: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    edges = quantile_edges(reference, bins)
    return bin_counts(reference, edges), bin_counts(current, edges)
