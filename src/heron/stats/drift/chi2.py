"""Pearson's chi-squared test of homogeneity on the 2 x k table of category counts.

Exactly ``scipy.stats.chi2_contingency`` on ``[reference_counts, current_counts]``,
including its Yates continuity correction when there are two categories (one
degree of freedom). A single category has no degrees of freedom: statistic 0,
p = 1. With large samples any tiny change becomes significant, which is why the
default rule switches to Jensen–Shannon above 1,000 rows a side.
"""

from __future__ import annotations

import numpy as np
import scipy.stats  # type: ignore[import-untyped, unused-ignore]  # no stubs in the venv
from numpy.typing import NDArray

from heron.stats.drift.registry import DriftTest, Measured, register


def chi2(reference: NDArray[np.int64], current: NDArray[np.int64], *, seed: int = 0) -> Measured:
    if reference.size < 2:
        return Measured(0.0, 1.0)
    result = scipy.stats.chi2_contingency(np.vstack((reference, current)))
    return Measured(float(result.statistic), float(result.pvalue), effect=total_variation(reference, current))


def total_variation(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """Half the L1 distance between the two category shares: the share of traffic that changed category."""
    p, q = reference / max(reference.sum(), 1), current / max(current.sum(), 1)
    return float(np.abs(p - q).sum() / 2)


MIN_MOVED = 0.05
"""The share of rows that must have changed category besides p < threshold."""


CHI2 = register(
    DriftTest(
        key="chi2",
        measure={"categorical": chi2},
        threshold=0.05,
        rule="p_value",
        min_effect=MIN_MOVED,
        description="Chi-squared test of homogeneity on category counts; drift when p < threshold and at least 5% of the rows changed category. Default for categorical columns up to 1,000 rows a side.",
    )
)
