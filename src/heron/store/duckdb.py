"""The embedded store: one DuckDB file in the data directory, written by one thread.

Each write is one transaction that inserts the new interactions (skipping ids
already stored, so client retries and log replays are idempotent), folds them
into the hourly rollups and daily user counts, and records the write-ahead-log
sequence number it applied.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from heron.errors import StoreError
from heron.schema.records import Feedback, Interaction, ResourceSample
from heron.stats import sketch
from heron.pricing import PriceOverride, PriceTable
from heron.schema.mapping import merged
from heron.store import _duckdb_engagement as _engagement
from heron.store import _duckdb_rederive as _rederive
from heron.store import _duckdb_pricing as _pricing
from heron.store._duckdb_resources import DuckDBResourceReads
from heron.store._duckdb_monitoring import DuckDBMonitoring
from heron.store._duckdb_conversations import DuckDBConversations
from heron.store._duckdb_signals import DuckDBSignals
from heron.store._duckdb_tags import DuckDBTagReads
from heron.store._duckdb_ux_reads import DuckDBUxReads
from heron.store._duckdb_users import DuckDBUserReads
from heron.store import _duckdb_sql as sql
from heron.store import _duckdb_ux as _ux
from heron.store._arrow import feedback_table, interactions_table, resources_table
from heron.store.base import (
    ROLLUP_DIMENSIONS,
    ActivityQuery,
    InteractionQuery,
    MetricsQuery,
    Page,
    UsersQuery,
)
from heron.store.migrations import migrations
from heron.store._duckdb_tx import rollback, store_error

_log = logging.getLogger("heron.store")
Progress = Callable[[str, int, int], None]
"""progress(project, days done, days in all) while re-deriving."""
_LONG_DIMS = sql.LONG_DIMS
CHECKPOINT_THRESHOLD = "128MB"
"""DuckDB's own log size that triggers a checkpoint (its default is 16MB). A checkpoint rewrites the
partly filled row group that writes append to, so with the default a store taking realistic calls
(text and ~30 tags each) checkpointed every few writes and spent more on that than on the inserts:
commit cost 117 µs per call at 150k calls stored, 52 µs with 128MB (bench_ingest's calls, 5,000 per
write). The price: up to 128MB of DuckDB log to replay when the store opens after a crash."""


def _merge(table: str, time_col: str, key: str, select: str, old: str) -> list[str]:
    """Statements folding the temp table ``part`` into ``table``: one row per key, ever.

    ``select`` aggregates ``u``, the union of ``part`` and the rows of ``old`` (the
    table, possibly unnested) under the keys ``part`` touches. Only those keys are
    read, merged and rewritten, so rollups never accumulate partial rows.
    """
    match = " AND ".join(f"t.{k} = p.{k}" for k in (k.strip() for k in key.split(",")))
    touched = (
        f"t.{time_col} BETWEEN (SELECT min({time_col}) FROM part) AND (SELECT max({time_col}) FROM part)"
        f" AND EXISTS (SELECT 1 FROM part p WHERE {match})"
    )
    return [
        f"""
        CREATE OR REPLACE TEMP TABLE merged AS
        WITH u AS (SELECT * FROM part UNION ALL BY NAME SELECT * FROM ({old}) t WHERE {touched})
        {select}
        """,
        f"DELETE FROM {table} t WHERE {touched}",
        f"INSERT INTO {table} SELECT * FROM merged",
    ]


# What the rollup folds below read of ``new_rows``: a write keeps only these (the text and tags columns
# are most of a row, and copying them into a temp table cost a write a quarter of its time).
_FOLD_COLUMNS = ", ".join(
    f"b.{c}"
    for c in dict.fromkeys(
        ("project", "id", "start_time", *ROLLUP_DIMENSIONS, "status", "latency_ms", "ttft_ms", "input_tokens",
         "output_tokens", "cached_tokens", "reasoning_tokens", "user_id", "cost_usd")
    )
)

_FOLD = [
    # Rows new to the store (not already stored under the same project and id; the first of a
    # batch's duplicates), by their position ``_row`` in ``batch``, with the columns the folds read.
    f"""
    CREATE OR REPLACE TEMP TABLE new_rows AS
    SELECT b._row, {_FOLD_COLUMNS} FROM batch b
    WHERE NOT EXISTS (
        SELECT 1 FROM interactions i
        WHERE i.project = b.project AND i.id = b.id
          AND i.start_time BETWEEN (SELECT min(start_time) FROM batch) AND (SELECT max(start_time) FROM batch)
    )
    QUALIFY row_number() OVER (PARTITION BY b.project, b.id ORDER BY b._row) = 1
    """,
    # straight from the batch; by name: migrations append columns in any order
    "INSERT INTO interactions BY NAME SELECT * EXCLUDE (_row) FROM batch WHERE _row IN (SELECT _row FROM new_rows)",
    f"""
    CREATE OR REPLACE TEMP TABLE long_rows AS
    SELECT project, date_trunc('hour', start_time) AS hour, d.dim AS dim, coalesce(d.value, '') AS value,
           status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens, user_id,
           cost_usd, CASE WHEN output_tokens > 0 AND latency_ms - coalesce(ttft_ms, 0) > 0
                          THEN latency_ms - coalesce(ttft_ms, 0) END AS gen_ms
    FROM (SELECT *, unnest([{_LONG_DIMS}]) AS d FROM new_rows)
    """,
    """
    CREATE OR REPLACE TEMP TABLE part AS
    SELECT project, hour, dim, value, count(*) AS n, count(*) FILTER (WHERE status = 'error') AS errors,
           coalesce(sum(latency_ms), 0) AS latency_sum, count(latency_ms) AS latency_n,
           coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
           coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
           coalesce(sum(cost_usd), 0) AS cost_usd, count(cost_usd) AS cost_n,
           coalesce(sum(gen_ms), 0) AS gen_ms, coalesce(sum(output_tokens) FILTER (WHERE gen_ms IS NOT NULL), 0) AS gen_tokens
    FROM long_rows GROUP BY ALL
    """,
    *_merge(
        "rollup_hour",
        "hour",
        "project, hour, dim, value",
        "SELECT project, hour, dim, value, sum(n), sum(errors), sum(latency_sum), sum(latency_n), sum(input_tokens),"
        " sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost_usd), sum(cost_n), sum(gen_ms),"
        " sum(gen_tokens) FROM u GROUP BY ALL",
        "SELECT * FROM rollup_hour",
    ),
    f"""
    CREATE OR REPLACE TEMP TABLE part AS
    SELECT project, hour, dim, value, 0 AS metric, {sketch.sql_bucket('latency_ms')} AS b, count(*) AS n
    FROM long_rows WHERE latency_ms IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT project, hour, dim, value, 1 AS metric, {sketch.sql_bucket('ttft_ms')} AS b, count(*) AS n
    FROM long_rows WHERE ttft_ms IS NOT NULL GROUP BY ALL
    """,
    *_merge(
        "rollup_hour_hist",
        "hour",
        "project, hour, dim, value, metric",
        "SELECT project, hour, dim, value, metric, list(b ORDER BY b), list(n ORDER BY b)"
        " FROM (SELECT project, hour, dim, value, metric, b, sum(n) AS n FROM u GROUP BY ALL) GROUP BY ALL",
        "SELECT project, hour, dim, value, metric, unnest(buckets) AS b, unnest(counts) AS n FROM rollup_hour_hist",
    ),
    # Users new to (day, dimension value): remembered, and counted once.
    """
    CREATE OR REPLACE TEMP TABLE new_users AS
    SELECT DISTINCT l.project, CAST(l.hour AS DATE) AS day, l.dim, l.value, hash(l.user_id) AS user_hash
    FROM long_rows l
    WHERE l.user_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM daily_users u
        WHERE u.day BETWEEN (SELECT CAST(min(hour) AS DATE) FROM long_rows)
                        AND (SELECT CAST(max(hour) AS DATE) FROM long_rows)
          AND u.project = l.project AND u.day = CAST(l.hour AS DATE) AND u.dim = l.dim
          AND u.value = l.value AND u.user_hash = hash(l.user_id)
    )
    """,
    "INSERT INTO daily_users SELECT * FROM new_users",
    "CREATE OR REPLACE TEMP TABLE part AS SELECT project, day, dim, value, count(*) AS users FROM new_users GROUP BY ALL",
    *_merge(
        "daily_user_counts",
        "day",
        "project, day, dim, value",
        "SELECT project, day, dim, value, sum(users) FROM u GROUP BY ALL",
        "SELECT * FROM daily_user_counts",
    ),
]

# Calls with a user and their conversations' time, per (day, dimension value): folded in
# batches of stored calls (rowid in ($wm, $hi]), see heron.store._duckdb_engagement.
_ENGAGEMENT_FOLD = [
    _engagement.PART,
    *_merge(
        "daily_engagement",
        "day",
        "project, day, dim, value",
        "SELECT project, day, dim, value, sum(n), sum(engagement_us) FROM u GROUP BY ALL",
        "SELECT * FROM daily_engagement",
    ),
    _engagement.ADVANCE,
]


class DuckDBStore(DuckDBResourceReads, DuckDBSignals, DuckDBUxReads, DuckDBUserReads, DuckDBMonitoring, DuckDBConversations,
                  DuckDBTagReads):
    """:class:`heron.store.base.Store` over an embedded DuckDB file."""

    def __init__(self, path: str | os.PathLike[str], *, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._config: dict[str, Any] = {}
        if memory_limit:
            self._config["memory_limit"] = memory_limit
        if threads:
            self._config["threads"] = threads
        self._con = self._connect()
        self._generation = 0
        """Bumped by :meth:`reopen`: threads' cursors of an older connection are replaced."""
        self._local = threading.local()
        self._write_lock = threading.RLock()  # a write folds engagement under the same lock
        self._engagement_folded = time.monotonic()
        self._engagement_written = 0  # calls written since the last fold (an upper bound: duplicates are not stored)
        self._rederive_progress: dict[str, tuple[int, int]] = {}
        self._migrate()
        self.rederive(progress=lambda project, done, total: _log.info("re-deriving %s: %d/%d days", project, done, total))
        if not self.ux_ready():  # turns enriched before the UX rollups existed (or an interrupted rebuild)
            self.rebuild_ux(progress=lambda done, total: _log.info("building UX rollups: %d/%d days", done, total))
        # days stored before daily_engagement existed (one day per transaction; resumes if interrupted)
        _engagement.backfill(self._con, progress=lambda done, total: _log.info("building engagement rollup: %d/%d days", done, total))
        self._applied = int(self._scalar(self._con, "SELECT lsn FROM wal_applied WHERE id = 0"))

    # -- lifecycle -------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path), config=self._config)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        os.chmod(self.path, 0o600)  # the keys file and the log are 0600; the data is no less private
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        return con

    def reopen(self) -> None:
        """Open the database file again after DuckDB invalidated this connection (a fatal error,
        e.g. ENOSPC during a checkpoint); DuckDB replays its own log, and the applied sequence
        number is read back, so the caller can replay what the store lost."""
        with self._write_lock:
            try:
                self._con.close()
            except duckdb.Error:
                pass
            self._con = self._connect()
            self._generation += 1
            self._applied = int(self._scalar(self._con, "SELECT lsn FROM wal_applied WHERE id = 0"))

    def _migrate(self) -> None:
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = int(self._scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version"))
        for version, script in migrations():
            if version <= current:
                continue
            con.execute("BEGIN")
            try:
                con.execute(script)
                con.execute("INSERT INTO schema_version VALUES (?)", [version])
                con.execute("COMMIT")
            except duckdb.Error as exc:
                rollback(con)
                raise StoreError(f"migration {version} failed: {exc}") from exc

    def schema_version(self) -> int:
        return int(self._scalar(self._cursor(), "SELECT coalesce(max(version), 0) FROM schema_version"))

    def close(self) -> None:
        with self._write_lock:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.Error:
                pass
            self._con.close()

    @staticmethod
    def _scalar(con: duckdb.DuckDBPyConnection, statement: str, params: list[Any] | None = None) -> Any:
        """One value; fetches the whole result, as DuckDB wants before the next statement."""
        return con.execute(statement, params or []).fetchall()[0][0]

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None or self._local.generation != self._generation:
            cur = self._con.cursor()
            cur.execute("SET enable_progress_bar = false")
            self._local.cursor = cur
            self._local.generation = self._generation
        return cur

    # -- writes ----------------------------------------------------------------

    def applied_lsn(self) -> int:
        return self._applied

    def write(
        self,
        interactions: Sequence[Interaction],
        feedback: Sequence[Feedback],
        *,
        lsn: int,
        resources: Sequence[ResourceSample] = (),
    ) -> None:
        with self._write_lock:
            if lsn and lsn <= self._applied:
                return
            con = self._con
            try:
                con.execute("BEGIN")  # raises too once the connection is closed or invalidated
                if interactions:
                    con.register("batch", interactions_table(interactions, row_numbers=True))
                    for statement in _FOLD:
                        con.execute(statement)
                    con.unregister("batch")
                if feedback:
                    con.register("fb_batch", feedback_table(feedback))
                    con.execute(
                        "INSERT INTO feedback BY NAME SELECT * FROM fb_batch b WHERE NOT EXISTS "
                        "(SELECT 1 FROM feedback f WHERE f.project = b.project AND f.id = b.id) "
                        "QUALIFY row_number() OVER (PARTITION BY b.project, b.id) = 1"
                    )
                    con.unregister("fb_batch")
                if resources:
                    con.register("rs_batch", resources_table(resources))
                    con.execute("INSERT INTO resource_samples SELECT * FROM rs_batch")
                    con.unregister("rs_batch")
                if lsn:
                    con.execute("UPDATE wal_applied SET lsn = ? WHERE id = 0", [lsn])
                con.execute("COMMIT")
            except duckdb.Error as exc:
                rollback(con)
                raise store_error("write failed", exc) from exc
            if lsn:
                self._applied = lsn
            if interactions:
                self._engagement_written += len(interactions)
                self._fold_engagement(due_only=True)

    def _fold_engagement(self, *, due_only: bool = False) -> None:
        """Fold the calls stored since the last fold into ``daily_engagement`` (all of them, or
        only once enough are waiting or enough time has passed)."""
        with self._write_lock:
            if due_only and self._engagement_written < _engagement.FOLD_ROWS and time.monotonic() - self._engagement_folded < _engagement.FOLD_SECONDS:
                return  # decided without a query: max(rowid) scans the row ids (~4 ms at 10M)
            con = self._con
            try:
                wm, hi = _engagement.bounds(con)
            except duckdb.Error as exc:
                raise store_error("engagement fold failed", exc) from exc
            self._engagement_written = 0
            if hi <= wm:
                self._engagement_folded = time.monotonic()
                return
            try:
                con.execute("BEGIN")
                for statement in _ENGAGEMENT_FOLD:
                    if "$wm" in statement or "$hi" in statement:
                        con.execute(statement, {"wm": wm, "hi": hi} if "$wm" in statement else {"hi": hi})
                    else:
                        con.execute(statement)
                con.execute("COMMIT")
            except duckdb.Error as exc:
                rollback(con)
                raise store_error("engagement fold failed", exc) from exc
            self._engagement_folded = time.monotonic()

    def engagement(self, query: ActivityQuery) -> dict[str, Any]:
        self._fold_engagement()  # exact: whatever is waiting goes in first
        return super().engagement(query)

    # -- attribute mapping and re-derivation ----------------------------------------

    def attribute_mappings(self) -> dict[str, dict[str, tuple[str, ...]]]:
        rows = self._cursor().execute("SELECT project, mapping FROM attribute_mappings").fetchall()
        return {project: {dim: tuple(keys) for dim, keys in json.loads(raw).items()} for project, raw in rows}

    def set_attribute_mapping(
        self, project: str, mapping: dict[str, tuple[str, ...]], *, rederive: bool = True, progress: Progress | None = None
    ) -> int:
        """Store ``project``'s own mapping, apply it (with the defaults after it) to its stored calls and
        rebuild what derives from them; returns the calls whose dimensions changed."""
        statement, params = _rederive.mapping_update(project, merged(mapping))
        try:
            with self._transaction() as con:
                con.execute(
                    "INSERT OR REPLACE INTO attribute_mappings VALUES (?, ?, ?)",
                    [project, json.dumps({k: list(v) for k, v in mapping.items()}), sql._naive(time.time())],
                )
                changed = int(con.execute(statement, params).fetchall()[0][0])
                if changed:
                    con.execute("INSERT OR REPLACE INTO rederive_pending VALUES (?, NULL)", [project])
        except duckdb.Error as exc:
            raise StoreError(f"attribute mapping failed: {exc}") from exc
        if changed and rederive:
            self.rederive(progress=progress)
        return changed

    def rederive_pending(self) -> dict[str, str | None]:
        """Projects whose derived data is being rebuilt, with the next day to rebuild."""
        rows = self._cursor().execute("SELECT project, CAST(next_day AS VARCHAR) FROM rederive_pending").fetchall()
        return {project: day for project, day in rows}

    def rederive_progress(self, project: str) -> tuple[int, int] | None:
        """(days done, days in all) of the project's running re-derivation; None when none runs here."""
        return self._rederive_progress.get(project)

    def rederive(self, *, progress: Progress | None = None) -> int:
        """Rebuild, for each pending project, what derives from its calls' dimensions; returns days rebuilt."""
        done_days = 0
        for project in list(self.rederive_pending()):
            cur = self._cursor()  # this thread's own cursor: the writer may be inside a transaction on self._con
            row = cur.execute("SELECT next_day FROM rederive_pending WHERE project = ?", [project]).fetchall()
            if not row:
                continue
            days = [
                d
                for (d,) in cur.execute(
                    "SELECT DISTINCT CAST(hour AS DATE) AS d FROM rollup_hour WHERE project = ? AND dim = ''"
                    " AND (? IS NULL OR hour >= CAST(? AS TIMESTAMP)) ORDER BY d",
                    [project, row[0][0], row[0][0]],
                ).fetchall()
            ]
            self._rederive_progress[project] = (0, len(days))
            for i, day in enumerate(days, start=1):
                args = {"project": project, "day": day}
                try:
                    with self._transaction() as con:
                        for statement in _rederive.day_statements():
                            con.execute(statement, {k: v for k, v in args.items() if f"${k}" in statement})
                        for statement in _FOLD[2:]:  # the day's calls folded again, as a write folds new ones
                            con.execute(statement)
                        for statement in _rederive.after_day():
                            con.execute(statement, {k: v for k, v in args.items() if f"${k}" in statement})
                except duckdb.Error as exc:
                    raise StoreError(f"re-deriving {project} on {day} failed: {exc}") from exc
                done_days += 1
                self._rederive_progress[project] = (i, len(days))
                if progress is not None:
                    progress(project, i, len(days))
            self.rebuild_ux(project)
            with self._write_lock:
                self._con.execute("DELETE FROM rederive_pending WHERE project = ?", [project])
                _engagement.backfill(self._con)
            self._rederive_progress.pop(project, None)
        return done_days

    def price_overrides(self, project: str) -> list[PriceOverride]:
        return _pricing.load_overrides(self._cursor(), project)

    def add_price_override(self, project: str, override: PriceOverride, table: PriceTable) -> int:
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                repriced = _pricing.add_override(con, project, override, table)
                _ux.refresh_costs(con, project, _pricing.hour_start(override.effective_from))
                con.execute("COMMIT")
            except duckdb.Error as exc:
                rollback(con)
                raise StoreError(f"price change failed: {exc}") from exc
        return repriced

    def unknown_cost_models(self, project: str, start: float, end: float) -> list[dict[str, Any]]:
        """Models with calls of unknown cost in exactly the window, most calls first."""
        statement, params = sql.unknown_cost_models(project, start, end)
        return sql.fetch_dicts(self._cursor().execute(statement, params))

    # -- reads -----------------------------------------------------------------

    def count(self, project: str) -> int:
        return int(self._scalar(self._cursor(), "SELECT coalesce(sum(n), 0) FROM rollup_hour WHERE project = ? AND dim = ''", [project]))

    def list_interactions(self, query: InteractionQuery) -> Page:
        statement, params = sql.list_interactions(query)
        cur = self._cursor()
        keys = [(start, ident) for start, ident in cur.execute(statement, params).fetchall()]
        more = len(keys) > query.limit
        keys = keys[: query.limit]
        rows = []
        if keys:
            statement, params = sql.interactions_by_key(query.project, keys)
            found = {(row["start_time"], row["id"]): row for row in sql.fetch_dicts(cur.execute(statement, params))}
            rows = [found[key] for key in keys if key in found]
        items = [sql.interaction_row(r) for r in rows]
        return Page(items=items, next_cursor=sql.encode_cursor(rows[-1]) if more and rows else None)

    def get_interaction(self, project: str, interaction_id: str) -> dict[str, Any] | None:
        cur = self._cursor()
        rows = sql.fetch_dicts(
            cur.execute("SELECT * FROM interactions WHERE project = ? AND id = ? LIMIT 1", [project, interaction_id])
        )
        if not rows:
            return None
        item = sql.interaction_row(rows[0])
        item["feedback"] = self._feedback_for(project, [interaction_id]).get(interaction_id, [])
        return item

    def _feedback_for(self, project: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not ids:
            return {}
        rows = sql.fetch_dicts(
            self._cursor().execute(
                "SELECT * EXCLUDE (project, ingested_at) FROM feedback WHERE project = ? AND list_contains(?, interaction_id) ORDER BY time",
                [project, ids],
            )
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(row["interaction_id"], []).append(sql.feedback_row(row))
        return out

    def metrics(self, query: MetricsQuery) -> list[dict[str, Any]]:
        plan = sql.metrics(query)
        cur = self._cursor()
        if plan.hist_sql is None:
            return [sql.clean_metric_row(r) for r in sql.fetch_dicts(cur.execute(plan.sql, plan.params))]
        counts = cur.sql(plan.sql, params=plan.params).to_arrow_table()
        if not any(name.startswith(("latency_p", "ttft_p")) for name in query.metrics):
            return sql.rollup_rows(counts, None)  # no quantile asked for: skip the histograms
        return sql.rollup_rows(counts, cur.sql(plan.hist_sql, params=plan.hist_params).to_arrow_table())

    def users(self, query: UsersQuery) -> list[dict[str, Any]]:
        statement, params = sql.users(query)
        return [sql.clean_metric_row(r) for r in sql.fetch_dicts(self._cursor().execute(statement, params))]
