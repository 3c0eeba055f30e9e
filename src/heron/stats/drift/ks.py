"""Two-sample Kolmogorov–Smirnov: the largest gap between the two empirical CDFs.

Same statistic and p-value as ``scipy.stats.ks_2samp`` (two-sided, method auto):
up to 10,000 per side scipy itself is called (its exact distribution); above,
the statistic comes from one merge of the pre-sorted samples and the p-value
from the same asymptotic ``kstwo`` distribution scipy uses, which saves its two
sorts and two binary searches per call.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.stats  # type: ignore[import-untyped, unused-ignore]  # no stubs in the venv
from numpy.typing import NDArray

from heron.stats.drift.registry import DriftTest, Measured, register

EXACT_MAX_N = 10_000
"""scipy's own switch from the exact to the asymptotic distribution."""


def ks_statistic(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """sup |F_ref - F_cur| for sorted samples, in O(n) after one stable merge."""
    n, m = reference.size, current.size
    merged = np.concatenate((reference, current))
    order = np.argsort(merged, kind="stable")  # two sorted runs: a single merge pass
    values = merged[order]
    seen_reference = np.cumsum(order < n)
    seen_current = np.arange(1, n + m + 1) - seen_reference
    cdf_gap = seen_reference / n - seen_current / m
    # Only the last of a run of ties is a point where both CDFs are evaluated.
    last = np.empty(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=last[:-1])
    last[-1] = True
    gaps = cdf_gap[last]
    return float(max(gaps.max(), -gaps.min(), 0.0))


def ks(reference: NDArray[np.float64], current: NDArray[np.float64], *, seed: int = 0) -> Measured:
    n, m = reference.size, current.size
    if max(n, m) <= EXACT_MAX_N:
        with warnings.catch_warnings():  # scipy warns when it falls back from exact to asymptotic
            warnings.simplefilter("ignore", RuntimeWarning)
            result = scipy.stats.ks_2samp(reference, current)
        return Measured(float(result.statistic), float(result.pvalue), effect=float(result.statistic))
    d = ks_statistic(reference, current)
    big, small = max(n, m), min(n, m)
    en = round(big * small / (big + small))
    return Measured(d, float(np.clip(scipy.stats.kstwo.sf(d, en), 0.0, 1.0)), effect=d)


MIN_GAP = 0.1
"""The largest CDF gap a drift needs besides p < threshold: a tenth of the rows on the other side of some value."""


KS = register(
    DriftTest(
        key="ks",
        measure={"numeric": ks},
        threshold=0.05,
        rule="p_value",
        min_effect=MIN_GAP,
        description="Kolmogorov–Smirnov two-sample test; drift when p < threshold and the CDFs are at least 0.1 apart. Default for numeric columns up to 1,000 rows a side.",
    )
)
