"""A DuckDB file written before migration 0008 gains ``daily_engagement``, filled in from its calls on open."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from heron.schema.records import Interaction
from heron.store.base import ActivityQuery
from heron.store import _duckdb_engagement as _engagement
from heron.store.duckdb import DuckDBStore
from tests.contract.test_users_contract import T0, assert_close, call, reference_engagement, traffic, write

ENGAGEMENT = 8
SLICES = [(None, None), ("model", "claude"), ("prompt_version", ""), ("status", "ok")]


def _sql(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _check(store: DuckDBStore, items: list[Interaction]) -> None:
    for dim, value in SLICES:
        got = store.engagement(ActivityQuery(project="p", start=T0 + 2 * 86400, end=T0 + 20 * 86400, dim=dim, value=value))
        assert_close(got, reference_engagement(items, 2, 20, dim, value), f"{dim}={value}")


def test_a_database_from_before_0008_fills_in_engagement(tmp_path: Path) -> None:
    path = tmp_path / "heron.duckdb"
    items = traffic(5, users=25, days=20)
    store = DuckDBStore(path)
    write(store, items)
    store.close()
    _sql(path, "DROP TABLE daily_engagement", "DROP TABLE engagement_pending", f"DELETE FROM schema_version WHERE version >= {ENGAGEMENT}")

    store = DuckDBStore(path)  # migrates, then computes every stored day
    try:
        assert store.schema_version() >= ENGAGEMENT
        assert store._cursor().execute("SELECT count(*) FROM engagement_pending").fetchall() == [(0,)]
        _check(store, items)
    finally:
        store.close()

    # An interrupted backfill leaves days pending; doing them again changes nothing.
    _sql(path, "INSERT INTO engagement_pending SELECT DISTINCT day FROM daily_user_counts")
    store = DuckDBStore(path)
    try:
        _check(store, items)
        # and writes after the upgrade extend the stored conversations as usual
        more = []
        for i, x in enumerate(items[:200]):
            assert isinstance(x.start_time, float)  # normalized: epoch seconds
            more.append(call(500_000 + i, x.user_id, x.start_time + 30, conversation_id=x.conversation_id, latency_ms=2000.0))
        store.write(more, [], lsn=10_000)
        _check(store, items + more)
    finally:
        store.close()


def test_writes_fold_in_batches_and_a_read_folds_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engagement, "FOLD_ROWS", 500)
    monkeypatch.setattr(_engagement, "FOLD_SECONDS", 1e9)
    rng = random.Random(3)
    items = traffic(7, users=60, days=20)
    assert len(items) > 800
    rng.shuffle(items)  # conversations continue across batches and folds
    store = DuckDBStore(tmp_path / "heron.duckdb")
    try:
        store.write(items[:300], [], lsn=1)
        wm, hi = _engagement.bounds(store._con)  # noqa: SLF001
        assert wm < hi  # fewer than FOLD_ROWS waiting: not folded by the write
        store.write(items[300:700], [], lsn=2)
        wm, hi = _engagement.bounds(store._con)  # noqa: SLF001
        assert wm == hi  # past FOLD_ROWS: the write folded everything waiting
        store.write(items[700:], [], lsn=3)
        assert _engagement.bounds(store._con)[0] < _engagement.bounds(store._con)[1]  # noqa: SLF001
        _check(store, items)  # the read folds the rest first: exact
        wm, hi = _engagement.bounds(store._con)  # noqa: SLF001
        assert wm == hi
    finally:
        store.close()
