"""What drift and anomaly detection read and write in DuckDB.

Drift compares samples of two windows (a reservoir sample per window, so a
month of traffic costs what 100,000 rows cost); anomaly detection reads the
per-minute figures of just-closed minutes (a range the table's min/max index
narrows to a few row groups) and keeps its detector state here across restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

import duckdb
import numpy as np

from heron.store import _duckdb_sql as sql
from heron.store._duckdb_sql import _naive
from heron.store.base import ROLLUP_DIMENSIONS

NUMERIC_FEATURES: dict[str, str] = {
    "latency_ms": "i.latency_ms",
    "ttft_ms": "i.ttft_ms",
    "input_tokens": "i.input_tokens::DOUBLE",
    "output_tokens": "i.output_tokens::DOUBLE",
    "cost_usd": "i.cost_usd",
    "prompt_chars": "length(i.input)::DOUBLE",
    "response_chars": "length(i.output)::DOUBLE",
    "sentiment": "s.sentiment",
    "frustration": "s.frustration",
}
"""Numeric features drift is tested on: name -> SQL over interactions ``i`` and their signals ``s``."""
CATEGORICAL_FEATURES: dict[str, str] = {
    "model": "i.model",
    "finish_reason": "coalesce(i.finish_reason, '(none)')",
    "status": "i.status",
    "language": "s.language",
    "topic_id": "s.topic_id::VARCHAR",
}
MINUTE_METRICS = ("count", "error_rate", "latency_p50", "latency_p95", "ttft_p95", "cost_usd", "output_tokens")
UX_MINUTE_METRICS = ("frustration_rate", "sentiment_avg")


SIGNAL_DIMENSIONS = ("model", "prompt_version", "app_version", "variant")
"""Rollup dimensions ``interaction_signals`` carries too."""


def _select(columns: Mapping[str, str]) -> str:
    return ", ".join(f'{expr} AS "{name}"' for name, expr in columns.items())


def _where(filters: Mapping[str, str] | None, alias: str = "i") -> tuple[str, list[Any]]:
    from heron.errors import ValidationError

    clauses, params = [], []
    for dim, value in (filters or {}).items():
        if dim.startswith("tag.") and len(dim) > 4:
            clauses.append(f"{alias}.tags[?] = ?")  # only on interactions: a tag filter takes the join path
            params += [dim[4:], value]
            continue
        if dim not in ROLLUP_DIMENSIONS:
            raise ValidationError(dim, f"cannot filter drift by {dim!r}; valid: {', '.join(ROLLUP_DIMENSIONS)}, tag.<key>")
        clauses.append(f"{alias}.{dim} = ?")
        params.append(value)
    return "".join(f" AND {c}" for c in clauses), params


class DuckDBMonitoring:
    """Mixin for DuckDBStore: needs ``_cursor()``, ``_con`` and ``_write_lock``."""

    _con: duckdb.DuckDBPyConnection
    _write_lock: Any
    _transaction: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
    """Provided by DuckDBSignals."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    # -- drift --------------------------------------------------------------------

    def drift_sample(self, project: str, start: float, end: float, *, filters: Mapping[str, str] | None = None,
                     limit: int = 100_000, seed: int = 0) -> dict[str, np.ndarray]:
        """Every drift feature of up to ``limit`` interactions drawn at random from the window (NaN/None where unknown).

        Each feature is tested on its own, so the call features and the signal features come from
        two independent samples of the window (of ``interactions`` and of ``interaction_signals``):
        joining a sample of calls to their signals scanned every signal row of the window (~1 s at
        10M). Each samples row ids first and reads the features of the sampled rows only (the
        message texts are long). Filters on a dimension the signals do not carry fall back to the join.
        """
        columns = {**NUMERIC_FEATURES, **CATEGORICAL_FEATURES}
        on_signals = {name: expr for name, expr in columns.items() if expr.startswith("s.") or "(s." in expr}
        on_calls = {name: expr for name, expr in columns.items() if name not in on_signals}
        window = [project, _naive(start), _naive(end)]
        sample = f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE ({int(seed)})"  # of the filtered rows: outside their WHERE
        if set(filters or {}) <= set(SIGNAL_DIMENSIONS):
            extra, params = _where(filters)
            calls = self._cursor().sql(
                f"WITH p AS (SELECT * FROM (SELECT i.rowid AS r FROM interactions i WHERE i.project = ? AND i.start_time >= ? AND i.start_time < ? {extra}) {sample})"
                f" SELECT {_select(on_calls)} FROM interactions i JOIN p ON i.rowid = p.r",
                params=[*window, *params],
            ).to_arrow_table()
            extra, params = _where(filters, alias="s")
            signals = self._cursor().sql(
                f"WITH p AS (SELECT * FROM (SELECT s.rowid AS r FROM interaction_signals s WHERE s.project = ? AND s.start_time >= ? AND s.start_time < ? {extra}) {sample})"
                f" SELECT {_select(on_signals)} FROM interaction_signals s JOIN p ON s.rowid = p.r",
                params=[*window, *params],
            ).to_arrow_table()
            tables = [calls, signals]
        else:
            extra, params = _where(filters)
            tables = [self._cursor().sql(
                f"""
                WITH i AS (SELECT * FROM (SELECT * FROM interactions i WHERE i.project = ? AND i.start_time >= ? AND i.start_time < ? {extra}) {sample})
                SELECT {_select(columns)} FROM i LEFT JOIN interaction_signals s
                  ON s.project = i.project AND s.interaction_id = i.id AND s.start_time >= ? AND s.start_time < ?
                """,
                params=[*window, *params, _naive(start), _naive(end)],
            ).to_arrow_table()]
        out: dict[str, np.ndarray] = {}
        for table in tables:
            for name in table.column_names:
                if name in NUMERIC_FEATURES:
                    out[name] = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                else:
                    out[name] = np.asarray(table.column(name).to_pylist(), dtype=object)
        return {name: out[name] for name in columns}  # in the features' order

    def drift_texts(self, project: str, start: float, end: float, *, filters: Mapping[str, str] | None = None,
                    limit: int = 2_000, seed: int = 0) -> list[str]:
        """The newest user message of up to ``limit`` random interactions of the window (for embedding drift)."""
        from heron.store._duckdb_signals import user_text

        extra, params = _where(filters)
        rows = self._cursor().execute(
            f"SELECT input FROM (SELECT i.input FROM interactions i WHERE i.project = ? AND i.start_time >= ? AND i.start_time < ?"
            f" {extra}) USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE ({int(seed)})",
            [project, _naive(start), _naive(end), *params],
        ).fetchall()
        return [text for text in (user_text(r[0]) for r in rows) if text.strip()]

    def write_drift(self, project: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        names = ("computed_at", "reference_start", "reference_end", "current_start", "current_end", "feature", "kind",
                 "test", "statistic", "p_value", "threshold", "score", "drifted", "n_reference", "n_current")  # fmt: skip
        values = [[project, *(_naive(r[n]) if n.endswith(("_at", "_start", "_end")) else r[n] for n in names)] for r in rows]
        with self._transaction() as con:
            con.executemany(f"INSERT INTO drift_results (project, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})", values)

    def drift_results(self, project: str, start: float, end: float, *, feature: str | None = None) -> list[dict[str, Any]]:
        """Stored drift results computed in the window, oldest first (a time series per feature and test)."""
        rows = sql.fetch_dicts(
            self._cursor().execute(
                "SELECT * EXCLUDE (project) FROM drift_results WHERE project = ? AND computed_at >= ? AND computed_at < ?"
                + (" AND feature = ?" if feature else "") + " ORDER BY computed_at, feature, test",
                [project, _naive(start), _naive(end), *([feature] if feature else [])],
            )
        )
        return [_epochs(row) for row in rows]

    # -- anomalies -----------------------------------------------------------------

    def minute_metrics(self, project: str, start: float, end: float, *, max_models: int = 20) -> list[dict[str, Any]]:
        """Per minute of [start, end): each MINUTE_METRICS figure for the project total, its busiest models and prompt versions,
        and each UX_MINUTE_METRICS figure for the total and per topic. Rows: t (epoch s), dim, value, metric, x, and n:
        the calls (turns, for UX figures) behind the figure, which decides whether an anomaly in it can matter."""
        lo, hi = _naive(start), _naive(end)
        cur = self._cursor()
        ops = cur.execute(
            f"""
            WITH r AS (SELECT * FROM interactions WHERE project = ? AND start_time >= ? AND start_time < ?),
            top AS (SELECT model FROM r GROUP BY model ORDER BY count(*) DESC LIMIT {int(max_models)}),
            versions AS (SELECT prompt_version FROM r WHERE prompt_version IS NOT NULL GROUP BY ALL
                         ORDER BY count(*) DESC LIMIT {int(max_models)}),
            g AS (
                SELECT date_trunc('minute', start_time) AS t, '' AS dim, '' AS value, * EXCLUDE (start_time) FROM r
                UNION ALL
                SELECT date_trunc('minute', start_time), 'model', model, * EXCLUDE (start_time) FROM r WHERE model IN (SELECT model FROM top)
                UNION ALL
                SELECT date_trunc('minute', start_time), 'prompt_version', prompt_version, * EXCLUDE (start_time) FROM r
                WHERE prompt_version IN (SELECT prompt_version FROM versions)
            )
            SELECT epoch(t) AS t, dim, value, count(*)::DOUBLE AS count, avg((status = 'error')::INT) AS error_rate,
                   quantile_cont(latency_ms, 0.5) AS latency_p50, quantile_cont(latency_ms, 0.95) AS latency_p95,
                   quantile_cont(ttft_ms, 0.95) AS ttft_p95, coalesce(sum(cost_usd), 0) AS cost_usd,
                   coalesce(sum(output_tokens), 0)::DOUBLE AS output_tokens
            FROM g GROUP BY ALL
            """,
            [project, lo, hi],
        ).fetchall()
        ux = cur.execute(
            """
            WITH r AS (SELECT * FROM interaction_signals WHERE project = ? AND start_time >= ? AND start_time < ?),
            g AS (
                SELECT date_trunc('minute', start_time) AS t, '' AS dim, '' AS value, frustration, sentiment FROM r
                UNION ALL
                SELECT date_trunc('minute', start_time), 'topic_id', topic_id::VARCHAR, frustration, sentiment FROM r
                WHERE topic_id IS NOT NULL
            )
            SELECT epoch(t) AS t, dim, value, count(*) AS n, avg((frustration >= 0.5)::INT) AS frustration_rate,
                   avg(sentiment) AS sentiment_avg
            FROM g GROUP BY ALL
            """,
            [project, lo, hi],
        ).fetchall()
        out: list[dict[str, Any]] = []
        for t, dim, value, *figures in ops:
            n = figures[MINUTE_METRICS.index("count")]
            out.extend({"t": float(t), "dim": dim, "value": value, "metric": m, "x": x, "n": n} for m, x in zip(MINUTE_METRICS, figures, strict=True))
        for t, dim, value, n, *figures in ux:
            out.extend({"t": float(t), "dim": dim, "value": value, "metric": m, "x": x, "n": n} for m, x in zip(UX_MINUTE_METRICS, figures, strict=True))
        return out

    def first_traffic(self, project: str) -> float | None:
        """Start of the project's first hour with stored calls (None without any)."""
        rows = self._cursor().execute("SELECT epoch(min(hour)) FROM rollup_hour WHERE project = ? AND dim = ''", [project]).fetchall()
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def busiest_users(self, project: str, start: float, end: float, usual_since: float, *, usual_until: float | None = None,
                      limit: int = 20) -> list[dict[str, Any]]:
        """The ``limit`` users with the most calls in [start, end) and the ``limit`` with the most input tokens
        (a few calls carrying whole documents is heavy use too): their calls and input tokens there, and their
        busiest hour's calls and input tokens in [usual_since, usual_until or start) (0 for a user not seen then)."""
        rows = self._cursor().execute(
            """
            WITH per AS (
                SELECT user_id, count(*) AS calls, coalesce(sum(input_tokens), 0) AS tokens FROM interactions
                WHERE project = ? AND start_time >= ? AND start_time < ? AND user_id IS NOT NULL GROUP BY user_id
            ), now_ AS (
                (SELECT * FROM per ORDER BY calls DESC, user_id LIMIT ?)
                UNION (SELECT * FROM per ORDER BY tokens DESC, user_id LIMIT ?)
            ), hours AS (
                SELECT user_id, count(*) AS calls, coalesce(sum(input_tokens), 0) AS tokens FROM interactions
                WHERE project = ? AND start_time >= ? AND start_time < ? AND user_id IN (SELECT user_id FROM now_)
                GROUP BY user_id, date_trunc('hour', start_time)
            ), peak AS (SELECT user_id, max(calls) AS calls, max(tokens) AS tokens FROM hours GROUP BY user_id)
            SELECT n.user_id, n.calls, n.tokens, coalesce(p.calls, 0), coalesce(p.tokens, 0)
            FROM now_ n LEFT JOIN peak p USING (user_id) ORDER BY n.calls DESC, n.user_id
            """,
            [project, _naive(start), _naive(end), int(limit), int(limit), project, _naive(usual_since),
             _naive(start if usual_until is None else min(usual_until, start))],
        ).fetchall()
        return [{"user_id": u, "calls": int(c), "tokens": int(t), "peak_calls": int(pc), "peak_tokens": int(pt)}
                for u, c, t, pc, pt in rows]  # fmt: skip

    def user_hour_p99(self, project: str, start: float, end: float) -> tuple[float, float]:
        """The 99th percentile, over (user, hour) pairs with calls in [start, end), of calls and of input tokens:
        what a busy user's hour looks like in this project (the yardstick for a user never seen before)."""
        rows = self._cursor().execute(
            "SELECT quantile_cont(calls, 0.99), quantile_cont(tokens, 0.99) FROM (SELECT count(*) AS calls,"
            " coalesce(sum(input_tokens), 0) AS tokens FROM interactions WHERE project = ? AND start_time >= ?"
            " AND start_time < ? AND user_id IS NOT NULL GROUP BY user_id, date_trunc('hour', start_time))",
            [project, _naive(start), _naive(end)],
        ).fetchall()
        calls, tokens = rows[0] if rows else (None, None)
        return float(calls or 0.0), float(tokens or 0.0)

    def last_traffic(self, project: str) -> float | None:
        """Start time of the project's newest stored call (None without any); reads only its last hour."""
        rows = self._cursor().execute(
            "SELECT epoch(max(start_time)) FROM interactions WHERE project = ? AND start_time >= "
            "(SELECT max(hour) FROM rollup_hour WHERE project = ? AND dim = '')",
            [project, project],
        ).fetchall()
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def late_minutes(self, project: str, start: float, end: float, stored_after: float, *, limit: int = 2_000) -> list[float]:
        """Minutes of [start, end) (epoch s, oldest first) holding calls stored after ``stored_after`` (wall clock)."""
        rows = self._cursor().execute(
            "SELECT DISTINCT epoch(date_trunc('minute', start_time)) AS t FROM interactions"
            " WHERE project = ? AND start_time >= ? AND start_time < ? AND ingested_at > ? ORDER BY t LIMIT ?",
            [project, _naive(start), _naive(end), _naive(stored_after), int(limit)],
        ).fetchall()
        return [float(r[0]) for r in rows]

    def outcome_rows(self, project: str, start: float, end: float) -> dict[str, np.ndarray]:
        """Enriched turns of [start, end) in time order: satisfaction, frustrated (0/1), thumbs up (1/0/NaN), segments."""
        table = self._cursor().sql(
            "SELECT epoch(start_time) AS t, coalesce(model, '') AS model, coalesce(prompt_version, '') AS prompt_version,"
            " coalesce(topic_id::VARCHAR, '') AS topic_id, satisfaction, (frustration >= 0.5)::DOUBLE AS frustrated,"
            " CASE thumbs WHEN 'up' THEN 1.0 WHEN 'down' THEN 0.0 END AS thumbs_up"
            " FROM interaction_signals WHERE project = ? AND start_time >= ? AND start_time < ? AND counted"
            " ORDER BY start_time, interaction_id",
            params=[project, _naive(start), _naive(end)],
        ).to_arrow_table()
        return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}

    def write_anomalies(self, project: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        names = ("t", "bucket_s", "metric", "dim", "value", "observed", "expected", "low", "high", "score", "kind", "detected_at")
        values = [[project, *(_naive(r[n]) if n in ("t", "detected_at") else r[n] for n in names)] for r in rows]
        with self._transaction() as con:
            con.executemany(f"INSERT INTO anomalies (project, {', '.join(names)}) VALUES ({', '.join('?' * (len(names) + 1))})", values)

    def anomalies(self, project: str, start: float, end: float, *, limit: int = 500) -> list[dict[str, Any]]:
        """Anomalies of buckets in the window, newest first."""
        rows = sql.fetch_dicts(
            self._cursor().execute(
                "SELECT * EXCLUDE (project) FROM anomalies WHERE project = ? AND t >= ? AND t < ? ORDER BY t DESC, score DESC LIMIT ?",
                [project, _naive(start), _naive(end), limit],
            )
        )
        return [_epochs(row) for row in rows]

    def save_state(self, name: str, state: bytes) -> None:
        with self._transaction() as con:
            con.execute("INSERT OR REPLACE INTO monitor_state VALUES (?, ?, now()::TIMESTAMP)", [name, state])

    def load_state(self, name: str) -> bytes | None:
        rows = self._cursor().execute("SELECT state FROM monitor_state WHERE name = ?", [name]).fetchall()
        return bytes(rows[0][0]) if rows else None

    def projects(self) -> list[str]:
        """Projects with stored interactions."""
        return [r[0] for r in self._cursor().execute("SELECT DISTINCT project FROM rollup_hour WHERE dim = ''").fetchall()]


def _epochs(row: dict[str, Any]) -> dict[str, Any]:
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.replace(tzinfo=timezone.utc).timestamp()
    return row
