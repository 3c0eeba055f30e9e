"""Ingest decodes in its own few threads: a flood of ingest requests never makes a read wait
for a thread (issue 12: reads starved under ingest overload). The latency figures are in
bench/bench_overload.py; this checks the mechanism."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.ingest import routes as ingest_routes
from heron.server.settings import Settings

WRITE = {"Authorization": "Bearer hn_w_decode_limit_key_0123456"}
READ = {"Authorization": "Bearer hn_r_decode_limit_key_0123456"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE["Authorization"].split()[1])
    keys.add("test", "read", READ["Authorization"].split()[1])
    settings = Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0, min_free_mb=0, decode_threads=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_reads_answer_while_every_decode_thread_is_busy(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    lock = threading.Lock()
    running, most = [0], [0]
    real = ingest_routes.decode_interactions

    def slow_decode(*args: Any, **kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(20)
        with lock:
            running[0] -= 1
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_routes, "decode_interactions", slow_decode)
    item = {"model": "gpt-4o", "start_time": time.time() - 5}

    def ingest(n: int) -> int:
        body = {"interactions": [{**item, "id": f"i{n}"}]}
        return client.post("/v1/interactions", json=body, headers=WRITE).status_code

    flood = 48  # more than anyio's default 40 threads, which reads and ingest used to share
    with cf.ThreadPoolExecutor(flood) as pool:
        posted = [pool.submit(ingest, n) for n in range(flood)]
        deadline = time.monotonic() + 10
        while running[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running[0] == 2  # both decode threads held, the other requests waiting for one
        assert client.get("/v1/status", headers=READ).status_code == 200  # a read still gets a thread
        assert client.get("/v1/interactions", headers=READ).status_code == 200
        release.set()
        assert [f.result(20) for f in posted] == [200] * flood
    assert most[0] == 2
    assert client.app.state.services.pipeline.wait_idle(10)  # type: ignore[attr-defined]
    assert client.get("/v1/status", headers=READ).json()["stored_interactions"] == flood


def test_a_request_that_cannot_be_taken_is_shed_before_its_body_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE["Authorization"].split()[1])
    settings = Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0, min_free_mb=0, decode_threads=1, max_inflight=2)
    release = threading.Event()
    decoded: list[int] = []
    real = ingest_routes.decode_interactions

    def slow_decode(*args: Any, **kwargs: Any) -> Any:
        decoded.append(1)
        release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_routes, "decode_interactions", slow_decode)
    with TestClient(create_app(settings)) as client, cf.ThreadPoolExecutor(2) as pool:
        body = {"interactions": [{"model": "gpt-4o", "start_time": time.time() - 5}]}
        held = [pool.submit(client.post, "/v1/interactions", json=body, headers=WRITE) for _ in range(2)]
        deadline = time.monotonic() + 10
        while client.app.state.services.inflight_now < 2 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        shed = client.post("/v1/interactions", json=body, headers=WRITE)
        assert shed.status_code == 429 and int(shed.headers["retry-after"]) >= 1
        assert len(decoded) == 1  # the third body was never decoded (the second waits for the decode thread)
        release.set()
        assert [f.result(20).status_code for f in held] == [200, 200]
