"""AnomalyDetector on synthetic seasonal traffic: spikes, dips, shifts, level changes, persistence."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from heron.stats._anomaly_profile import Profile
from heron.stats.anomaly import Anomaly, AnomalyDetector

DAY = 86400.0
START = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a Monday
BUCKET = 300.0  # 5-minute buckets keep two simulated weeks fast
PER_DAY = int(DAY / BUCKET)


def traffic(days: float, n: int, *, seed: int = 0, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(times, values[time, series]): a daily curve per series, quieter weekends, multiplicative noise."""
    rng = np.random.default_rng(seed)
    t = START + BUCKET * np.arange(int(days * PER_DAY))
    hour = (t % DAY) / 3600
    padded = START + BUCKET * np.arange(-18, len(t) + 17)
    weekend = (((padded - 4 * 3600) // DAY + 3) % 7 >= 5).astype(float)  # weekend days run 04:00 to 04:00
    weekend = np.convolve(weekend, np.ones(36) / 36, mode="valid")  # ramping over 3 hours
    peak = rng.uniform(10, 18, n)
    daily = 1 + 0.6 * np.cos(2 * np.pi * (hour[:, None] - peak) / 24)
    level = rng.uniform(50, 500, n) * (1 - 0.3 * weekend[:, None])
    return t, level * daily * (1 + noise * rng.standard_normal((len(t), n)))


def run(detector: AnomalyDetector, t: np.ndarray, values: np.ndarray, start: int = 0) -> list[Anomaly]:
    found: list[Anomaly] = []
    for i in range(start, len(t)):
        found.extend(detector.update(float(t[i]), values[i]))
    return found


def detector(n: int, **options: object) -> AnomalyDetector:
    return AnomalyDetector(n, bucket_seconds=BUCKET, **options)  # type: ignore[arg-type]


def incidents(found: list[Anomaly]) -> int:
    """Consecutive anomalous buckets of one series count once."""
    seen = sorted((a.series, a.t) for a in found)
    return sum(1 for k, (s, t) in enumerate(seen) if k == 0 or seen[k - 1][0] != s or t - seen[k - 1][1] > BUCKET)


def test_spike_is_flagged_with_its_expected_range() -> None:
    t, values = traffic(9, 5, seed=1)
    clean = values.copy()
    at = 8 * PER_DAY + 12 * 12  # day 9, 12:00
    values[at: at + 6, 2] *= 3.0  # 30 minutes at three times the usual value
    d = detector(5)
    run(d, t[:at], values[:at])
    found = run(d, t[: at + 6], values[: at + 6], start=at)
    assert found and all(a.series == 2 for a in found)
    first = found[0]
    assert first.kind == "spike" and first.t <= t[at + 1]  # confirmed on the second bucket
    assert first.low < first.expected < first.high < first.value
    assert first.expected == pytest.approx(clean[int((first.t - START) / BUCKET), 2], rel=0.15)
    assert first.score >= 1.0


def test_clean_seasonal_traffic_raises_almost_nothing() -> None:
    t, values = traffic(14, 20, seed=2)
    d = detector(20)
    run(d, t[: 7 * PER_DAY], values[: 7 * PER_DAY])
    found = run(d, t, values, start=7 * PER_DAY)
    # the target is at most 1 false alarm per day per 100 series: 1.4 here
    assert incidents(found) <= 1, found


def test_the_profile_learns_a_daily_peak() -> None:
    t = START + BUCKET * np.arange(6 * PER_DAY)
    hour = (t % DAY) / 3600
    rng = np.random.default_rng(3)
    peak = 100 + 400 * np.exp(-((hour - 14) ** 2) / 8)  # five times the night level at 14:00
    values = (peak * (1 + 0.03 * rng.standard_normal(len(t))))[:, None]
    d = detector(1, season="day")
    run(d, t[: 3 * PER_DAY], values[: 3 * PER_DAY])
    assert run(d, t, values, start=3 * PER_DAY) == []  # the afternoon is expected, not an anomaly
    afternoon, night = d.get(START + 14 * 3600), d.get(START + 3 * 3600)
    assert afternoon.ready[0] and afternoon.expected[0] == pytest.approx(500, rel=0.05)
    assert night.expected[0] == pytest.approx(100, rel=0.05)
    assert afternoon.low[0] > night.high[0]  # so a night-time 500 would be a spike


def test_missing_buckets_are_skipped() -> None:
    t, values = traffic(10, 4, seed=4)
    rng = np.random.default_rng(4)
    values[rng.random(values.shape) < 0.05] = np.nan
    values[5 * PER_DAY: 6 * PER_DAY, 1] = np.nan  # a whole day without data
    values[:, 3] = np.nan  # a series that never reports
    d = detector(4)
    run(d, t[: 8 * PER_DAY], values[: 8 * PER_DAY])
    found = run(d, t, values, start=8 * PER_DAY)
    assert incidents(found) <= 1
    assert all(np.isfinite(a.value) for a in found)
    band = d.get()
    assert band.ready.tolist() == [True, True, True, False]
    assert np.isnan(band.expected[3])
    at = 9 * PER_DAY
    values[at: at + 4, 1] *= 3
    d2 = detector(4)
    found = run(d2, t[: at + 4], values[: at + 4])
    assert any(a.series == 1 and a.t >= t[at] and a.kind == "spike" for a in found)


def test_state_dict_round_trip_gives_identical_results() -> None:
    t, values = traffic(10, 6, seed=5)
    values[9 * PER_DAY + 100: 9 * PER_DAY + 110, 0] *= 2.5
    values[9 * PER_DAY + 50:, 4] *= 0.5  # a level change in progress around the snapshot
    original = detector(6, directions=[1, 0, 0, -1, 0, 0])
    half = 9 * PER_DAY + 60
    run(original, t[:half], values[:half])
    state = pickle.loads(pickle.dumps(original.state_dict()))
    restored = AnomalyDetector.from_state(state)
    assert run(restored, t, values, start=half) == run(original, t, values, start=half)
    a, b = original.get(), restored.get()
    np.testing.assert_array_equal(a.expected, b.expected)
    np.testing.assert_array_equal(a.high, b.high)


def test_state_dict_survives_msgpack() -> None:
    msgspec = pytest.importorskip("msgspec")
    t, values = traffic(2, 3, seed=6)
    d = detector(3)
    run(d, t, values)
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(d.state_dict()))
    restored = AnomalyDetector.from_state(state)
    np.testing.assert_array_equal(restored.get().expected, d.get().expected)


def test_directions_choose_which_side_is_reported() -> None:
    t, values = traffic(9, 3, seed=7)
    up, down = 8 * PER_DAY + 100, 8 * PER_DAY + 200
    values[up: up + 4] *= 3.0
    values[down: down + 4] *= 0.2
    d = detector(3, directions=[1, -1, 0])
    run(d, t[: 8 * PER_DAY], values[: 8 * PER_DAY])
    found = run(d, t, values, start=8 * PER_DAY)
    kinds = {s: {a.kind for a in found if a.series == s} for s in range(3)}
    assert "spike" in kinds[0] and "dip" not in kinds[0]
    assert "dip" in kinds[1] and "spike" not in kinds[1]
    assert {"spike", "dip"} <= kinds[2]


def test_a_level_change_is_accepted_as_the_new_normal() -> None:
    t, values = traffic(12, 2, seed=8)
    clean = values.copy()
    at = 8 * PER_DAY + 10 * 12
    values[at:, 0] *= 1.6
    d = detector(2, relearn_seconds=7200)
    run(d, t[:at], values[:at])
    found = run(d, t, values, start=at)
    levels = [a for a in found if a.kind == "level"]
    assert len(levels) == 1 and levels[0].series == 0
    assert levels[0].t == pytest.approx(t[at] + 7200 - BUCKET, abs=3 * BUCKET)
    assert found[0].t <= t[at + 2]  # flagged at once, until accepted
    assert [a for a in found if a.t > levels[0].t] == []
    expected = np.array([d.get(float(t[i])).expected[0] for i in range(len(t) - 12, len(t))])
    truth = 1.6 * clean[-12:, 0]  # the new normal (noise included, hence the median)
    assert np.median(expected / truth) == pytest.approx(1.0, abs=0.08)


def test_additive_series_accept_a_shift_below_zero() -> None:
    t = START + BUCKET * np.arange(10 * PER_DAY)
    rng = np.random.default_rng(9)
    hour = (t % DAY) / 3600
    sentiment = 0.1 + 0.05 * np.cos(2 * np.pi * hour / 24) + 0.05 * rng.standard_normal(len(t))
    at = 8 * PER_DAY
    sentiment[at:] -= 0.3  # now mostly negative
    d = detector(1, additive=[True], directions=[-1])
    run(d, t[:at], sentiment[:at, None])
    found = run(d, t, sentiment[:, None], start=at)
    assert found[0].kind in ("dip", "shift") and found[0].t <= t[at + 5]  # 5 sigma: the EWMA finds it
    assert [a.kind for a in found].count("level") == 1
    assert d.get().expected[0] == pytest.approx(-0.2 + 0.05 * np.cos(2 * np.pi * hour[-1] / 24), abs=0.05)


def test_add_series_and_reset() -> None:
    t, values = traffic(2, 2, seed=10)
    d = detector(2)
    run(d, t, values)
    assert d.get().ready.all()
    assert d.add_series(3, directions=[1, 1, 1]) == range(2, 5)
    assert d.get().ready.tolist() == [True, True, False, False, False]
    d.update(float(t[-1] + BUCKET), np.ones(5))
    d.reset()
    assert not d.get().ready.any() and d.n_series == 5


def test_bad_input_is_rejected() -> None:
    d = detector(2)
    with pytest.raises(ValueError, match="shape"):
        d.update(START, np.ones(3))
    d.update(START, np.ones(2))
    with pytest.raises(ValueError, match="time order"):
        d.update(START - BUCKET, np.ones(2))
    with pytest.raises(ValueError, match="directions"):
        detector(2, directions=[2, 0])
    with pytest.raises(ValueError, match="season"):
        detector(2, season="month")
    with pytest.raises(ValueError, match="version"):
        AnomalyDetector.from_state({"version": 99})


def test_profile_slots_match_their_batch_weighted_means() -> None:
    """Before a slot's memory fills, its mean is exactly the kernel-weighted mean of what it saw."""
    rng = np.random.default_rng(11)
    profile = Profile(3, slots=24, period=DAY, memory=1e9, min_history=1)
    times = START + 60.0 * np.arange(3 * 1440) + 30.0
    values = rng.normal(10, 2, (len(times), 3))
    weights = np.zeros((24, len(times)))
    for i, tt in enumerate(times):
        at = profile.locate(float(tt))
        profile.learn(at, values[i], np.abs(values[i] - 10), np.ones(3, dtype=bool))
        weights[at.lower, i] += 1 - at.frac
        weights[at.upper, i] += at.frac
    expected = weights @ values / weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(profile.mean, expected, rtol=1e-9)
    np.testing.assert_allclose(profile.weight[:, 0], weights.sum(axis=1), rtol=1e-9)
