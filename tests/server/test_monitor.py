"""The monitor over a real store: a latency spike on one model is flagged, state survives a restart, drift is stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.server.monitor import GRACE, Monitor
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
