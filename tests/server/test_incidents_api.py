"""GET /v1/incidents over stored anomaly rows: grouped, named after the segment, filtered by status,
bad parameters refused with the field named."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

READ_KEY = "hn_r_incidents_api_key_0123456789"
READ = {"Authorization": f"Bearer {READ_KEY}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp_path: Path = tmp_path_factory.mktemp("incidents")
    KeyRing(tmp_path / "keys.json").add("test", "read", READ_KEY)
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, monitor_interval=0, enrich=False))) as running:
        now = time.time()
        old, recent = now - 6 * 3600, now - 20 * 60
        rows = [  # a resolved error burst on one model (and the total), an ongoing latency rise on a prompt version
            *({"t": old + 60 * m, "bucket_s": 60, "metric": "error_rate", "dim": "model", "value": "gpt-4o", "observed": 0.25,
               "expected": 0.004, "low": 0.0, "high": 0.03, "score": 1.0 + m / 40, "kind": "spike", "detected_at": now} for m in range(40)),
            *({"t": old + 60 * m, "bucket_s": 60, "metric": "error_rate", "dim": "", "value": "", "observed": 0.06,
               "expected": 0.004, "low": 0.0, "high": 0.02, "score": 1.2, "kind": "spike", "detected_at": now} for m in range(3, 30)),
            *({"t": recent + 60 * m, "bucket_s": 60, "metric": "latency_p50", "dim": "prompt_version", "value": "v3",
               "observed": 1900.0, "expected": 1000.0, "low": 600.0, "high": 1500.0, "score": 1.3, "kind": "shift",
               "detected_at": now} for m in range(15)),
        ]  # fmt: skip
        running.app.state.services.store.write_anomalies("test", rows)  # type: ignore[attr-defined]
        yield running


def test_incidents_group_rows_and_name_the_segment(client: TestClient) -> None:
    body = client.get("/v1/incidents", params={"since": "1d"}, headers=READ).json()
    assert body["counts"] == {"open": 1, "resolved": 1} and body["truncated"] is False
    latest, burst = body["incidents"]
    assert latest["segment"] == {"dim": "prompt_version", "value": "v3"} and latest["status"] == "open"
    assert latest["metrics"] == ["latency_p50"] and latest["severity"] == "warning" and latest["evidence"] == 15
    assert burst["segment"] == {"dim": "model", "value": "gpt-4o"} and burst["status"] == "resolved"
    assert burst["severity"] == "critical" and burst["evidence"] == 40 + 27 and burst["duration_s"] == 40 * 60
    assert burst["also"][0]["metrics"] == ["error_rate"]  # the project total, explained by the model
    assert "error_rate" in burst["title"] and "model=gpt-4o" in burst["title"]


def test_status_filter_and_window(client: TestClient) -> None:
    open_only = client.get("/v1/incidents", params={"status": " OPEN "}, headers=READ).json()
    assert [i["status"] for i in open_only["incidents"]] == ["open"]
    last_hour = client.get("/v1/incidents", params={"since": "1h"}, headers=READ).json()
    assert [i["segment"]["value"] for i in last_hour["incidents"]] == ["v3"]  # the burst ended hours ago


@pytest.mark.parametrize(("query", "field"), [("status=closed", "status"), ("start=nan", "start"), ("bogus=1", "bogus")])
def test_bad_parameters_are_named(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"/v1/incidents?{query}", headers=READ)
    assert response.status_code == 400 and response.json()["field"] == field
