"""Population Stability Index: sum over bins of (cur - ref) * ln(cur / ref), in proportions.

The credit-scoring rule of thumb reads PSI < 0.1 as stable, 0.1–0.2 as a moderate
shift and > 0.2 as a major one; the default threshold is 0.1 (as in Evidently),
raise it to 0.2 to flag only major shifts. Numeric columns use ``bins`` (10)
quantile bins of the reference; categorical columns use the categories. An empty
bin's proportion is replaced by ``EPSILON`` so the logarithm stays finite.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from heron.stats.drift._bins import binned
from heron.stats.drift.registry import DriftTest, Measured, register

EPSILON = 1e-4
BINS = 10


def psi_from_counts(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    ref = reference / reference.sum()
    cur = current / current.sum()
    ref = np.where(ref == 0, EPSILON, ref)
    cur = np.where(cur == 0, EPSILON, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi(reference: NDArray[np.float64], current: NDArray[np.float64], *, seed: int = 0, bins: int = BINS) -> Measured:
    return Measured(psi_from_counts(*binned(reference, current, bins)))


def psi_categorical(reference: NDArray[np.int64], current: NDArray[np.int64], *, seed: int = 0) -> Measured:
    return Measured(psi_from_counts(reference, current))


PSI = register(
    DriftTest(
        key="psi",
        measure={"numeric": psi, "categorical": psi_categorical},
        threshold=0.1,
        rule="distance",
        description="Population Stability Index over reference-quantile bins or categories; drift when >= threshold (0.1 moderate, 0.2 major).",
    )
)
