"""Domain classifier: can a linear model tell current rows from reference rows?

Half of each side (seeded split) trains an L2-regularised logistic regression on
standardised features (a few Newton steps; numpy only); the other half is scored
and the statistic is the held-out ROC AUC of "current" against "reference".
0.5 means the samples are indistinguishable; the threshold is 0.55.

No bootstrap or permutations: under no drift the held-out AUC is the
Mann–Whitney U statistic over independent test rows, whose null distribution
is known, so its one-sided p-value (normal approximation with tie correction,
``scipy.stats.mannwhitneyu``) is free. Drift needs both AUC >= 0.55 and
p < 0.05, so a small sample can't fire on a lucky split and a huge one can't
fire on a negligible AUC of 0.51. Each side is capped at ``max_samples``
(20,000) rows; a linear model sees shifts of the mean and of linear directions,
MMD also sees changes of spread and shape.
"""

from __future__ import annotations

import numpy as np
import scipy.stats  # type: ignore[import-untyped, unused-ignore]  # no stubs in the venv
from numpy.typing import NDArray

from heron.stats.drift._samples import same_rows
from heron.stats.drift.mmd import subsample
from heron.stats.drift.registry import DriftTest, Measured, register

MAX_SAMPLES = 20_000
L2 = 1.0
MAX_STEPS = 25


def fit_logistic(features: NDArray[np.float64], target: NDArray[np.float64], *, l2: float = L2) -> NDArray[np.float64]:
    """Weights (last one the intercept, not penalised) by Newton–Raphson (IRLS)."""
    design = np.hstack((features, np.ones((features.shape[0], 1))))
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    weights = np.zeros(design.shape[1])
    for _ in range(MAX_STEPS):
        prob = 1.0 / (1.0 + np.exp(-(design @ weights)))
        gradient = design.T @ (prob - target) + penalty * weights
        hessian = (design * (prob * (1.0 - prob))[:, None]).T @ design
        hessian[np.diag_indices_from(hessian)] += penalty + 1e-9
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-6:
            break
    return weights


def classifier(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    *,
    seed: int = 0,
    max_samples: int = MAX_SAMPLES,
    l2: float = L2,
) -> Measured:
    if same_rows(reference, current):
        return Measured(0.5, 1.0)
    rng = np.random.default_rng(seed)
    ref, cur = subsample(reference, max_samples, rng), subsample(current, max_samples, rng)
    ref_train, ref_test = _split(ref, rng)
    cur_train, cur_test = _split(cur, rng)
    train = np.vstack((ref_train, cur_train))
    target = np.concatenate((np.zeros(ref_train.shape[0]), np.ones(cur_train.shape[0])))
    centre, scale = train.mean(axis=0), train.std(axis=0)
    scale[scale == 0.0] = 1.0
    weights = fit_logistic((train - centre) / scale, target, l2=l2)
    ref_scores = ((ref_test - centre) / scale) @ weights[:-1]
    cur_scores = ((cur_test - centre) / scale) @ weights[:-1]
    if np.ptp(np.concatenate((ref_scores, cur_scores))) == 0.0:  # the model can't separate anything
        return Measured(0.5, 1.0)
    result = scipy.stats.mannwhitneyu(cur_scores, ref_scores, alternative="greater")
    auc = float(result.statistic) / (cur_scores.size * ref_scores.size)
    return Measured(auc, float(result.pvalue))


def _split(rows: NDArray[np.float64], rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    order = rng.permutation(rows.shape[0])
    half = rows.shape[0] // 2
    return rows[order[:half]], rows[order[half:]]


CLASSIFIER = register(
    DriftTest(
        key="classifier",
        measure={"embedding": classifier},
        threshold=0.55,
        rule="distance",
        baseline=0.5,
        alpha=0.05,
        min_size=2,
        description="Held-out ROC AUC of a logistic regression telling current from reference; drift when AUC >= threshold and its Mann–Whitney p < 0.05. Default for embeddings above 5,000 rows a side.",
    )
)
