"""Overload answers 503 with Retry-After instead of growing memory; what was acknowledged is stored."""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import start_server


def test_backlog_limit_sheds_load_with_retry_after(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", env={"HERON_MAX_PENDING": "600", "HERON_FSYNC": "0"})
    try:
        now = time.time()

        def send(k: int) -> tuple[int, str | None, int]:
            items = [{"id": f"o{k}-{i}", "model": "m", "start_time": now - 1, "latency_ms": 5.0, "output": "x" * 200} for i in range(500)]
            response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers, timeout=30)
            return response.status_code, response.headers.get("retry-after"), len(items)

        with cf.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(send, range(40)))
        statuses = [status for status, _, _ in results]
        assert set(statuses) <= {200, 503}
        assert 503 in statuses, "the backlog limit never triggered"
        assert all(retry and int(retry) >= 1 for status, retry, _ in results if status == 503)
        acknowledged = sum(n for status, _, n in results if status == 200)
        assert acknowledged > 0
        assert server.wait_stored(acknowledged) == acknowledged
    finally:
        server.stop()


def test_openapi_document(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        doc = httpx.get(f"{server.url}/openapi.json").json()
    finally:
        server.stop()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/interactions", "/v1/feedback", "/v1/traces", "/v1/metrics", "/v1/conversations/{conversation_id}"} <= set(doc["paths"])
    interaction = doc["components"]["schemas"]["Interaction"]
    assert set(interaction["required"]) == {"model", "start_time"}
    assert interaction["properties"]["model"]["maxLength"] == 256


def test_too_many_concurrent_requests_get_429(tmp_path: Path) -> None:
    """With every ingest slot held, ingest answers 429 + Retry-After. A slot is taken only once the body
    is in (a slow body holds none: tests/faults/test_hostile_bodies.py), so the test holds it directly."""
    import threading

    import anyio
    from starlette.testclient import TestClient

    from heron.server.app import create_app
    from heron.server.auth import KeyRing
    from heron.server.settings import Settings

    keys = KeyRing(tmp_path / "keys.json")
    write = {"Authorization": f"Bearer {keys.add('test', 'write')}"}
    read = {"Authorization": f"Bearer {keys.add('test', 'read')}"}
    held, release = threading.Event(), threading.Event()

    async def hold_the_only_slot(svc: Any) -> None:
        async with svc.ingest_slot():
            held.set()
            while not release.is_set():
                await anyio.sleep(0.01)

    settings = Settings(data_dir=tmp_path, fsync=False, max_inflight=1, enrich=False, monitor_interval=0)
    with TestClient(create_app(settings)) as client:
        assert client.portal is not None
        client.portal.start_task_soon(hold_the_only_slot, client.app.state.services)  # type: ignore[attr-defined]
        assert held.wait(10)
        assert client.get("/v1/status", headers=read).json()["ingest"]["inflight_requests"] == 1
        response = client.post("/v1/interactions", json={"interactions": []}, headers=write)
        otlp = client.post("/v1/traces", json={"resourceSpans": []}, headers=write)
        release.set()
        assert response.status_code == 429 and response.headers["retry-after"] == "1"
        assert otlp.status_code == 429 and otlp.headers["retry-after"] == "1"
        deadline = time.monotonic() + 10
        while client.get("/v1/status", headers=read).json()["ingest"]["inflight_requests"] and time.monotonic() < deadline:
            time.sleep(0.01)
        after = client.post("/v1/interactions", json={"interactions": []}, headers=write)
        assert after.status_code == 200
