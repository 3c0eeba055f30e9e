"""A store writer that fails, fails for good, or dies: nothing is acknowledged that cannot be
written, health says so, and every acknowledged record is stored once the store recovers."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.errors import OverloadedError, StoreError
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.ingest.pipeline import IngestPipeline, encode_frame
from heron.server.ingest import wal as wal_module
from heron.server.ingest.wal import WriteAheadLog
from heron.server.settings import Settings
from heron.store.duckdb import DuckDBStore

WRITE = {"Authorization": "Bearer hn_w_writer_fault_test_key_0123"}
READ = {"Authorization": "Bearer hn_r_writer_fault_test_key_0123"}


def _items(n: int, offset: int = 0) -> list[Interaction]:
    now = time.time()
    return [
        normalize_interaction(Interaction(id=f"x{offset + i}", model="m", start_time=now - 10, latency_ms=5.0), project="p", now=now)
        for i in range(n)
    ]


def _submit(pipeline: IngestPipeline, items: list[Interaction]) -> None:
    pipeline.submit_nowait(encode_frame(items, []), items).result(5)


def _ids(store: DuckDBStore) -> set[str]:
    return {row[0] for row in store._cursor().execute("SELECT id FROM interactions WHERE project = 'p'").fetchall()}


def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


class FaultyStore(DuckDBStore):
    """A real store whose writes raise ``fault`` while it is set (a failing disk, a bug)."""

    fault: BaseException | None = None

    def write(self, interactions: Sequence[Interaction], *args: Any, **kwargs: Any) -> None:
        if self.fault is not None:
            raise self.fault
        super().write(interactions, *args, **kwargs)


def test_a_connection_lost_under_the_writer_is_reopened_and_nothing_is_lost(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal", min_free_bytes=0))
    pipeline.start()
    _submit(pipeline, _items(100))
    assert pipeline.wait_idle(10)
    store._con.close()  # every statement now raises, as after DuckDB invalidates a database
    _submit(pipeline, _items(50, 100))  # durable in the log: acknowledged
    _until(lambda: pipeline.stats.store_reopens >= 1 and pipeline.pending == 0)
    assert store.count("p") == 150 and pipeline.stats.store_errors >= 1
    assert pipeline.failure is None
    _submit(pipeline, _items(10, 150))
    assert pipeline.wait_idle(10) and _ids(store) == {f"x{i}" for i in range(160)}
    pipeline.close()
    store.close()


def test_while_writes_fail_nothing_more_is_acknowledged(tmp_path: Path) -> None:
    store = FaultyStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal", min_free_bytes=0))
    pipeline.start()
    store.fault = RuntimeError("disk I/O error")
    _submit(pipeline, _items(20))  # acknowledged before the writer has tried
    _until(lambda: pipeline.failure is not None)
    assert "disk I/O error" in (pipeline.failure or "")
    with pytest.raises(OverloadedError) as refused:
        _submit(pipeline, _items(5, 20))
    assert refused.value.retry_after > 0 and pipeline.stats.refused_failing == 1
    store.fault = None
    _until(lambda: pipeline.failure is None)
    assert pipeline.wait_idle(10) and _ids(store) == {f"x{i}" for i in range(20)}
    pipeline.close()
    store.close()


def test_a_dead_writer_refuses_ingest_and_the_log_replays_on_restart(tmp_path: Path) -> None:
    store = FaultyStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal", min_free_bytes=0))
    pipeline.start()
    died = threading.Event()
    previous = threading.excepthook
    threading.excepthook = lambda args: died.set()  # the thread's death is the point; keep pytest quiet
    try:
        store.fault = SystemExit("the writer thread is gone")
        _submit(pipeline, _items(30))
        assert died.wait(10)
    finally:
        threading.excepthook = previous
    assert "heron-writer thread stopped" in (pipeline.failure or "")
    with pytest.raises(OverloadedError):
        _submit(pipeline, _items(5, 30))
    pipeline.close(timeout=1)
    store.close()
    # the supervisor restarts the process: the log replays what was acknowledged
    again = DuckDBStore(tmp_path / "db.duckdb")
    restarted = IngestPipeline(again, WriteAheadLog(tmp_path / "wal", min_free_bytes=0))
    assert restarted.recover() == 30 and _ids(again) == {f"x{i}" for i in range(30)}
    again.close()


@pytest.fixture
def app_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE["Authorization"].split()[1])
    keys.add("test", "read", READ["Authorization"].split()[1])
    monkeypatch.setattr("heron.store.duckdb.DuckDBStore", FaultyStore)  # what open_store opens
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, enrich=False, monitor_interval=0, min_free_mb=0))) as client:
        yield client


def test_health_and_ingest_answer_for_a_failing_writer(app_client: TestClient) -> None:
    svc = app_client.app.state.services  # type: ignore[attr-defined]
    store = svc.store
    assert isinstance(store, FaultyStore)
    item = {"id": "first", "model": "gpt-4o", "start_time": time.time() - 5}
    assert app_client.get("/healthz").json()["status"] == "ok"
    store.fault = RuntimeError("disk I/O error")
    assert app_client.post("/v1/interactions", json={"interactions": [item]}, headers=WRITE).status_code == 200
    _until(lambda: svc.pipeline.failure is not None)
    health = app_client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unhealthy" and "disk I/O error" in health.json()["reason"]
    refused = app_client.post("/v1/interactions", json={"interactions": [{**item, "id": "second"}]}, headers=WRITE)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "storage is failing" in refused.json()["error"]
    status = app_client.get("/v1/status", headers=READ).json()["ingest"]
    assert status["failure"] and status["refused_failing"] == 1
    store.fault = None
    _until(lambda: app_client.get("/healthz").status_code == 200)
    assert app_client.get("/v1/status", headers=READ).json()["stored_interactions"] == 1


def test_a_store_out_of_disk_refuses_with_507_not_503(app_client: TestClient) -> None:
    """DuckDB can meet ENOSPC on frames already acknowledged (its own WAL, a checkpoint) before
    the log's watermark is crossed: that is a full disk, answered 507 like the log's own."""
    svc = app_client.app.state.services  # type: ignore[attr-defined]
    store = svc.store
    item = {"id": "first", "model": "gpt-4o", "start_time": time.time() - 5}
    store.fault = StoreError('Failed to commit: Could not write file "heron.duckdb.wal": No space left on device')
    assert app_client.post("/v1/interactions", json={"interactions": [item]}, headers=WRITE).status_code == 200
    _until(lambda: svc.pipeline.failure is not None)
    refused = app_client.post("/v1/interactions", json={"interactions": [{**item, "id": "second"}]}, headers=WRITE)
    assert refused.status_code == 507 and int(refused.headers["retry-after"]) >= 1
    assert "No space left on device" in refused.json()["error"] and "free space" in refused.json()["error"]
    store.fault = None
    _until(lambda: app_client.get("/healthz").status_code == 200)
    assert app_client.post("/v1/interactions", json={"interactions": [{**item, "id": "third"}]}, headers=WRITE).status_code == 200


def test_enospc_in_the_log_is_a_507_and_nothing_acknowledged_is_lost(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk-full episode of F1 without root: ENOSPC injected at the file layer under the
    whole app (tests/faults/test_disk_full.py fills a real tmpfs where it can mount one)."""
    svc = app_client.app.state.services  # type: ignore[attr-defined]
    wal = svc.pipeline.wal
    real_write, armed = os.write, [False]

    def write(fd: int, data: Any) -> int:
        if armed[0] and fd == wal._fd:  # noqa: SLF001 - only the log's file
            real_write(fd, bytes(data[: max(1, len(data) // 2)]))  # a partial frame, as a full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(wal_module.os, "write", write)
    acked: set[str] = set()

    def post(name: str) -> int:
        ids = [f"{name}-{i}" for i in range(20)]
        items = [{"id": i, "model": "gpt-4o", "start_time": time.time() - 5} for i in ids]
        response = app_client.post("/v1/interactions", json={"interactions": items}, headers=WRITE)
        if response.status_code == 200:
            acked.update(ids)
        elif response.status_code == 507:
            assert int(response.headers["retry-after"]) >= 1 and "disk is full" in response.json()["error"]
        return response.status_code

    assert post("before") == 200
    armed[0] = True
    assert [post(f"full{n}") for n in range(3)] == [507, 507, 507]
    assert app_client.get("/v1/interactions", headers=READ).status_code == 200  # reads keep working
    armed[0] = False
    assert [post(f"after{n}") for n in range(5)] == [200] * 5
    assert svc.pipeline.wait_idle(10)
    ids = {row[0] for row in svc.store._cursor().execute("SELECT id FROM interactions").fetchall()}  # noqa: SLF001
    assert ids == acked and len(acked) == 120
    assert app_client.get("/v1/status", headers=READ).json()["ingest"]["wal_failures"] == 3
