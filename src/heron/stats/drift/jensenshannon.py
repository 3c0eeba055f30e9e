"""Jensen–Shannon distance (base 2) between the two category distributions.

The square root of the JS divergence, as ``scipy.spatial.distance.jensenshannon``
with ``base=2``: 0 for equal distributions, 1 for disjoint ones, symmetric and
finite when a category is missing on one side (unlike PSI or KL). Threshold 0.1
as in Evidently. Numeric columns are binned on the reference's quantiles.
"""

from __future__ import annotations

import numpy as np
import scipy.spatial.distance  # type: ignore[import-untyped, unused-ignore]  # no stubs in the venv
from numpy.typing import NDArray

from heron.stats.drift._bins import binned
from heron.stats.drift.registry import DriftTest, Measured, register

BINS = 10


def js_from_counts(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    return float(scipy.spatial.distance.jensenshannon(reference, current, base=2))


def jensenshannon(reference: NDArray[np.int64], current: NDArray[np.int64], *, seed: int = 0) -> Measured:
    return Measured(js_from_counts(reference, current))


def jensenshannon_numeric(reference: NDArray[np.float64], current: NDArray[np.float64], *, seed: int = 0, bins: int = BINS) -> Measured:
    return Measured(js_from_counts(*binned(reference, current, bins)))


JENSENSHANNON = register(
    DriftTest(
        key="jensenshannon",
        measure={"categorical": jensenshannon, "numeric": jensenshannon_numeric},
        threshold=0.1,
        rule="distance",
        description="Jensen–Shannon distance (base 2) between category (or reference-quantile bin) shares; drift when >= threshold. Default for categorical columns above 1,000 rows a side.",
    )
)
