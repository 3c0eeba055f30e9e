"""Resource queries over a real DuckDB store, checked against plain Python over the same samples."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from heron.schema.records import ResourceSample
from heron.server.resources import normalize_resource
from heron.store.base import Store

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 86400


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    from heron.store.duckdb import DuckDBStore

    backend = DuckDBStore(tmp_path / "heron.duckdb")
    yield backend
    backend.close()


def _sample(t: float, metric: str, value: float, host: str = "a", service: str | None = "svc", device: str | None = None, project: str = "p") -> ResourceSample:
    item = ResourceSample(time=t, host=host, service=service, metric=metric, value=value, device=device)
    return normalize_resource(item, project=project, now=NOW)


def _loaded(store: Store) -> list[ResourceSample]:
    rng = random.Random(3)
    samples: list[ResourceSample] = []
    for i in range(600):  # 10 minutes at 1 s
        t = T0 + i
        samples.append(_sample(t, "cpu_percent", rng.uniform(0, 100)))
        samples.append(_sample(t, "cpu_percent", rng.uniform(0, 100), host="b", service=None))
        for device in ("0", "1", "10"):
            samples.append(_sample(t, "gpu_utilization_percent", rng.uniform(0, 100), device=device))
    samples.append(_sample(T0 + 5, "cpu_percent", 50.0, project="other"))
    for lsn, k in enumerate(range(0, len(samples), 997), start=1):
        store.write([], [], lsn=lsn, resources=samples[k : k + 997])
    return samples


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_minute_buckets_match_python(store: Store) -> None:
    samples = _loaded(store)
    rows = store.resource_series("p", start=T0, end=T0 + 3600, bucket="minute", metrics=["cpu_percent"], hosts=["a"])
    assert len(rows) == 10
    for row in rows:
        start = row["t"].timestamp()
        values = [s.value for s in samples if s.project == "p" and s.host == "a" and s.metric == "cpu_percent" and start <= s.time < start + 60]
        assert row["t"] == _utc(start) and row["t"].tzinfo is not None
        assert (row["host"], row["service"], row["metric"], row["device"]) == ("a", "svc", "cpu_percent", None)
        assert row["count"] == len(values) == 60
        assert row["avg"] == pytest.approx(statistics.fmean(values))
        assert (row["min"], row["max"], row["last"]) == (min(values), max(values), values[-1])


def test_series_are_ordered_and_filtered(store: Store) -> None:
    _loaded(store)
    rows = store.resource_series("p", start=T0, end=T0 + 3600, bucket="hour")
    keys = [(r["host"], r["service"], r["metric"], r["device"]) for r in rows]
    assert keys == [
        ("a", "svc", "cpu_percent", None),
        ("a", "svc", "gpu_utilization_percent", "0"),
        ("a", "svc", "gpu_utilization_percent", "1"),
        ("a", "svc", "gpu_utilization_percent", "10"),  # numeric order, not "1" < "10" < "2"
        ("b", None, "cpu_percent", None),
    ]
    assert [r["count"] for r in rows] == [600] * 5
    gpu1 = store.resource_series("p", start=T0, end=T0 + 3600, bucket="hour", devices=["1"])
    assert [(r["metric"], r["device"]) for r in gpu1] == [("gpu_utilization_percent", "1")]
    assert [r["host"] for r in store.resource_series("p", start=T0, end=T0 + 3600, bucket="day", services=["svc"], metrics=["cpu_percent"])] == ["a"]
    assert store.resource_series("p", start=T0 + 7200, end=T0 + 9000) == []
    assert store.resource_series("nobody", start=T0, end=T0 + 3600) == []
    assert len(store.resource_series("p", start=T0, end=T0 + 3600, limit=3)) == 3


def test_a_retried_batch_is_counted_once(store: Store) -> None:
    batch = [_sample(T0 + i, "memory_used_bytes", 1e9 + i) for i in range(10)]
    store.write([], [], lsn=1, resources=batch)
    store.write([], [], lsn=2, resources=batch)  # the agent timed out and sent it again
    (row,) = store.resource_series("p", start=T0, end=T0 + 60)
    assert row["count"] == 10
    store.write([], [], lsn=2, resources=batch)  # a replayed log frame: skipped by lsn
    assert store.resource_series("p", start=T0, end=T0 + 60)[0]["count"] == 10


def test_hosts_list_services_metrics_devices_and_last_seen(store: Store) -> None:
    _loaded(store)
    hosts = store.resource_hosts("p", start=T0, end=NOW)
    assert hosts == [
        {
            "host": "a",
            "service": "svc",
            "metrics": ["cpu_percent", "gpu_utilization_percent"],
            "devices": ["0", "1", "10"],
            "last_seen": _utc(T0 + 599),
            "samples": 2400,
        },
        {"host": "b", "service": None, "metrics": ["cpu_percent"], "devices": [], "last_seen": _utc(T0 + 599), "samples": 600},
    ]
    assert store.resource_hosts("p", start=NOW, end=NOW + 60) == []
