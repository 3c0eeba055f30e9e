"""Whether an anomalous bucket is big enough to report: a score says "unusual", this says "matters".

A detector's score is relative to a series' own noise, so a quiet, low-volume segment trips it on
nothing: a model with 3.6 calls a minute seeing none ("observed 0, expected 3.6" -- a Poisson
chance of 2.7%, every half hour somewhere), a cost series of zeros "expecting" 0.0001. Each metric
family gets a floor from the bucket's own support (its request count) and an effect size:

- **counts** (calls, a Poisson process): the observed count must be improbable under the expected
  rate (two-sided tail below ``P_MAX``) *and* differ from it by at least ``COUNT_REL`` of it and
  ``COUNT_ABS`` calls (a sparse segment's baseline is near zero, so its first call is "improbable");
  a *sustained* change (the detector's shift or level) needs only the effect floors;
- **rates** (error and frustration rate, a binomial over the bucket's requests): improbable under
  the higher of the expected rate and the series' long-run ``base`` given ``n`` (one-sided, the bad
  way), at least ``RATE_ABS`` apart, and at least ``MIN_EVENTS`` bad requests behind it (one error
  among three calls is not a burst);
- **quantiles** (latency and TTFT percentiles): ``MIN_N_QUANTILE`` requests behind a median and
  ``MIN_N_TAIL`` behind a tail percentile (the p95 of fewer than 20 calls is their slowest: one
  client timeout would be an incident; a slow model moves the median too), and ``LEVEL_REL`` apart;
- **sums** (cost, tokens): ``MIN_N`` requests behind them (one long answer in a quiet minute is not a
  cost incident), ``SUM_REL`` apart, and not both zero;
- **means** of a bounded score (sentiment in [-1, 1]): ``MIN_N`` turns and ``MEAN_ABS`` apart;
- **outcomes** (concept drift of satisfaction, frustration, thumbs: levels in [0, 1]): ``OUTCOME_ABS`` apart.

The floors are deliberately absolute, not tuned on any traffic: a 5% relative latency change is never
paged at 3 a.m. however confident a test is, and a 2-point error-rate rise always is once the requests
behind it make it real. Pure: imported by the server's monitor, importing nothing of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats  # type: ignore[import-untyped]

Family = Literal["count", "rate", "quantile", "sum", "mean", "outcome"]

FAMILY: dict[str, Family] = {
    "count": "count", "error_rate": "rate", "frustration_rate": "rate", "latency_p50": "quantile",
    "latency_p95": "quantile", "ttft_p95": "quantile", "cost_usd": "sum", "output_tokens": "sum",
    "sentiment_avg": "mean", "satisfaction": "outcome", "frustrated": "outcome", "thumbs_up": "outcome",
}  # fmt: skip
"""Each monitored metric's family; a metric not listed is judged as a quantile."""

P_MAX = 1e-3
"""A count or rate must be less likely than this under the expected value."""
COUNT_REL = 0.5
COUNT_ABS = 5.0
MIN_EVENTS = 2
MIN_N_QUANTILE = 3
MIN_N_TAIL = 20
RATE_ABS = 0.02
LEVEL_REL = 0.25
SUM_REL = 0.5
MEAN_ABS = 0.1
OUTCOME_ABS = 0.05
MIN_N = 5
"""Turns behind a mean of a bounded score (one angry message is not a mood), calls behind a sum."""


@dataclass(frozen=True, slots=True)
class Verdict:
    matters: bool
    effect: float
    """Relative change for counts, quantiles and sums; absolute difference for rates, means and outcomes."""
    why: str
    """Why it does not matter (empty when it does)."""


def relative(observed: float, expected: float) -> float:
    """(observed - expected) / |expected|, with a floor of 1e-9 under the expected value."""
    return (observed - expected) / max(abs(expected), 1e-9)


def judge(metric: str, observed: float, expected: float, n: float | None = None, *, base: float | None = None,
          sustained: bool = False) -> Verdict:  # fmt: skip
    """Whether ``observed`` (against ``expected``, over ``n`` requests where the family needs it) matters.

    ``base``: a rate's long-run level, when the caller keeps one; the binomial floor is judged against
    the higher of it and ``expected`` (a detector's expectation of a sparse rate is mostly zeros).
    ``sustained``: the bucket belongs to a change the detector saw build over many buckets (a shift or
    level); a count then needs only its effect floors, not one minute's Poisson improbability (ten
    silent minutes of a 6-calls-a-minute app are each as likely as p = 0.005, and together certain)."""
    if not (math.isfinite(observed) and math.isfinite(expected)):
        return Verdict(False, 0.0, "not a number")
    family = FAMILY.get(metric, "quantile")
    if family == "count":
        effect = relative(observed, max(expected, 0.0))
        p = _poisson_two_sided(round(observed), max(expected, 1e-9))
        if abs(observed - expected) < max(COUNT_REL * expected, COUNT_ABS):
            return Verdict(False, effect, f"count within {COUNT_REL:.0%} (and {COUNT_ABS:g}) of expected")
        if sustained:
            return Verdict(True, effect, "")
        return Verdict(p < P_MAX, effect, "" if p < P_MAX else f"count as likely as p={p:.2g} under Poisson({expected:.3g})")
    if family == "rate":
        effect = observed - expected
        if abs(effect) < RATE_ABS:
            return Verdict(False, effect, f"rate within {RATE_ABS:g} of expected")
        if n is None or n < 1:
            return Verdict(False, effect, "no requests behind the rate")
        if effect > 0 and round(observed * n) < MIN_EVENTS:
            return Verdict(False, effect, f"fewer than {MIN_EVENTS} bad requests behind the rate")
        p = _binomial_tail(observed, max(expected, base or 0.0), int(n))
        return Verdict(p < P_MAX, effect, "" if p < P_MAX else f"rate as likely as p={p:.2g} over {int(n)} requests")
    if family == "mean" or family == "outcome":
        effect = observed - expected
        floor = MEAN_ABS if family == "mean" else OUTCOME_ABS
        if family == "mean" and (n is None or n < MIN_N):
            return Verdict(False, effect, f"fewer than {MIN_N} turns behind the mean")
        return Verdict(abs(effect) >= floor, effect, "" if abs(effect) >= floor else f"within {floor:g} of expected")
    effect = relative(observed, expected)
    if family == "sum":
        if observed == 0 and expected == 0:
            return Verdict(False, 0.0, "zero as expected")
        if n is not None and n < MIN_N:
            return Verdict(False, effect, f"fewer than {MIN_N} requests behind the sum")
        return Verdict(abs(effect) >= SUM_REL, effect, "" if abs(effect) >= SUM_REL else f"within {SUM_REL:.0%} of expected")
    least = MIN_N_TAIL if metric.endswith(("_p95", "_p99")) else MIN_N_QUANTILE
    if n is not None and n < least:
        return Verdict(False, effect, f"fewer than {least} requests behind the percentile")
    return Verdict(abs(effect) >= LEVEL_REL, effect, "" if abs(effect) >= LEVEL_REL else f"within {LEVEL_REL:.0%} of expected")


HEAVY_MIN_CALLS = 40
HEAVY_TOKENS = 100_000
HEAVY_FACTOR = 3.0
"""A user's hour is heavy at ``HEAVY_MIN_CALLS`` calls (a message every 90 s for an hour) or ``HEAVY_TOKENS``
input tokens, *and* ``HEAVY_FACTOR`` times both their own busiest hour of the past week and the project's
busy user-hour (its 99th percentile; the yardstick for a user never seen). Judged against the user's
average hour instead, people who chat once a day in bursts were "10x their usual" every day: demo
traffic raised 95 such incidents in five days."""


def heavy_threshold(floor: float, own_peak: float, busy: float) -> float:
    """Where one user's hour (calls or input tokens) turns heavy: ``HEAVY_FACTOR`` times their own busiest
    hour (``own_peak``, 0 for a new user) and the project's busy user-hour (``busy``), and at least ``floor``."""
    return max(floor, HEAVY_FACTOR * own_peak, HEAVY_FACTOR * busy)


def heavy(observed: float, floor: float, own_peak: float, busy: float) -> bool:
    """Whether one user's hour (``observed``) is at or past :func:`heavy_threshold`."""
    return observed >= heavy_threshold(floor, own_peak, busy)


def _poisson_two_sided(k: int, lam: float) -> float:
    """The chance of a count at least as far from ``lam`` as ``k``, on its side."""
    if k >= lam:
        return float(min(1.0, 2 * stats.poisson.sf(k - 1, lam)))
    return float(min(1.0, 2 * stats.poisson.cdf(k, lam)))


def _binomial_tail(rate: float, expected: float, n: int) -> float:
    """The chance of a rate at least as far from ``expected`` as ``rate``, on its side, over ``n`` trials."""
    p0 = min(max(expected, 1e-4), 1 - 1e-4)
    k = round(rate * n)
    if rate >= expected:
        return float(stats.binom.sf(k - 1, n, p0))
    return float(stats.binom.cdf(k, n, p0))
