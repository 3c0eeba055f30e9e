"""Drift tests as pluggable units: a descriptor per test, looked up by a short key.

Each test module holds a function, one :class:`DriftTest` and a ``register(...)``
line, so a new test is one new file. The descriptor carries what the caller needs
to judge the raw number: the default threshold, whether it bounds a p-value or a
distance, and how to map the statistic onto a score shared by every test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

KINDS = ("numeric", "categorical", "embedding")
"""What a feature can be; each test measures one or more of these."""

Rule = Literal["p_value", "distance"]


@dataclass(frozen=True, slots=True)
class Measured:
    """What a test's function returns before the threshold is applied.

    ``score_p_value`` lets a test whose p-value has a floor (a permutation test
    can't go below ``1/(P+1)``) still rank strong drifts apart in the score.
    """

    statistic: float
    p_value: float | None = None
    score_p_value: float | None = None
    effect: float | None = None
    """An effect size on a scale that does not grow with n (a p-value test's own statistic or a distance),
    held against the test's ``min_effect``."""


Measure = Callable[..., Measured]
"""``measure(reference, current, *, seed, **options) -> Measured``; inputs per kind:
numeric: sorted finite float64 arrays; categorical: aligned count vectors;
embedding: 2-D float64 arrays without non-finite rows."""


class UnknownTestError(ValueError):
    """A test key (or a kind) the registry doesn't know; the message lists the valid ones."""


@dataclass(frozen=True, slots=True)
class DriftTest:
    """One registered test.

    ``rule`` says what ``threshold`` bounds: a ``p_value`` (drift when p < threshold)
    or a ``distance`` (drift when statistic >= threshold). ``baseline`` is the
    statistic of two equal distributions (0, or 0.5 for an AUC). ``alpha``, when
    set, also requires p < alpha, so a distance test can't fire on noise alone; ``min_effect``,
    when set, also requires the measured effect to reach it, so a p-value test can't fire on a
    change too small to matter (KS p = 0.021 for a weekday against a weekend's TTFT).
    """

    key: str
    measure: Mapping[str, Measure]
    threshold: float
    rule: Rule
    description: str
    baseline: float = 0.0
    alpha: float | None = None
    min_size: int = 1
    min_effect: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.measure)

    def decide(self, measured: Measured, threshold: float | None = None) -> tuple[bool, float]:
        """(drifted, score); the score is 0.5 on the threshold, 0 for no change, towards 1 beyond."""
        limit = self.threshold if threshold is None else threshold
        if self.rule == "p_value":
            p = measured.p_value
            p_for_score = measured.score_p_value if measured.score_p_value is not None else p
            drifted = p is not None and p < limit
            if self.min_effect is not None and measured.effect is not None and measured.effect < self.min_effect:
                return False, min(_p_score(p_for_score, limit), 0.49 * measured.effect / self.min_effect)
            return drifted, _p_score(p_for_score, limit)
        drifted = measured.statistic >= limit
        score = _distance_score(measured.statistic - self.baseline, limit - self.baseline)
        if self.alpha is not None:
            p = measured.p_value
            drifted = drifted and p is not None and p < self.alpha
            score = min(score, _p_score(p, self.alpha))
        return drifted, score


def _p_score(p: float | None, alpha: float) -> float:
    # log p / (log p + log alpha): 0 at p = 1, 0.5 at p = alpha, -> 1 as p -> 0.
    if p is None or math.isnan(p) or p >= 1.0:
        return 0.0
    if p <= 0.0:
        return 1.0
    lp, la = math.log(p), math.log(alpha)
    return lp / (lp + la)


def _distance_score(excess: float, limit: float) -> float:
    # e / (e + t): 0 at no change, 0.5 on the threshold, -> 1 beyond.
    if math.isnan(excess) or excess <= 0.0:
        return 0.0
    if math.isinf(excess):
        return 1.0
    return excess / (excess + limit)


_REGISTRY: dict[str, DriftTest] = {}


def register(test: DriftTest) -> DriftTest:
    """Add (or replace) a test under its key; returns it so a module can keep a name for it."""
    unknown = set(test.kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"{test.key}: unknown kind(s) {sorted(unknown)}; valid: {', '.join(KINDS)}")
    _REGISTRY[test.key] = test
    return test


def get(key: str) -> DriftTest:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownTestError(f"unknown drift test {key!r}; valid: {', '.join(sorted(_REGISTRY))}") from None


def keys(kind: str | None = None) -> tuple[str, ...]:
    """Registered keys, optionally only those that measure ``kind``."""
    if kind is not None and kind not in KINDS:
        raise UnknownTestError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    return tuple(sorted(k for k, t in _REGISTRY.items() if kind is None or kind in t.measure))
