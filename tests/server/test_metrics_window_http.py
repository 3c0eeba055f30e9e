"""``GET /v1/metrics`` on the real app (in process) over a 40-minute window that straddles an hour:
the calls in the window, not those of the two whole hours it touches."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

WRITE_KEY = "hn_w_metrics_window_test_key_0123"
READ_KEY = "hn_r_metrics_window_test_key_0123"
READ = {"Authorization": f"Bearer {READ_KEY}"}
CALLS = 249


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE_KEY)
    keys.add("test", "read", READ_KEY)
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0))) as running:
        yield running


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_unaligned_40_minute_window_counts_its_own_calls(client: TestClient) -> None:
    hour = math.floor(time.time() / 3600) * 3600 - 3 * 3600  # "20:00", three hours ago
    starts = [hour - 3600 + (i + 0.5) * 7200 / CALLS for i in range(CALLS)]  # 19:00-21:00
    items = [{"id": f"w{i}", "model": "acme-unpriced" if i % 5 == 0 else "gpt-4o", "start_time": t, "latency_ms": 100.0 + i,
              "input_tokens": 10, "output_tokens": 5} for i, t in enumerate(starts)]  # fmt: skip
    response = client.post("/v1/interactions", json={"interactions": items}, headers={"Authorization": f"Bearer {WRITE_KEY}"})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 30
    while client.get("/v1/status", headers=READ).json()["stored_interactions"] < CALLS:  # stored just after the ack
        assert time.monotonic() < deadline, "calls not stored"
        time.sleep(0.05)

    start, end = hour - 20 * 60, hour + 20 * 60  # 19:40-20:20
    inside = [i for i, t in enumerate(starts) if start <= t < end]
    window = {"start": start, "end": end}
    body = client.get("/v1/metrics", params={**window, "bucket": "all", "metrics": "count,request_rate,cost_unknown"}, headers=READ).json()
    assert (body["start"], body["end"]) == (start, end)
    (row,) = body["series"]
    assert row["count"] == len(inside) < CALLS
    assert _epoch(row["t"]) == start
    assert row["request_rate"] == pytest.approx(len(inside) / 2400)
    assert row["cost_unknown"] == sum(i % 5 == 0 for i in inside)

    hourly = client.get("/v1/metrics", params={**window, "bucket": "hour", "metrics": "count,request_rate"}, headers=READ).json()["series"]
    assert [_epoch(r["t"]) for r in hourly] == [hour - 3600, hour]
    assert [r["count"] for r in hourly] == [sum(starts[i] < hour for i in inside), sum(starts[i] >= hour for i in inside)]
    assert [r["request_rate"] for r in hourly] == pytest.approx([r["count"] / 1200 for r in hourly])

    by_model = client.get("/v1/metrics", params={**window, "bucket": "all", "group_by": "model", "metrics": "count"}, headers=READ).json()
    assert sum(r["count"] for r in by_model["series"]) == len(inside)
    unknown = client.get("/v1/costs/unknown-models", params=window, headers=READ).json()["models"]
    assert unknown == [{"model": "acme-unpriced", "calls": sum(i % 5 == 0 for i in inside), "input_tokens": 10 * sum(i % 5 == 0 for i in inside),
                        "output_tokens": 5 * sum(i % 5 == 0 for i in inside)}]  # fmt: skip
