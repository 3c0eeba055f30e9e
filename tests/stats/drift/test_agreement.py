"""Every statistic and p-value against scipy (or a textbook implementation) on the same data."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from sklearn.linear_model import LogisticRegression

from heron.stats.drift import detect
from heron.stats.drift._bins import quantile_edges
from heron.stats.drift.classifier import fit_logistic
from heron.stats.drift.ks import ks_statistic
from heron.stats.drift.mmd import mmd, mmd2_unbiased, rbf_kernel
from heron.stats.drift.psi import EPSILON
from heron.stats.drift.wasserstein import wasserstein_sorted

SIZES = [(1, 1), (1, 7), (30, 40), (500, 499), (2_000, 2_000), (12_000, 15_000), (30_000, 20_001)]


def _pair(n: int, m: int, seed: int, *, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n), rng.normal(0.05, 1.1, size=m)
    return (np.round(x, 1), np.round(y, 1)) if ties else (x, y)


@pytest.mark.parametrize(("n", "m"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_ks_matches_scipy(n: int, m: int, ties: bool) -> None:
    x, y = _pair(n, m, n + m, ties=ties)
    ours = detect(x, y, test="ks")
    theirs = scipy.stats.ks_2samp(x, y)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    assert ks_statistic(np.sort(x), np.sort(y)) == pytest.approx(theirs.statistic, abs=1e-12)


@pytest.mark.parametrize(("n", "m"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_wasserstein_matches_scipy(n: int, m: int, ties: bool) -> None:
    x, y = _pair(n, m, n * 3 + m, ties=ties)
    distance = scipy.stats.wasserstein_distance(x, y)
    assert wasserstein_sorted(np.sort(x), np.sort(y)) == pytest.approx(distance, rel=1e-9, abs=1e-12)
    result = detect(x, y, test="wasserstein")
    if np.std(x) > 0:
        assert result.statistic == pytest.approx(distance / np.std(x), rel=1e-9, abs=1e-12)


def test_wasserstein_constant_reference_uses_pooled_spread() -> None:
    x, y = np.zeros(50), np.ones(50)
    expected = scipy.stats.wasserstein_distance(x, y) / np.std(np.concatenate((x, y)))
    assert detect(x, y, test="wasserstein").statistic == pytest.approx(expected)


def _categories(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = np.array(["a", "b", "c", "d", "e"], dtype=object)
    return names[rng.choice(5, n, p=[0.4, 0.3, 0.2, 0.1, 0.0])], names[rng.choice(5, m, p=[0.3, 0.3, 0.2, 0.1, 0.1])]


def _table(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    keys = sorted(set(x) | set(y))
    return np.array([[np.count_nonzero(side == k) for k in keys] for side in (x, y)])


@pytest.mark.parametrize(("n", "m"), [(1, 1), (20, 30), (400, 300), (5_000, 4_000)])
def test_chi2_matches_scipy(n: int, m: int) -> None:
    x, y = _categories(n, m, n + m)
    table = _table(x, y)
    result = detect(x, y, test="chi2")
    if table.shape[1] < 2:
        assert (result.statistic, result.p_value) == (0.0, 1.0)
        return
    theirs = scipy.stats.chi2_contingency(table)
    assert result.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_two_categories_keeps_scipys_yates_correction() -> None:
    x = np.array(["yes"] * 30 + ["no"] * 20)
    y = np.array(["yes"] * 18 + ["no"] * 32)
    theirs = scipy.stats.chi2_contingency(_table(x, y))
    result = detect(x, y, test="chi2")
    assert (result.statistic, result.p_value) == pytest.approx((theirs.statistic, theirs.pvalue))


@pytest.mark.parametrize(("n", "m"), [(1, 1), (20, 30), (5_000, 4_000)])
def test_jensenshannon_matches_scipy(n: int, m: int) -> None:
    x, y = _categories(n, m, n * 7 + m)
    table = _table(x, y)
    theirs = scipy.spatial.distance.jensenshannon(table[0], table[1], base=2)
    assert detect(x, y, test="jensenshannon").statistic == pytest.approx(theirs, abs=1e-12)


def _textbook_bins(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    bounds = [-np.inf, *edges, np.inf]
    count = lambda v: np.array([np.count_nonzero((v > lo) & (v <= hi)) for lo, hi in itertools.pairwise(bounds)])  # noqa: E731
    return count(x), count(y)


def test_quantile_edges_match_numpy() -> None:
    x = np.sort(np.random.default_rng(3).exponential(size=1_001))
    assert quantile_edges(x, 10) == pytest.approx(np.quantile(x, np.linspace(0, 1, 11)[1:-1]))


def _textbook_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    total = 0.0
    for r, c in zip(ref / ref.sum(), cur / cur.sum(), strict=True):
        r, c = r or EPSILON, c or EPSILON
        total += (c - r) * np.log(c / r)
    return total


@pytest.mark.parametrize("ties", [False, True])
def test_psi_matches_textbook(ties: bool) -> None:
    x, y = _pair(3_000, 2_000, 11, ties=ties)
    y = y + 0.3
    assert detect(x, y, test="psi").statistic == pytest.approx(_textbook_psi(*_textbook_bins(x, y, 10)), rel=1e-12)
    a, b = _categories(800, 900, 5)
    assert detect(a, b, test="psi").statistic == pytest.approx(_textbook_psi(*_table(a, b)), rel=1e-12)


def test_jensenshannon_numeric_bins_match_scipy() -> None:
    x, y = _pair(3_000, 2_000, 12)
    ref, cur = _textbook_bins(x, y, 10)
    theirs = scipy.spatial.distance.jensenshannon(ref, cur, base=2)
    assert detect(x, y, test="jensenshannon").statistic == pytest.approx(theirs, abs=1e-12)


def _textbook_mmd2(x: np.ndarray, y: np.ndarray, sigma2: float) -> float:
    k = lambda a, b: np.exp(-scipy.spatial.distance.cdist(a, b, "sqeuclidean") / (2 * sigma2))  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def test_mmd_statistic_matches_textbook() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(60, 5)), rng.normal(0.3, 1.0, size=(45, 5))
    sigma2 = float(np.median(scipy.spatial.distance.pdist(np.vstack((x, y)), "sqeuclidean")))
    assert mmd(x, y).statistic == pytest.approx(_textbook_mmd2(x, y, sigma2), rel=1e-9)
    # The permutation statistics use the same formula for any labelling.
    kernel = rbf_kernel(np.vstack((x, y)), rng)
    pooled = np.vstack((x, y))
    labels = np.stack([rng.permutation(np.r_[np.ones(60), np.zeros(45)]) for _ in range(5)], axis=1)
    expected = [_textbook_mmd2(pooled[c == 1], pooled[c == 0], sigma2) for c in labels.T]
    assert mmd2_unbiased(kernel, labels, 60, 45) == pytest.approx(expected, rel=1e-9)


def test_mmd_p_value_is_a_permutation_p_value() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    result = mmd(x, y, n_permutations=199, seed=1)
    assert result.p_value is not None and result.p_value * 200 == pytest.approx(round(result.p_value * 200))
    # A textbook permutation test on the same data lands close (different random relabellings).
    sigma2 = float(np.median(scipy.spatial.distance.pdist(np.vstack((x, y)), "sqeuclidean")))
    observed = _textbook_mmd2(x, y, sigma2)
    pooled = np.vstack((x, y))
    null = []
    for _ in range(400):
        order = rng.permutation(80)
        null.append(_textbook_mmd2(pooled[order[:40]], pooled[order[40:]], sigma2))
    textbook = (1 + sum(s >= observed for s in null)) / 401
    assert result.p_value == pytest.approx(textbook, abs=0.1)


def test_classifier_logistic_fit_matches_sklearn() -> None:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(400, 6))
    target = (features @ rng.normal(size=6) + rng.normal(size=400) > 0).astype(float)
    ours = fit_logistic(features, target, l2=2.0)
    model = LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000).fit(features, target)
    assert ours[:-1] == pytest.approx(model.coef_[0], abs=1e-5)
    assert ours[-1] == pytest.approx(model.intercept_[0], abs=1e-5)


def test_classifier_auc_is_mann_whitney() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(300, 4)), rng.normal(0.4, 1.0, size=(300, 4))
    result = detect(x, y, test="classifier")
    assert 0.6 < result.statistic <= 1.0
    assert result.p_value is not None and result.p_value < 1e-6
