"""The monitor over a real store: a latency spike on one model is flagged, state survives a restart, drift is stored."""

from __future__ import annotations

from collections import Counter

from pathlib import Path

import numpy as np
import pytest

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.server.monitor import GRACE, LEARNING, STALL, Monitor, _clipped, backtest
from heron.stats.incidents import group
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
DAYS = 3
SPIKE = T0 + DAYS * 86400 - 3 * 3600  # a 30-minute 3x latency spike on model "a", 3 hours before the end


def _traffic(rng: np.random.Generator) -> list[Interaction]:
    items = []
    for minute in range(DAYS * 1440):
        t = T0 + minute * 60
        daily = 1.0 + 0.5 * np.sin(2 * np.pi * (minute % 1440) / 1440)
        for k in range(rng.poisson(6 * daily)):
            model = "a" if k % 2 else "b"
            latency = rng.lognormal(6.2, 0.25) * (3.0 if model == "a" and SPIKE <= t < SPIKE + 1800 else 1.0)
            items.append(Interaction(id=f"m{minute}-{k}", model=model, start_time=t + rng.uniform(0, 59), latency_ms=latency,
                                     output_tokens=int(rng.integers(20, 200)), input=[Message(role="user", content="q")],
                                     output="a"))  # type: ignore[arg-type]  # fmt: skip
    return [normalize_interaction(i, project="p", now=T0 + 30 * 86400) for i in items]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("monitor") / "h.duckdb")
    items = _traffic(np.random.default_rng(1))
    for k in range(0, len(items), 20_000):
        s.write(items[k : k + 20_000], [], lsn=0)
    yield s  # type: ignore[misc]
    s.close()


def test_spike_is_flagged_within_ten_minutes_and_state_survives(store: DuckDBStore, tmp_path: Path) -> None:
    clock = [SPIKE - 2 * 3600.0]
    monitor = Monitor(store, drift_every=1e12, clock=lambda: clock[0])
    monitor.run_once()  # warm-up on history before the spike: baselines only, nothing reported
    assert monitor.stats.anomalies == 0 and monitor.stats.minutes > 1000
    restarted = Monitor(store, drift_every=1e12, clock=lambda: clock[0])  # state comes back from the store
    found: list[dict[str, object]] = []
    while clock[0] < SPIKE + 3600:
        clock[0] += 60.0
        found += restarted.anomalies("p", clock[0])
    # model "a" takes ~3 calls a minute: its median moves (a p95 of 3 calls is their slowest, not reported)
    latency = [a for a in found if str(a["metric"]).startswith("latency_") and a["value"] == "a"]
    assert latency, found
    first = min(float(a["t"]) for a in latency)  # type: ignore[arg-type]
    assert SPIKE <= first <= SPIKE + 600  # flagged within 10 minutes of its start
    spikes = [a for a in latency if a["kind"] == "spike"]
    assert spikes and all(float(a["observed"]) > float(a["high"]) for a in spikes)  # type: ignore[arg-type]
    assert float(latency[0]["detected_at"]) - first <= 600 + GRACE  # type: ignore[arg-type]
    stored = store.anomalies("p", SPIKE - 3600, SPIKE + 3600)
    assert any(str(a["metric"]).startswith("latency_") and a["value"] == "a" for a in stored)
    before = [a for a in found if float(a["t"]) < SPIKE]  # type: ignore[arg-type]
    assert len(before) <= 1  # the clean two hours before it stay quiet (after it, the shift detector tails off)


def test_drift_run_is_stored_per_feature(store: DuckDBStore) -> None:
    now = T0 + DAYS * 86400
    monitor = Monitor(store, clock=lambda: now)
    rows = monitor.drift("p", now)
    features = {r["feature"] for r in rows}
    assert {"latency_ms", "output_tokens", "model", "(overall)"} <= features
    stored = store.drift_results("p", now - 1, now + 1)
    assert len(stored) == len(rows)
    assert next(r for r in stored if r["feature"] == "model")["drifted"] is False  # same model mix all along


def test_a_clean_day_and_a_spike_make_one_incident_on_the_right_model(store: DuckDBStore) -> None:
    """Issue 13: live minutes raised about one anomaly row a minute on low-volume segments; what is
    reported now groups into the spike's incident alone, named after model "a"."""
    start = T0 + 2 * 86400.0
    clock = [start]
    store.save_state("anomaly:p", b"")  # forget what another test's monitor learned: warm up afresh
    monitor = Monitor(store, drift_every=1e12, clock=lambda: clock[0])
    monitor.anomalies("p", clock[0])  # warm-up on the first two days
    found: list[dict[str, object]] = []
    while clock[0] < T0 + DAYS * 86400:
        clock[0] += 600.0
        found += monitor.anomalies("p", clock[0])
    incidents = group(found)
    assert len(incidents) == 1, [i.as_dict(clock[0])["title"] for i in incidents]
    (spike,) = incidents
    assert (spike.dim, spike.value) == ("model", "a") and spike.metrics[0].startswith("latency_")
    assert SPIKE <= spike.opened <= SPIKE + 600
    assert monitor.stats.below_support > 0  # the floors did hold something back



def test_normal_ranges_stay_within_what_a_metric_can_take() -> None:
    """Issue 13: "normal ranges" went negative for counts."""
    assert _clipped("count", -2.4, 9.6) == {"low": 0.0, "high": 9.6}
    assert _clipped("error_rate", -0.01, 1.3) == {"low": 0.0, "high": 1.0}
    assert _clipped("sentiment_avg", -1.4, 0.3) == {"low": -1.0, "high": 0.3}
    assert _clipped("latency_p95", -50.0, -10.0) == {"low": 0.0, "high": 0.0}


def test_history_after_the_learning_days_is_evaluated_on_the_first_pass(store: DuckDBStore) -> None:
    """Issue 13: traffic sent all at once (a backfill, an import) was only ever warm-up: nothing reported."""
    store.save_state("anomaly:p", b"")
    now = T0 + DAYS * 86400  # the spike is history by now
    monitor = Monitor(store, drift_every=1e12, clock=lambda: now)
    found = monitor.anomalies("p", now)
    incidents = group(found)
    assert [(i.dim, i.value) for i in incidents] == [("model", "a")], [i.as_dict(now)["title"] for i in incidents]
    assert SPIKE <= incidents[0].opened <= SPIKE + 600
    assert all(a["detected_at"] == now for a in found) and min(a["t"] for a in found) >= T0 + LEARNING


def test_late_calls_reopen_their_minute(tmp_path: Path) -> None:
    """Calls that arrive after their minute was evaluated (a collector down for an hour) are judged too."""
    late_store = DuckDBStore(tmp_path / "late.duckdb")
    items = _traffic(np.random.default_rng(5))
    cut = T0 + DAYS * 86400 - 6 * 3600
    late_store.write([i for i in items if float(i.start_time) < cut], [], lsn=0)
    clock = [cut + 600.0]
    monitor = Monitor(late_store, drift_every=1e12, clock=lambda: clock[0])
    monitor.anomalies("p", clock[0])  # learns, and evaluates up to ten minutes ago
    outage = cut - 3600  # an hour ago: a burst of failed calls on model "b", exported only now
    burst = [Interaction(id=f"late-{k}", model="b", start_time=outage + k % 60, latency_ms=300.0, status="error",
                         input=[Message(role="user", content="q")]) for k in range(60)]  # type: ignore[arg-type]  # fmt: skip
    late_store.write([normalize_interaction(i, project="p", now=cut) for i in burst], [], lsn=0)
    clock[0] += 60.0
    found = monitor.anomalies("p", clock[0])
    late = [a for a in found if a["kind"] == "late"]
    assert late and monitor.stats.late_minutes >= 1
    assert {(a["t"], a["dim"], a["value"]) for a in late if a["metric"] == "error_rate"} >= {(outage, "model", "b")}
    assert all(a["detected_at"] == clock[0] for a in late)
    clock[0] += 60.0
    assert not [a for a in monitor.anomalies("p", clock[0]) if a["kind"] == "late"]  # judged once
    late_store.close()


def test_backtest_replays_history_and_stores_nothing(store: DuckDBStore) -> None:
    before = len(store.anomalies("p", T0, T0 + DAYS * 86400, limit=100_000))
    steps = list(backtest(store, "p", T0, T0 + DAYS * 86400))
    assert [(done, total) for done, total, _ in steps] == [(1, DAYS), (2, DAYS), (3, DAYS)]
    assert steps[0][2] == [] and steps[1][2] == []  # the first two days only teach the detector
    incidents = group([row for _, _, rows in steps for row in rows])
    assert [(i.dim, i.value) for i in incidents] == [("model", "a")]
    assert len(store.anomalies("p", T0, T0 + DAYS * 86400, limit=100_000)) == before
    keen = [row for _, _, rows in backtest(store, "p", T0, T0 + DAYS * 86400, threshold=3.0) for row in rows]
    assert len(keen) > sum(len(rows) for _, _, rows in steps)  # a lower threshold, more alarms


def test_a_user_sending_forty_times_their_volume_is_an_incident_on_that_user(tmp_path: Path) -> None:
    """Issue 13's heavy user: no per-minute series sees one user among many; their hour against their own usual one does."""
    user_store = DuckDBStore(tmp_path / "users.duckdb")
    rng = np.random.default_rng(9)
    items = _traffic(rng)
    for k, item in enumerate(items):
        item.user_id = f"user-{int(rng.integers(0, 300))}" if k % 50 else "user-quiet"  # one in 50 calls: ~5 an hour
    burst = T0 + 2.5 * 86400
    items += [normalize_interaction(Interaction(id=f"heavy-{k}", model="b", start_time=burst + k * 18, latency_ms=400.0,
                                                user_id="user-quiet", input_tokens=4_000, input=[Message(role="user", content="doc")]),
                                    project="p", now=T0 + 30 * 86400) for k in range(200)]  # type: ignore[arg-type]  # fmt: skip
    # 200 calls in an hour, 4,000 input tokens each: both the calls and the tokens are far past the user's ~5 an hour
    user_store.write(items, [], lsn=0)
    now = T0 + DAYS * 86400
    found = Monitor(user_store, drift_every=1e12, clock=lambda: now).anomalies("p", now)
    users = [a for a in found if a["dim"] == "user_id"]
    assert {a["value"] for a in users} == {"user-quiet"}, users
    assert {a["metric"] for a in users} == {"user_calls", "user_input_tokens"}
    hours = sorted({a["t"] for a in users})
    assert hours[0] == burst - burst % 3600 and len(hours) <= 2  # the hour(s) the burst fell in
    (incident,) = [i for i in group(found) if i.dim == "user_id"]
    assert incident.value == "user-quiet" and incident.severity() == "critical"
    user_store.close()


def test_a_heavy_episode_whose_first_hour_is_under_the_floors_is_still_reported(tmp_path: Path) -> None:
    """Heavy use that builds up: 30 calls in its first hour (under the 40-call and 100k-token floors), then 50 an
    hour. The first hour must not become the user's usual, or the next ones are "not 3x their usual" either."""
    user_store = DuckDBStore(tmp_path / "episode.duckdb")
    rng = np.random.default_rng(9)
    items = _traffic(rng)
    for k, item in enumerate(items):
        item.user_id = f"user-{int(rng.integers(0, 300))}" if k % 50 else "user-quiet"
    onset = T0 + 2.5 * 86400
    onset -= onset % 3600
    times = [onset + k * 120 for k in range(30)] + [onset + 3600 + k * 72 for k in range(100)]
    items += [normalize_interaction(Interaction(id=f"heavy-{k}", model="b", start_time=t, latency_ms=400.0, user_id="user-quiet",
                                                input_tokens=3_000, input=[Message(role="user", content="doc")]),
                                    project="p", now=T0 + 30 * 86400) for k, t in enumerate(times)]  # type: ignore[arg-type]  # fmt: skip
    user_store.write(items, [], lsn=0)
    now = T0 + DAYS * 86400
    found = Monitor(user_store, drift_every=1e12, clock=lambda: now).anomalies("p", now)
    users = [a for a in found if a["dim"] == "user_id"]
    assert {a["value"] for a in users} == {"user-quiet"}, users
    assert sorted({a["t"] for a in users}) == [onset + 3600, onset + 7200]  # the hours past the floors
    user_store.close()


def test_a_user_pasting_documents_in_a_few_calls_is_seen_though_not_among_the_busiest_by_calls(tmp_path: Path) -> None:
    """Two calls of 150k input tokens each: far from the top 20 users by calls in their hour, heavy by tokens."""
    user_store = DuckDBStore(tmp_path / "paster.duckdb")
    rng = np.random.default_rng(9)
    items = _traffic(rng)
    for item in items:
        item.user_id = f"user-{int(rng.integers(0, 300))}"
    hour = T0 + 2.5 * 86400
    hour -= hour % 3600
    items += [normalize_interaction(Interaction(id=f"paste-{k}", model="b", start_time=hour + 600 + k * 900, latency_ms=900.0,
                                                user_id="user-paster", input_tokens=150_000, input=[Message(role="user", content="doc")]),
                                    project="p", now=T0 + 30 * 86400) for k in range(2)]  # type: ignore[arg-type]  # fmt: skip
    user_store.write(items, [], lsn=0)
    in_hour = Counter(i.user_id for i in items if hour <= float(i.start_time) < hour + 3600)
    assert sum(calls > 2 for calls in in_hour.values()) >= 20  # outside the top 20 by calls
    now = T0 + DAYS * 86400
    found = Monitor(user_store, drift_every=1e12, clock=lambda: now).anomalies("p", now)
    users = [(a["value"], a["metric"], a["t"]) for a in found if a["dim"] == "user_id"]
    assert users == [("user-paster", "user_input_tokens", hour)], users
    user_store.close()


def test_a_backfill_in_progress_is_not_silence(tmp_path: Path) -> None:
    """The demo backfills a week while the monitor runs: minutes past the newest stored call wait for it
    (they used to be judged as zero traffic: "count shift on model=gpt-4o: 0 against 12.3 expected")."""
    partial = DuckDBStore(tmp_path / "partial.duckdb")
    items = _traffic(np.random.default_rng(1))
    now = T0 + DAYS * 86400
    half = [i for i in items if float(i.start_time) < now - 86400]
    partial.write(half, [], lsn=0)
    clock = [now]
    monitor = Monitor(partial, drift_every=1e12, clock=lambda: clock[0])
    assert monitor.anomalies("p", clock[0]) == []  # judged up to the newest call, a day ago: nothing yet
    partial.write([i for i in items if float(i.start_time) >= now - 86400], [], lsn=0)  # the rest arrives
    clock[0] += 60.0
    incidents = group(monitor.anomalies("p", clock[0]))
    assert [(i.dim, i.value) for i in incidents] == [("model", "a")], [i.as_dict(clock[0])["title"] for i in incidents]
    clock[0] += STALL + 3600.0  # then traffic really stops: after STALL the silent minutes are judged, and it is news
    stopped = group(monitor.anomalies("p", clock[0]))
    assert stopped and all(i.peak["metric"] == "count" and i.peak["observed"] == 0 for i in stopped)
    partial.close()
