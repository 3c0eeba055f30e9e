"""Turn raw columns into what the tests measure, dropping and counting missing values.

Numeric columns are sorted once here so that every numeric test works on sorted
arrays (KS, Wasserstein and the quantile bins are then linear passes);
categorical columns become count vectors over the union of categories;
embeddings lose rows with any non-finite value.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from heron.stats.drift.registry import KINDS, UnknownTestError


@dataclass(frozen=True, slots=True)
class Pair:
    """Both sides of one feature, ready for a test; ``n_*`` count usable observations."""

    kind: str
    reference: NDArray[Any]
    current: NDArray[Any]
    n_reference: int
    n_current: int
    dropped_reference: int
    dropped_current: int


def infer_kind(values: ArrayLike) -> str:
    """numeric dtype -> numeric, bool/strings/objects -> categorical, 2-D -> embedding."""
    array = np.asarray(values)
    if array.ndim == 2:
        return "embedding"
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D column or a 2-D array of vectors, got {array.ndim} dimensions")
    if array.dtype.kind in "iuf":
        return "numeric"
    if array.dtype.kind in "bUSO":
        return "categorical"
    raise ValueError(f"cannot infer a kind for dtype {array.dtype}; pass one of: {', '.join(KINDS)}")


def prepare(kind: str, reference: ArrayLike, current: ArrayLike) -> Pair:
    if kind == "numeric":
        (ref, ref_dropped), (cur, cur_dropped) = _numeric(reference), _numeric(current)
        return Pair(kind, ref, cur, ref.size, cur.size, ref_dropped, cur_dropped)
    if kind == "categorical":
        return _categorical(reference, current)
    if kind == "embedding":
        (ref, ref_dropped), (cur, cur_dropped) = _embedding(reference), _embedding(current)
        if ref.shape[0] and cur.shape[0] and ref.shape[1] != cur.shape[1]:
            raise ValueError(f"embedding widths differ: reference {ref.shape[1]}, current {cur.shape[1]}")
        return Pair(kind, ref, cur, ref.shape[0], cur.shape[0], ref_dropped, cur_dropped)
    raise UnknownTestError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")


def _numeric(values: ArrayLike) -> tuple[NDArray[np.float64], int]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"a numeric column must be 1-D, got shape {array.shape}")
    ordered = np.sort(np.asarray(array, dtype=np.float64))
    # sort puts NaN last; -inf/+inf sit at the ends of the finite run.
    lo = int(np.searchsorted(ordered, -np.inf, side="right"))
    hi = int(np.searchsorted(ordered, np.inf, side="left"))
    return ordered[lo:hi], ordered.size - (hi - lo)


def _categorical(reference: ArrayLike, current: ArrayLike) -> Pair:
    (ref_keys, ref_counts, ref_dropped), (cur_keys, cur_counts, cur_dropped) = _counts(reference), _counts(current)
    index = {key: i for i, key in enumerate(ref_keys)}
    for key in cur_keys:
        index.setdefault(key, len(index))
    ref = np.zeros(len(index), dtype=np.int64)
    cur = np.zeros(len(index), dtype=np.int64)
    ref[[index[k] for k in ref_keys]] = ref_counts
    cur[[index[k] for k in cur_keys]] = cur_counts
    return Pair("categorical", ref, cur, int(ref.sum()), int(cur.sum()), ref_dropped, cur_dropped)


def _counts(values: ArrayLike) -> tuple[list[object], NDArray[np.int64], int]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"a categorical column must be 1-D, got shape {array.shape}")
    if array.dtype.kind in "iub":
        keys, counts = np.unique(array, return_counts=True)
        return keys.tolist(), counts.astype(np.int64), 0
    if array.dtype.kind == "f":
        finite = array[~np.isnan(array)]
        keys, counts = np.unique(finite, return_counts=True)
        return keys.tolist(), counts.astype(np.int64), array.size - finite.size
    # Strings and objects: a hash count beats sorting Python objects by ~10x.
    counter = Counter(array.tolist() if array.dtype.kind in "US" else array)
    missing = [k for k in counter if k is None or (isinstance(k, float) and math.isnan(k))]
    dropped = sum(counter.pop(k) for k in missing)
    return list(counter), np.fromiter(counter.values(), dtype=np.int64, count=len(counter)), dropped


def _embedding(values: ArrayLike) -> tuple[NDArray[np.float64], int]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 0)
    if array.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (rows are vectors), got shape {array.shape}")
    finite = np.isfinite(array).all(axis=1)
    if finite.all():
        return array, 0
    return array[finite], int(array.shape[0] - finite.sum())


def same_rows(reference: NDArray[np.float64], current: NDArray[np.float64]) -> bool:
    """Whether two embedding samples hold the same rows (as multisets), without sorting 256 keys."""
    if reference.shape != current.shape:
        return False
    probe = np.linspace(1.0, 2.0, reference.shape[1]) ** 1.5  # any fixed direction orders the rows
    ref_order = np.argsort(reference @ probe, kind="stable")
    cur_order = np.argsort(current @ probe, kind="stable")
    return bool(np.array_equal(reference[ref_order], current[cur_order]))
