"""Re-deriving stored dimensions: the migration to the requested model, and a changed attribute mapping.

Each check compares the rebuilt rollups with a store that received the same calls already carrying the
new dimensions: after a re-derivation, every read must be what it would have been from the start.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from heron.store.base import MetricsQuery
from heron.store.duckdb import DuckDBStore
from tests.contract.test_store_contract import T0, make

WEEK = 7 * 86400.0


def _metrics(store: DuckDBStore, group_by: str) -> list[dict[str, object]]:
    query = MetricsQuery(project="p", start=T0 - 3600, end=T0 + WEEK, bucket="day", group_by=group_by,
                         metrics=("count", "errors", "latency_p95", "input_tokens"))
    rows = sorted(store.metrics(query), key=lambda r: (str(r["t"]), str(r["group"])))
    # sums of floats in another order differ in the last bits
    return [{k: float(f"{v:.10g}") if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def _users(store: DuckDBStore) -> list[tuple[object, ...]]:
    return store._con.execute(
        "SELECT day, dim, value, users FROM daily_user_counts WHERE dim IN ('model', 'prompt_version') ORDER BY ALL"
    ).fetchall()


def _as_before_0011(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        for table, column in (("interactions", "response_model"), ("interactions", "environment"), ("feedback", "name"), ("feedback", "score")):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        for table in ("attribute_mappings", "rederive_pending"):
            con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM schema_version WHERE version >= 11")
    finally:
        con.close()


def test_the_migration_files_a_models_errors_under_the_model_asked_for(tmp_path: Path) -> None:
    rng = random.Random(3)
    # what older Heron stored: the answering model for calls that succeeded, the requested one for failures
    old = []
    for i in range(600):
        failed = i % 7 == 0
        snapshot = "gpt-4o" if failed else "gpt-4o-2024-08-06"
        old.append(make(i * 10, rng, ttft_ms=None, model=snapshot if i % 2 else "claude-x-20241022", error_type="Overloaded" if failed else None))
    store = DuckDBStore(tmp_path / "old.duckdb")
    store.write(old, [], lsn=1)
    store.close()
    _as_before_0011(tmp_path / "old.duckdb")

    migrated = DuckDBStore(tmp_path / "old.duckdb")
    # the truth: the same calls sent by today's Heron (model = requested, response_model = the answer's)
    truth = DuckDBStore(tmp_path / "truth.duckdb")
    try:
        fixed = []
        for item in old:
            if item.model == "gpt-4o-2024-08-06":
                item.model, item.response_model = "gpt-4o", "gpt-4o-2024-08-06"
            elif item.status == "ok":
                item.response_model = item.model  # claude-x has no base-name calls: it stays as it was
            fixed.append(item)
        truth.write(fixed, [], lsn=1)
        assert migrated.rederive_pending() == {}
        assert _metrics(migrated, "model") == _metrics(truth, "model")
        groups = {r["group"] for r in _metrics(migrated, "model")}
        assert groups == {"gpt-4o", "claude-x-20241022"}
        assert _users(migrated) == _users(truth)
        rows = migrated._con.execute(
            "SELECT model, response_model, status, count(*) FROM interactions GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert ("gpt-4o", "gpt-4o-2024-08-06", "ok", sum(1 for i in fixed if i.response_model == "gpt-4o-2024-08-06")) in rows
        assert ("gpt-4o", None, "error", sum(1 for i in fixed if i.model == "gpt-4o" and i.status == "error")) in rows
    finally:
        migrated.close()
        truth.close()


def test_a_new_mapping_rederives_stored_calls_and_their_rollups(tmp_path: Path) -> None:
    rng = random.Random(4)
    items = [make(i * 7, rng, ttft_ms=None, prompt_version=None, tags={"acme.pv": f"pv-{i % 3}", "team": "a"}) for i in range(900)]
    store = DuckDBStore(tmp_path / "a.duckdb")
    truth = DuckDBStore(tmp_path / "b.duckdb")
    try:
        store.write(items[:500], [], lsn=1)
        store.write(items[500:], [], lsn=2)
        assert {r["group"] for r in _metrics(store, "prompt_version")} == {None}
        progress: list[tuple[str, int, int]] = []
        changed = store.set_attribute_mapping("p", {"prompt_version": ("acme.pv",)}, progress=lambda *a: progress.append(a))
        assert changed == 900
        assert progress and progress[-1][1] == progress[-1][2]
        assert store.attribute_mappings() == {"p": {"prompt_version": ("acme.pv",)}}
        assert store.rederive_pending() == {}
        for item in items:
            item.prompt_version = item.tags["acme.pv"]
        truth.write(items, [], lsn=1)
        assert _metrics(store, "prompt_version") == _metrics(truth, "prompt_version")
        assert _users(store) == _users(truth)
        # a dimension is set where the mapping finds a value; it is never cleared
        assert store.set_attribute_mapping("p", {"prompt_version": ("missing.key",)}) == 0
        assert _metrics(store, "prompt_version") == _metrics(truth, "prompt_version")
    finally:
        store.close()
        truth.close()


def test_an_interrupted_rederive_resumes_on_open(tmp_path: Path) -> None:
    rng = random.Random(5)
    items = [make(i * 5, rng, ttft_ms=None, prompt_version=None, tags={"acme.pv": "pv-x"}) for i in range(800)]  # ~2.8 days
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path)
    store.write(items, [], lsn=1)
    assert store.set_attribute_mapping("p", {"prompt_version": ("acme.pv",)}, rederive=False) == 800
    assert list(store.rederive_pending()) == ["p"]
    store.close()  # "killed" before the rollups were rebuilt
    reopened = DuckDBStore(path)
    try:
        assert reopened.rederive_pending() == {}
        (row,) = [r for r in _metrics(reopened, "prompt_version") if r["group"] == "pv-x"][:1]
        assert sum(r["count"] for r in _metrics(reopened, "prompt_version") if r["group"] == "pv-x") == 800  # type: ignore[misc]
        assert row["count"]
    finally:
        reopened.close()


def test_the_migration_gives_stored_calls_the_new_rollup_dimensions(tmp_path: Path) -> None:
    rng = random.Random(6)
    items = [make(i * 10, rng, ttft_ms=None, model="gpt-4o") for i in range(300)]
    store = DuckDBStore(tmp_path / "old.duckdb")
    store.write(items, [], lsn=1)
    store._con.execute("DELETE FROM rollup_hour WHERE dim IN ('response_model', 'environment')")  # as older Heron left them
    store.close()
    _as_before_0011(tmp_path / "old.duckdb")
    migrated = DuckDBStore(tmp_path / "old.duckdb")
    try:
        by_snapshot = _metrics(migrated, "response_model")
        assert sum(r["count"] for r in by_snapshot) == 300  # type: ignore[misc]
    finally:
        migrated.close()
