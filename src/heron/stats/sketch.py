"""Log-bucketed quantile sketch (the DDSketch mapping) shared by Python and SQL rollups.

A value x > 0 falls in bucket ``ceil(log(x) / log(GAMMA))``; reporting the bucket's
midpoint ``2 * GAMMA**b / (GAMMA + 1)`` keeps every quantile within ``ALPHA``
relative error, and histograms merge by adding counts — so hourly rollups can be
summed into days or across dimensions without losing accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

ALPHA = 0.02
"""Relative accuracy of every reported quantile."""
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
MIN_VALUE = 1e-3
"""Values below this (including 0) share the lowest bucket."""


def bucket_of(x: float) -> int:
    return math.ceil(math.log(max(x, MIN_VALUE)) / LOG_GAMMA)


def value_of(bucket: int) -> float:
    return 2.0 * GAMMA**bucket / (GAMMA + 1.0)


def quantile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a {bucket: count} histogram; None when empty.

    Uses the rank ``q * (n - 1)`` like numpy's default linear method, so results
    agree with ``numpy.percentile`` within ALPHA.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    below = math.floor(rank)
    lo = hi = None
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if lo is None and seen > below:
            lo = bucket
        if seen > below + 1:
            hi = bucket
            break
    assert lo is not None
    low = value_of(lo)
    high = value_of(hi if hi is not None else lo)
    return low + (rank - below) * (high - low)


def histogram(values: Iterable[float]) -> dict[int, int]:
    out: dict[int, int] = {}
    for x in values:
        b = bucket_of(x)
        out[b] = out.get(b, 0) + 1
    return out


def sql_bucket(column: str) -> str:
    """The same mapping as :func:`bucket_of`, as a SQL expression."""
    return f"CAST(ceil(ln(greatest({column}, {MIN_VALUE!r})) / {LOG_GAMMA!r}) AS SMALLINT)"


def sql_value(bucket: str) -> str:
    return f"(2.0 * pow({GAMMA!r}, {bucket}) / ({GAMMA!r} + 1.0))"


def grouped_quantiles(
    keys: np.ndarray, buckets: np.ndarray, counts: np.ndarray, qs: Sequence[float], *, presorted: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantiles of many histograms at once, each given as (key, bucket, count) triples.

    Returns (unique keys, totals, values[len(keys), len(qs)]); triples of one key
    may repeat buckets (partial rollups) and come in any order, unless
    ``presorted`` promises they are already ordered by (key, bucket). Same rank
    rule as :func:`quantile`.
    """
    if len(keys) == 0:
        return keys[:0], np.zeros(0, np.int64), np.zeros((0, len(qs)))
    if not presorted:
        order = np.lexsort((buckets, keys))
        keys, buckets, counts = keys[order], buckets[order], counts[order]
    counts = counts.astype(np.int64, copy=False)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    cum = np.cumsum(counts)
    ends = np.r_[starts[1:], len(keys)]
    base = np.where(starts > 0, cum[starts - 1], 0)
    totals = cum[ends - 1] - base
    values = np.empty((len(starts), len(qs)))
    for j, q in enumerate(qs):
        rank = q * (totals - 1)
        below = np.floor(rank)
        lo = np.searchsorted(cum, base + below, side="right")
        hi = np.minimum(np.searchsorted(cum, base + below + 1, side="right"), ends - 1)
        low = 2.0 * GAMMA ** buckets[lo].astype(np.float64) / (GAMMA + 1.0)
        high = 2.0 * GAMMA ** buckets[hi].astype(np.float64) / (GAMMA + 1.0)
        values[:, j] = low + (rank - below) * (high - low)
    return keys[starts], totals, values
