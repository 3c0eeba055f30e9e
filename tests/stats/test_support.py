"""Floors under anomaly reports: the issue's own examples of noise are not reported, real incidents are."""

from __future__ import annotations

import pytest

from heron.stats.support import heavy, judge


@pytest.mark.parametrize(
    ("metric", "observed", "expected", "n"),
    [
        ("count", 0.0, 3.6, 0.0),  # a quiet segment's empty minute (issue 13: "observed 0 expected 3.6")
        ("cost_usd", 0.0, 0.0, 0.0),  # "observed 0 expected 0"
        ("count", 14.0, 10.0, 14.0),  # +40%: within Poisson noise and below the effect floor
        ("error_rate", 0.5, 0.01, 2.0),  # one error in two calls
        ("error_rate", 0.012, 0.004, 5000.0),  # significant at this n, but under a point
        ("latency_p95", 45000.0, 2900.0, 8.0),  # one client timeout among eight calls is their p95
        ("latency_p50", 3000.0, 1000.0, 2.0),
        ("latency_p95", 1100.0, 1000.0, 400.0),  # +10%
        ("sentiment_avg", -0.6, 0.2, 2.0),  # two turns
        ("count", 2.0, 0.0005, 2.0),  # a sparse segment's baseline is near zero: its calls are "improbable"
        ("error_rate", 0.333, 0.0007, 3.0),  # one error among three calls
        ("output_tokens", 225.0, 1.3, 1.0),  # one long answer in a quiet minute
        ("frustrated", 0.0394, 0.0392, None),  # the concept-drift record of issue 13
        ("satisfaction", float("nan"), 0.5, None),
    ],
)
def test_noise_does_not_matter(metric: str, observed: float, expected: float, n: float | None) -> None:
    verdict = judge(metric, observed, expected, n)
    assert not verdict.matters and verdict.why


@pytest.mark.parametrize(
    ("metric", "observed", "expected", "n"),
    [
        ("count", 0.0, 40.0, 0.0),  # traffic stopped
        ("count", 160.0, 40.0, 160.0),  # a user sending 4x the volume
        ("error_rate", 0.25, 0.004, 40.0),  # a rate-limit burst
        ("latency_p95", 3500.0, 1000.0, 30.0),  # latency x3.5 on one model
        ("latency_p50", 3000.0, 900.0, 4.0),  # ... and on a quiet one
        ("cost_usd", 4.0, 1.5, 60.0),
        ("frustration_rate", 0.3, 0.08, 50.0),
        ("satisfaction", 0.41, 0.62, None),
    ],
)
def test_real_changes_matter(metric: str, observed: float, expected: float, n: float | None) -> None:
    verdict = judge(metric, observed, expected, n)
    assert verdict.matters and not verdict.why
    assert (verdict.effect > 0) == (observed > expected)


def test_a_rate_is_judged_against_its_long_run_base() -> None:
    """Two errors among six calls of a model failing 1% of the time: improbable under the detector's
    near-zero expectation of a sparse rate, ordinary under the model's base rate."""
    assert judge("error_rate", 2 / 6, 0.0007, 6.0).matters
    assert not judge("error_rate", 2 / 6, 0.0007, 6.0, base=0.01).matters
    assert judge("error_rate", 3 / 7, 0.0007, 7.0, base=0.005).matters  # a rate-limit burst at low volume


def test_heavy_users() -> None:
    assert heavy(52, 40, own_peak=8, busy=6)  # 52 calls in an hour, their busiest hour of the week 8
    assert not heavy(78, 40, own_peak=40, busy=12)  # a user who chats in bursts, bursting as usual
    assert not heavy(45, 40, own_peak=0, busy=30)  # a new user's long first chat where busy users do 30
    assert heavy(124_840, 100_000, own_peak=2_000, busy=9_000)  # documents pasted in a loop
    assert not heavy(39, 40, own_peak=0, busy=0)  # under the floor


def test_a_sustained_silence_matters_where_one_silent_minute_does_not() -> None:
    assert not judge("count", 0.0, 6.0, 0.0).matters  # p = 0.005 for one minute
    assert judge("count", 0.0, 6.0, 0.0, sustained=True).matters  # the detector's shift saw it build
    assert not judge("count", 0.0, 3.6, 0.0, sustained=True).matters  # still under the 5-call floor
