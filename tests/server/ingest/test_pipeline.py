from __future__ import annotations

import time
from pathlib import Path

import pytest

from heron.errors import OverloadedError
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.server.ingest.pipeline import IngestPipeline, encode_frame
from heron.server.ingest.wal import WriteAheadLog
from heron.store.duckdb import DuckDBStore


def _items(n: int, offset: int = 0) -> list[Interaction]:
    now = time.time()
    return [
        normalize_interaction(Interaction(id=f"x{offset + i}", model="m", start_time=now - 10, latency_ms=5.0), project="p", now=now)
        for i in range(n)
    ]


def test_acknowledged_frames_reach_the_store(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal"))
    pipeline.start()
    futures = [pipeline.submit_nowait(encode_frame(batch, []), batch) for batch in (_items(100), _items(50, 100))]
    for future in futures:
        future.result(5)
    assert pipeline.wait_idle(10)
    assert store.count("p") == 150
    pipeline.close()
    store.close()


def test_recovery_replays_frames_the_store_missed(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    items = _items(30)
    wal.append([encode_frame(items[:10], []), encode_frame(items[10:], [])])  # durable, never stored
    wal.close()
    store = DuckDBStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal"))
    assert pipeline.recover() == 30
    assert store.count("p") == 30 and store.applied_lsn() == 2
    assert pipeline.recover() == 0  # idempotent
    store.close()


def test_backlog_over_the_limit_is_refused(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "db.duckdb")
    pipeline = IngestPipeline(store, WriteAheadLog(tmp_path / "wal"), max_pending=100)
    # not started: nothing drains, so the backlog only grows
    pipeline.submit_nowait(b"x", _items(80))
    with pytest.raises(OverloadedError) as info:
        pipeline.submit_nowait(b"y", _items(30, 80))
    assert info.value.retry_after >= 1
    store.close()
