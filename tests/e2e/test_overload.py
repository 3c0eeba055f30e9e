"""Overload answers 503 with Retry-After instead of growing memory; what was acknowledged is stored."""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path

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
    import threading

    server = start_server(tmp_path / "data", env={"HERON_MAX_INFLIGHT": "1"})
    release = threading.Event()
    status = lambda: httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()["ingest"]  # noqa: E731

    def slow_body():  # holds the only ingest slot until released
        yield b'{"interactions": ['
        release.wait(10)
        yield b"]}"

    try:
        holder = threading.Thread(
            target=lambda: httpx.post(f"{server.url}/v1/interactions", content=slow_body(), headers=server.write_headers, timeout=30)
        )
        holder.start()
        deadline = time.monotonic() + 10
        while status()["inflight_requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": []}, headers=server.write_headers)
        otlp = httpx.post(f"{server.url}/v1/traces", json={"resourceSpans": []}, headers=server.write_headers)
        release.set()
        holder.join(10)
        assert response.status_code == 429 and response.headers["retry-after"] == "1"
        assert otlp.status_code == 429 and otlp.headers["retry-after"] == "1"
        after = httpx.post(f"{server.url}/v1/interactions", json={"interactions": []}, headers=server.write_headers)
        assert after.status_code == 200 and status()["inflight_requests"] == 0
    finally:
        release.set()
        server.stop()
