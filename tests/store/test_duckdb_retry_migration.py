"""A DuckDB file written before migration 0006 opens, gains ``interactions.retry_of``, and keeps its rows."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from heron.store.base import InteractionQuery
from heron.store.duckdb import DuckDBStore
from heron.store.migrations import migrations
from tests.contract.test_store_contract import make

RETRY = 6


def _columns(path: Path) -> list[str]:
    con = duckdb.connect(str(path))
    try:
        return [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE interactions)").fetchall()]
    finally:
        con.close()


def _as_before_0006(path: Path) -> None:
    """Undo migration 0006 (one ADD COLUMN) and the later ones so the file is what older Heron left behind."""
    con = duckdb.connect(str(path))
    try:
        con.execute("ALTER TABLE interactions DROP COLUMN retry_of")
        for table, column in (("interactions", "response_model"), ("interactions", "environment"), ("feedback", "name"), ("feedback", "score")):  # 0011
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        for table in ("attribute_mappings", "rederive_pending"):  # 0011
            con.execute(f"DROP TABLE {table}")
        for table in ("drift_results", "anomalies", "monitor_state", "daily_engagement", "engagement_pending", "engagement_state"):  # 0007, 0008, 0010
            con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM schema_version WHERE version >= ?", [RETRY])
    finally:
        con.close()


def test_a_database_from_before_0006_upgrades_and_old_rows_read_none(tmp_path: Path) -> None:
    path = tmp_path / "heron.duckdb"
    rng = random.Random(5)
    old = [make(i, rng, conversation_id="conv") for i in range(3)]
    store = DuckDBStore(path)
    store.write(old, [], lsn=1)
    store.close()
    _as_before_0006(path)
    assert "retry_of" not in _columns(path)

    store = DuckDBStore(path)
    try:
        assert store.schema_version() == max(version for version, _ in migrations()) >= RETRY
        assert store.applied_lsn() == 1
        new = make(3, rng, conversation_id="conv", retry_of=old[-1].id)
        store.write([new], [], lsn=2)
        assert store.count("p") == 4
        turns = store.conversation("p", "conv")
        assert [t["retry_of"] for t in turns] == [None, None, None, old[-1].id]
        listed = store.list_interactions(InteractionQuery(project="p", limit=10)).items
        assert all("retry_of" in x for x in listed)
        first = store.get_interaction("p", old[0].id)
        assert first is not None and first["retry_of"] is None
    finally:
        store.close()
    assert _columns(path)[-3:] == ["retry_of", "response_model", "environment"]  # ADD COLUMN appends; the store inserts by name anyway
