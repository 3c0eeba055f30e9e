"""Window caps on the real app (in process), issue 12 F4: a window too long for an endpoint is refused
before the store is asked for anything, and a window at the cap is answered with bounded per-day lists."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.server.api import params, topics, ux
from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

READ_KEY = "hn_r_params_windows_key_0123456789"
READ = {"Authorization": f"Bearer {READ_KEY}"}
DAY = 86_400


class RecordingStore:
    """The app's store, handed in its place, noting each method a handler asks it for."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.asked.append(name)
        return getattr(self.store, name)


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp_path: Path = tmp_path_factory.mktemp("params-windows")
    KeyRing(tmp_path / "keys.json").add("test", "read", READ_KEY)
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, monitor_interval=0))) as running:
        yield running


@pytest.fixture
def recorded(app_client: TestClient) -> Iterator[tuple[TestClient, RecordingStore]]:
    svc = app_client.app.state.services  # type: ignore[attr-defined]
    real = svc.store
    svc.store = RecordingStore(real)
    try:
        yield app_client, svc.store
    finally:
        svc.store = real


CAPPED = ("/v1/users/active", "/v1/users/engagement", "/v1/users/retention", "/v1/topics", "/v1/topics/flow")


def test_caps_are_documented_numbers() -> None:
    assert ux.MAX_DAYS == topics.MAX_DAYS == 400
    assert params.MAX_BUCKETS == 10_000


@pytest.mark.parametrize("path", ("/v1/users/engagement", "/v1/users/retention", "/v1/users/active"))
def test_issue_request_is_refused_without_work(recorded: tuple[TestClient, RecordingStore], path: str) -> None:
    """``start=0&end=8.64e10`` took 151 MB (engagement), 1.35 GB (retention), 38 s (active)."""
    client, store = recorded
    started = time.monotonic()
    response = client.get(f"{path}?start=0&end=8.64e10", headers=READ)
    assert response.status_code == 400 and response.json()["field"] in ("start", "end")
    assert time.monotonic() - started < 2 and len(response.content) < 1000
    assert store.asked == []


@pytest.mark.parametrize("path", CAPPED)
@pytest.mark.parametrize("window", ("start=2000-01-01", "since=401d", "start=2024-01-01&end=2025-06-01"))
def test_window_over_the_cap_is_refused_before_the_store(recorded: tuple[TestClient, RecordingStore], path: str, window: str) -> None:
    client, store = recorded
    response = client.get(f"{path}?{window}", headers=READ)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["field"] == window.partition("=")[0]
    assert "at most 400 days" in error["error"]
    assert store.asked == []


@pytest.mark.parametrize("path", ("/v1/users/active", "/v1/users/engagement", "/v1/users/retention"))
def test_window_at_the_cap_is_answered_with_bounded_lists(recorded: tuple[TestClient, RecordingStore], path: str) -> None:
    client, store = recorded
    end = time.time()
    response = client.get(f"{path}?start={end - 400 * DAY}&end={end}", headers=READ)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body.get("days", body.get("cohorts"))
    assert 400 <= len(rows) <= 401
    assert store.asked


def test_bucket_counts_are_capped_before_the_store(recorded: tuple[TestClient, RecordingStore]) -> None:
    client, store = recorded
    for url in ("/v1/ux/summary?bucket=hour&since=500d", "/v1/metrics?bucket=minute&since=30d", "/v1/metrics/users?bucket=hour&since=500d"):
        response = client.get(url, headers=READ)
        assert response.status_code == 400 and response.json()["field"] == "bucket", (url, response.text)
        assert "10000" in response.json()["error"]
    assert client.get("/v1/ux/summary?bucket=minute", headers=READ).json()["field"] == "bucket"  # the UX grain is the hour
    assert store.asked == []


@pytest.mark.parametrize(("offsets", "limit"), [(",".join(["1"] * 101), "at most 100"), ("1,100000", "0 to 400"), ("1,-7", "0 to 400")])
def test_retention_offsets_are_bounded(recorded: tuple[TestClient, RecordingStore], offsets: str, limit: str) -> None:
    client, store = recorded
    error = client.get(f"/v1/users/retention?offsets={offsets}", headers=READ).json()
    assert error["field"] == "offsets" and limit in error["error"]
    assert store.asked == []
