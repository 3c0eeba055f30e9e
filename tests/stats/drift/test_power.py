"""Sanity of the defaults: real shifts are found, equal distributions mostly are not."""

from __future__ import annotations

import numpy as np
import pytest

from heron.stats.drift import default_test, detect, get, keys
from heron.stats.drift.mmd import mmd

SEEDS = range(20)


def _numeric(seed: int, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.normal(shift, 1.0, size=n)


def _categorical(seed: int, n: int, moved: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = np.array(list("abcde"), dtype=object)
    base = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    other = base + moved * np.array([-1, 0, 0, 0, 1])
    return names[rng.choice(5, n, p=base)], names[rng.choice(5, n, p=other)]


def _cases(kind: str) -> list[tuple[str, int]]:
    # Every test at a large n; at n = 500 only the default (p-value) test: distances are
    # noisy there (Wasserstein between two samples of 500 normals reaches 0.16), which is
    # why the default rule does not use them below 1,000 rows.
    return [(key, 20_000) for key in keys(kind)] + [(default_test(kind, 500, 500), 500)]


@pytest.mark.parametrize(("key", "n"), _cases("numeric"))
def test_numeric_shift_is_found_and_no_shift_mostly_is_not(key: str, n: int) -> None:
    found = sum(detect(*_numeric(seed, n, 0.5), test=key).drifted for seed in SEEDS)
    false = sum(detect(*_numeric(seed, n, 0.0), test=key).drifted for seed in SEEDS)
    assert found == len(SEEDS)
    assert false <= 3


@pytest.mark.parametrize(("key", "n"), _cases("categorical"))
def test_categorical_shift_is_found_and_no_shift_mostly_is_not(key: str, n: int) -> None:
    found = sum(detect(*_categorical(seed, n, 0.15), test=key).drifted for seed in SEEDS)
    false = sum(detect(*_categorical(seed, n, 0.0), test=key).drifted for seed in SEEDS)
    assert found == len(SEEDS)
    assert false <= 3


def _embeddings(seed: int, n: int, shift: float, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + shift


def test_mmd_p_value_is_roughly_uniform_under_no_drift() -> None:
    p = np.array([mmd(*_embeddings(seed, 100, 0.0), seed=seed, n_permutations=200).p_value for seed in SEEDS])
    assert np.mean(p < 0.05) < 0.10
    assert 0.3 < p.mean() < 0.7  # a uniform's mean is 0.5


def test_mmd_finds_a_mean_shift_in_embeddings() -> None:
    for seed in range(5):
        result = detect(*_embeddings(seed, 300, 0.15), test="mmd", seed=seed)
        assert result.drifted and result.p_value is not None and result.p_value < 0.01


def test_mmd_sees_a_change_of_spread_the_mean_misses() -> None:
    rng = np.random.default_rng(9)
    assert detect(rng.normal(size=(400, 16)), rng.normal(0.0, 1.3, size=(400, 16)), test="mmd").drifted


@pytest.mark.parametrize("n", [300, 6_000])
def test_classifier_finds_a_mean_shift_and_stays_quiet_without_one(n: int) -> None:
    assert all(detect(*_embeddings(seed, n, 0.15), test="classifier", seed=seed).drifted for seed in range(5))
    assert sum(detect(*_embeddings(seed, n, 0.0), test="classifier", seed=seed).drifted for seed in range(10)) <= 1


def test_scores_rank_drifts_by_size_across_tests() -> None:
    for key in keys("numeric"):
        scores = [detect(*_numeric(1, 5_000, shift), test=key).score for shift in (0.0, 0.05, 0.2, 1.0)]
        assert scores == sorted(scores), key
        assert all(0.0 <= s <= 1.0 for s in scores)
    assert get("mmd").decide(mmd(*_embeddings(2, 300, 1.0)))[1] > 0.9  # beyond every permutation, still ranked
