"""Every registered test, on every kind it measures: empty, missing, identical, constant, single value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from heron.stats.drift import UnknownTestError, detect, get, keys, registry
from heron.stats.drift.registry import DriftTest, Measured, register

CASES = [(key, kind) for key in keys() for kind in get(key).kinds]


def sample(kind: str, n: int, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        return rng.normal(shift, 1.0, size=n)
    if kind == "categorical":
        return np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)]
    return rng.normal(shift, 1.0, size=(n, 8))


def with_missing(kind: str, values: np.ndarray, count: int) -> np.ndarray:
    if kind == "numeric":
        return np.concatenate((values, [np.nan] * (count - 1), [np.inf]))
    if kind == "categorical":
        return np.concatenate((values, np.array([None] * (count - 1) + [float("nan")], dtype=object)))
    holes = np.full((count, values.shape[1]), 1.0)
    holes[:, 0] = np.nan
    return np.vstack((values, holes))


def empty(kind: str) -> np.ndarray:
    return np.empty((0, 8)) if kind == "embedding" else np.array([], dtype=float if kind == "numeric" else object)


@pytest.mark.parametrize(("key", "kind"), CASES)
@pytest.mark.parametrize("side", ["reference", "current", "both"])
def test_empty_side_is_reported_not_raised(key: str, kind: str, side: str) -> None:
    full = sample(kind, 50)
    ref = empty(kind) if side in ("reference", "both") else full
    cur = empty(kind) if side in ("current", "both") else full
    result = detect(ref, cur, test=key, kind=kind)
    assert result.drifted is False and result.score == 0.0 and math.isnan(result.statistic)
    assert result.reason is not None and "no values" in result.reason


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_all_missing_counts_what_was_dropped(key: str, kind: str) -> None:
    result = detect(with_missing(kind, empty(kind), 5), sample(kind, 50), test=key, kind=kind)
    assert result.reason == "reference has no values (5 missing dropped)"
    assert (result.drifted, result.n_reference, result.dropped_reference) == (False, 0, 5)


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_missing_values_are_dropped_and_counted(key: str, kind: str) -> None:
    ref, cur = sample(kind, 300, 1), sample(kind, 200, 2)
    clean = detect(ref, cur, test=key, kind=kind)
    result = detect(with_missing(kind, ref, 4), with_missing(kind, cur, 7), test=key, kind=kind)
    assert (result.dropped_reference, result.dropped_current) == (4, 7)
    assert (result.n_reference, result.n_current) == (300, 200)
    assert result.statistic == pytest.approx(clean.statistic) and result.p_value == pytest.approx(clean.p_value)


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_identical_samples_do_not_drift(key: str, kind: str) -> None:
    values = sample(kind, 400, 3)
    result = detect(values, values.copy(), test=key, kind=kind)
    test = get(key)
    assert result.drifted is False and result.reason is None
    assert result.statistic == pytest.approx(test.baseline, abs=1e-12)
    assert result.score == pytest.approx(0.0, abs=1e-12)
    if result.p_value is not None:
        assert result.p_value == 1.0


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_constant_samples(key: str, kind: str) -> None:
    one = sample(kind, 1, 4)
    same = np.repeat(one, 60, axis=0)
    assert detect(same, np.repeat(one, 40, axis=0), test=key, kind=kind).drifted is False
    other = sample(kind, 1, 5, shift=10.0)
    if kind == "categorical":
        other = np.array(["z"], dtype=object)
    moved = detect(same, np.repeat(other, 40, axis=0), test=key, kind=kind)
    assert moved.drifted is True and moved.score > 0.5


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_single_value_per_side(key: str, kind: str) -> None:
    result = detect(sample(kind, 1, 6), sample(kind, 1, 7), test=key, kind=kind)
    if get(key).min_size > 1:
        assert result.reason == f"{key} needs at least {get(key).min_size} values a side"
    else:
        assert result.reason is None and 0.0 <= result.score <= 1.0
    assert result.drifted is False or result.p_value is None


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_score_is_half_on_the_threshold(key: str, kind: str) -> None:
    test = get(key)
    measured = Measured(test.threshold, 1e-9) if test.rule == "distance" else Measured(1.0, test.threshold)
    assert test.decide(measured)[1] == pytest.approx(0.5)


def test_unknown_key_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownTestError, match="valid: .*chi2.*ks.*mmd.*wasserstein"):
        get("kolmogorov")
    with pytest.raises(UnknownTestError, match="valid: chi2, jensenshannon, psi"):
        detect(np.array(["a"]), np.array(["b"]), test="ks")


def test_registered_keys_are_short_snake_case() -> None:
    assert keys() == ("chi2", "classifier", "jensenshannon", "ks", "mmd", "psi", "wasserstein")
    assert keys("embedding") == ("classifier", "mmd")
    with pytest.raises(UnknownTestError, match="valid: numeric, categorical, embedding"):
        keys("text")


def test_a_new_test_is_one_registration() -> None:
    def mean_gap(reference: np.ndarray, current: np.ndarray, *, seed: int = 0) -> Measured:
        return Measured(abs(float(current.mean() - reference.mean())))

    register(DriftTest("mean_gap", {"numeric": mean_gap}, 0.5, "distance", "absolute difference of means"))
    try:
        result = detect(np.zeros(10), np.ones(10), test="mean_gap")
        assert (result.statistic, result.drifted, result.score) == (1.0, True, pytest.approx(2 / 3))
    finally:
        registry._REGISTRY.pop("mean_gap")
