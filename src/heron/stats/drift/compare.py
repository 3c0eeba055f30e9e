"""Entry points: one feature (:func:`detect`) or many (:func:`compare`), with the default rule.

Default test by kind and the smaller side's size (``n`` after dropping missing
values), as Evidently chooses: below ~1,000 rows a p-value test has the power to
see real changes without flagging every trivial one (and still needs a minimum
effect: a CDF gap of 0.1, 5% of rows changing category); above, p-values flag
differences too small to matter, so an effect size with a fixed threshold is
used instead. Below ``MIN_ROWS`` a side there is no verdict at all, only a
reason ("not enough reference data (n = 53; a verdict needs 100 a side)").

    numeric      n <= 1,000: ks             else wasserstein
    categorical  n <= 1,000: chi2           else jensenshannon
    embedding    n <= 1,000: mmd            else classifier (AUC >= 0.55 and p < 0.05)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from heron.stats.drift import registry
from heron.stats.drift._samples import Pair, infer_kind, prepare
from heron.stats.drift.result import DriftReport, DriftResult

SMALL = 1_000
"""Up to this many rows a side, numeric and categorical columns get a p-value test."""
SMALL_EMBEDDING = 1_000
"""Up to this many rows a side, embeddings get MMD's permutation test; above, the classifier, whose held-out
AUC is an effect size (MMD at 2,000 a side flagged two Mondays of the same traffic at p < 0.05)."""
MIN_ROWS = 100
"""Rows a side below which no verdict is given: a reference of 19-53 rows gave verdicts that changed between loads."""

_DEFAULTS = {
    "numeric": ("ks", "wasserstein", SMALL),
    "categorical": ("chi2", "jensenshannon", SMALL),
    "embedding": ("mmd", "classifier", SMALL_EMBEDDING),
}


def default_test(kind: str, n_reference: int, n_current: int) -> str:
    """The key the default rule picks for a feature of ``kind`` with these usable sizes."""
    try:
        small, large, limit = _DEFAULTS[kind]
    except KeyError:
        raise registry.UnknownTestError(f"unknown kind {kind!r}; valid: {', '.join(registry.KINDS)}") from None
    return small if min(n_reference, n_current) <= limit else large


def detect(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    kind: str | None = None,
    test: str | None = None,
    threshold: float | None = None,
    seed: int = 0,
    feature: str = "",
    min_rows: int = 1,
    **options: Any,
) -> DriftResult:
    """Test one feature; ``options`` go to the test's function (e.g. ``n_permutations`` for mmd).
    The caller chose to test: any size gets a verdict unless ``min_rows`` says otherwise (reports use ``MIN_ROWS``)."""
    kind = kind or _infer(reference, current, feature)
    return _run(feature, prepare(kind, reference, current), test, threshold, seed, options, min_rows)


def compare(
    reference: Mapping[str, ArrayLike],
    current: Mapping[str, ArrayLike],
    kinds: Mapping[str, str] | None = None,
    tests: Mapping[str, str] | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
    share_threshold: float = 0.5,
    workers: int = 1,
    min_rows: int = MIN_ROWS,
) -> DriftReport:
    """Test every feature of ``reference`` and ``current`` and summarise.

    ``kinds`` and ``tests`` are keyed by feature (missing ones are inferred / chosen
    by the default rule); ``thresholds`` and ``options`` are keyed by test key.
    A feature on one side only is reported with a ``reason``. ``workers`` > 1 tests
    features in threads (numpy's sorts and BLAS release the GIL).
    """
    kinds, tests = kinds or {}, tests or {}
    thresholds, options = thresholds or {}, options or {}
    for key in {*tests.values(), *thresholds, *options}:
        registry.get(key)  # fail before any work on a misspelt key
    features = [*reference, *(f for f in current if f not in reference)]

    def one(feature: str) -> DriftResult:
        if feature not in current or feature not in reference:
            side = "current" if feature not in current else "reference"
            present = reference[feature] if feature in reference else current[feature]
            kind = kinds.get(feature) or infer_kind(present)
            missing = tests.get(feature) or default_test(kind, 0, 0)
            return _skipped(feature, kind, missing, thresholds.get(missing), f"missing from {side}")
        kind = kinds.get(feature) or _infer(reference[feature], current[feature], feature)
        pair = prepare(kind, reference[feature], current[feature])
        key = tests.get(feature)
        chosen = key or default_test(kind, pair.n_reference, pair.n_current)
        return _run(feature, pair, key, thresholds.get(chosen), seed, options.get(chosen, {}), min_rows)

    if workers > 1 and len(features) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = tuple(pool.map(one, features))
    else:
        results = tuple(one(f) for f in features)
    return DriftReport(results, share_threshold)


def _infer(reference: ArrayLike, current: ArrayLike, feature: str) -> str:
    ref_kind, cur_kind = infer_kind(reference), infer_kind(current)
    if ref_kind == cur_kind:
        return ref_kind
    # An empty side carries no type information (np.asarray([]) is float64).
    if _size(reference) == 0:
        return cur_kind
    if _size(current) == 0:
        return ref_kind
    raise ValueError(f"{feature or 'feature'}: reference looks {ref_kind} but current looks {cur_kind}; pass its kind")


def _size(values: ArrayLike) -> int:
    return int(np.asarray(values).shape[0]) if np.ndim(values) else 1


def _run(feature: str, pair: Pair, test_key: str | None, threshold: float | None, seed: int, options: Mapping[str, Any],
         min_rows: int) -> DriftResult:
    key = test_key or default_test(pair.kind, pair.n_reference, pair.n_current)
    test = registry.get(key)
    if pair.kind not in test.measure:
        raise registry.UnknownTestError(
            f"{key} does not measure {pair.kind} features; valid: {', '.join(registry.keys(pair.kind))}"
        )
    limit = test.threshold if threshold is None else threshold
    reason = _why_not(pair, test.min_size, key, min_rows)
    if reason is not None:
        return _skipped(feature, pair.kind, key, limit, reason, pair)
    measured = test.measure[pair.kind](pair.reference, pair.current, seed=seed, **{**test.options, **options})
    drifted, score = test.decide(measured, limit)
    return DriftResult(
        feature, pair.kind, key, measured.statistic, measured.p_value, limit, drifted, score,
        pair.n_reference, pair.n_current, pair.dropped_reference, pair.dropped_current,
    )


def _why_not(pair: Pair, min_size: int, key: str, min_rows: int) -> str | None:
    sides = (("reference", pair.n_reference, pair.dropped_reference), ("current", pair.n_current, pair.dropped_current))
    for side, n, dropped in sides:
        if n == 0:
            return f"{side} has no values" + (f" ({dropped} missing dropped)" if dropped else "")
    for side, n, _ in sides:
        if n < min_rows:
            return f"not enough {side} data (n = {n}; a verdict needs {min_rows} a side)"
    if min(pair.n_reference, pair.n_current) < min_size:
        return f"{key} needs at least {min_size} values a side"
    return None


def _skipped(feature: str, kind: str, key: str, threshold: float | None, reason: str, pair: Pair | None = None) -> DriftResult:
    limit = registry.get(key).threshold if threshold is None else threshold
    if pair is None:
        return DriftResult(feature, kind, key, math.nan, None, limit, False, 0.0, 0, 0, reason=reason)
    return DriftResult(
        feature, kind, key, math.nan, None, limit, False, 0.0,
        pair.n_reference, pair.n_current, pair.dropped_reference, pair.dropped_current, reason,
    )
