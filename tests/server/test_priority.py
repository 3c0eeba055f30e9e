"""Reads first: background work waits (briefly) for reads in flight, acknowledgements do not."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.server.ingest.pipeline import IngestPipeline, encode_frame
from heron.server.ingest.wal import WriteAheadLog
from heron.server.priority import ReadPriority, ReadsFirst
from heron.store.duckdb import DuckDBStore


def test_no_read_in_flight_costs_nothing() -> None:
    priority = ReadPriority(max_wait=5.0)
    started = time.monotonic()
    priority.yield_to_reads()
    asyncio.run(priority.reads_done())
    assert time.monotonic() - started < 0.5
    assert priority.waited_s == 0.0


def test_background_work_waits_for_the_read_to_end_and_no_longer() -> None:
    priority = ReadPriority(max_wait=5.0)
    priority.begin()
    threading.Timer(0.2, priority.end).start()
    started = time.monotonic()
    priority.yield_to_reads()
    assert 0.15 < time.monotonic() - started < 2.0


def test_a_read_that_never_ends_delays_background_work_by_max_wait_only() -> None:
    priority = ReadPriority(max_wait=0.2)
    priority.begin()
    started = time.monotonic()
    priority.yield_to_reads()
    asyncio.run(priority.reads_done())
    waited = time.monotonic() - started
    assert 0.35 < waited < 2.0
    assert priority.waited_s > 0.35


def test_the_event_loop_wait_ends_when_the_read_ends() -> None:
    priority = ReadPriority(max_wait=5.0)

    async def scenario() -> float:
        priority.begin()
        asyncio.get_running_loop().call_later(0.2, priority.end)
        started = time.monotonic()
        await priority.reads_done()
        return time.monotonic() - started

    assert 0.15 < asyncio.run(scenario()) < 2.0


def test_the_middleware_counts_api_reads_only() -> None:
    priority = ReadPriority()
    seen: dict[str, int] = {}

    async def handler(request: Request) -> JSONResponse:
        seen[f"{request.method} {request.url.path}"] = priority.reads
        return JSONResponse({})

    paths = ["/v1/metrics", "/v1/interactions", "/metrics", "/", "/static/app.js"]
    app = Starlette(routes=[Route(p, handler, methods=["GET", "POST"]) for p in paths], middleware=[Middleware(ReadsFirst, priority=priority)])
    with TestClient(app) as client:
        for path in paths:
            client.get(path)
        client.post("/v1/interactions", content=b"[]")
    assert seen == {"GET /v1/metrics": 1, "GET /v1/interactions": 1, "GET /metrics": 1, "GET /": 0, "GET /static/app.js": 0, "POST /v1/interactions": 0}
    assert priority.reads == 0


def _items(n: int) -> list[Interaction]:
    now = time.time()
    return [normalize_interaction(Interaction(id=f"x{i}", model="m", start_time=now - 10, latency_ms=5.0), project="p", now=now) for i in range(n)]


def test_the_store_writer_waits_for_reads_but_the_log_acknowledges_at_once(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    priority = ReadPriority(max_wait=30.0)
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal"), priority=priority)
    pipeline.start()
    try:
        priority.begin()
        items = _items(20)
        pipeline.submit_nowait(encode_frame(items, []), items).result(5)  # acknowledged: in the log
        time.sleep(0.3)
        assert store.count("p") == 0  # the store write waits for the read
        priority.end()
        assert pipeline.wait_idle(10)
        assert store.count("p") == 20
    finally:
        pipeline.close()
        store.close()


def test_without_ingest_pressure_nothing_waits_for_reads() -> None:
    """A monitor polling /v1/status every 20 ms must not slow an ingest that keeps up."""
    calm = [False]
    priority = ReadPriority(max_wait=5.0, pressure=lambda: calm[0])
    priority.begin()
    started = time.monotonic()
    priority.yield_to_reads()
    asyncio.run(priority.reads_done())
    assert time.monotonic() - started < 0.5 and not priority.waiting()
    calm[0] = True
    assert priority.waiting()
    priority.end()


def test_the_pipeline_is_under_pressure_from_a_quarter_full_backlog(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal"), max_pending=100)
    try:
        assert not pipeline.under_pressure()
        pipeline._pending = 25  # noqa: SLF001
        assert pipeline.under_pressure()
    finally:
        store.close()
