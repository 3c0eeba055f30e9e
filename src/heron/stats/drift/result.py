"""The records a drift comparison returns: one per feature, and a report over all of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One feature's verdict.

    ``score`` puts every test on one scale: 0 for no change, 0.5 on the test's
    threshold, towards 1 far beyond it, so features judged by different tests
    can be ranked together. ``reason`` is set when the test could not run
    (an empty or all-missing side, too few rows); then ``drifted`` is False,
    ``statistic`` NaN and ``score`` 0. ``dropped_*`` count the missing values
    (NaN, ±inf, None; embedding rows with any) removed before testing.
    """

    feature: str
    kind: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    score: float
    n_reference: int
    n_current: int
    dropped_reference: int = 0
    dropped_current: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Results over many features and the dataset-level summary.

    Features that could not be tested (``reason`` set) count in neither the
    share nor the mean. The dataset counts as drifted when at least
    ``share_threshold`` of the tested features drifted (Evidently's rule, 0.5).
    """

    results: tuple[DriftResult, ...]
    share_threshold: float = 0.5

    def __getitem__(self, feature: str) -> DriftResult:
        for result in self.results:
            if result.feature == feature:
                return result
        raise KeyError(f"no feature {feature!r}; valid: {', '.join(r.feature for r in self.results)}")

    def __iter__(self) -> Iterator[DriftResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def tested(self) -> tuple[DriftResult, ...]:
        return tuple(r for r in self.results if r.reason is None)

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(r.feature for r in self.results if r.drifted)

    @property
    def share_drifted(self) -> float:
        tested = self.tested
        return sum(r.drifted for r in tested) / len(tested) if tested else 0.0

    @property
    def mean_score(self) -> float:
        tested = self.tested
        return sum(r.score for r in tested) / len(tested) if tested else 0.0

    @property
    def dataset_drifted(self) -> bool:
        return bool(self.tested) and self.share_drifted >= self.share_threshold
