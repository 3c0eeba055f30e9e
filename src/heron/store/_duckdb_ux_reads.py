"""UX reads over the hourly UX rollups: signal rates, satisfaction, topic figures, topic flow.

Windows are whole hours (the rollups' grain), as for the operational metrics.
"""

from __future__ import annotations

from datetime import timezone
from collections.abc import Mapping
from typing import Any

import duckdb

from heron.errors import ValidationError
from heron.store import _duckdb_sql as sql
from heron.store._duckdb_ux import UX_DIMENSIONS

UX_GROUPS = UX_DIMENSIONS
"""What UX summaries may be grouped by."""

_RATES = """
    sum(n)::BIGINT AS interactions, sum(conversations)::BIGINT AS conversations,
    sum(satisfaction_sum) / nullif(sum(satisfaction_n), 0) AS satisfaction_avg,
    sum(sentiment_sum) / nullif(sum(sentiment_n), 0) AS sentiment_avg,
    sum(negative) / nullif(sum(sentiment_n), 0) AS negative_share,
    sum(frustrated) / nullif(sum(frustration_n), 0) AS frustration_rate,
    sum(frustration_sum) / nullif(sum(frustration_n), 0) AS frustration_avg,
    sum(rephrase) / sum(n) AS rephrase_rate, sum(repeats) / sum(n) AS repeat_rate, sum(retry) / sum(n) AS retry_rate,
    sum(complaint) / sum(n) AS complaint_rate, sum(shouting) / sum(n) AS shouting_rate,
    sum(gratitude) / sum(n) AS gratitude_rate, sum(confusion) / sum(n) AS confusion_rate,
    sum(anger) / sum(n) AS anger_rate, sum(urgency) / sum(n) AS urgency_rate,
    sum(unexpected) / sum(n) AS unexpected_rate, sum(refusal) / sum(n) AS refusal_rate,
    sum(ended)::BIGINT AS ended, sum(abandoned) / nullif(sum(ended), 0) AS abandonment_rate,
    sum(explicit_n)::BIGINT AS feedback, sum(thumbs_n)::BIGINT AS thumbs,
    sum(thumbs_up) / nullif(sum(thumbs_n), 0) AS thumbs_up_rate,
    sum(cost_sum) AS cost_usd, sum(cost_sum) / nullif(sum(cost_n), 0) AS cost_avg,
    sum(latency_sum) / nullif(sum(latency_n), 0) AS latency_avg
"""


def _bucket(bucket: str) -> str:
    """The bucket's start; for "all", the window's start (the first parameter)."""
    if bucket not in ("all", "hour", "day"):
        raise ValidationError("bucket", "must be one of all, hour, day")
    return "?::TIMESTAMP" if bucket == "all" else f"date_trunc('{bucket}', hour)"


def _remap(column: str, mapping: Mapping[int, int], *, text: bool = False) -> str:
    """``column`` with merged topic ids replaced by the topic they went into (ids are ints, so inlining is safe)."""
    if not mapping:
        return column
    quote = "'" if text else ""
    cases = " ".join(f"WHEN {quote}{int(k)}{quote} THEN {quote}{int(v)}{quote}" for k, v in mapping.items())
    return f"CASE {column} {cases} ELSE {column} END"


def _rows(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = sql.fetch_dicts(result)
    for row in rows:
        if row.get("t") is not None:
            row["t"] = row["t"].replace(tzinfo=timezone.utc)
    return rows


class DuckDBUxReads:
    """Mixin for DuckDBStore: needs ``_cursor()``."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:  # provided by DuckDBStore
        raise NotImplementedError

    def ux_summary(self, project: str, start: float, end: float, *, group_by: str | None = None, bucket: str = "all",
                   topic_map: Mapping[int, int] | None = None, where: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Satisfaction, sentiment, frustration and unexpected-reply rates, cost and latency per group (and bucket).

        ``topic_map`` (merged topic id -> the topic it went into) folds merged topics together when grouping by topic.
        ``where`` = (dimension, value) keeps one slice ('' = calls where it is not set). The rollups hold
        one dimension per row, so a slice combines with grouping only by that same dimension.
        """
        if group_by is not None and group_by not in UX_GROUPS:
            raise ValidationError("group_by", f"unknown UX dimension {group_by!r}; valid: {', '.join(UX_GROUPS)}")
        if where is not None:
            if where[0] not in UX_GROUPS:
                raise ValidationError(where[0], f"is not a UX dimension; valid: {', '.join(UX_GROUPS)}")
            if group_by is not None and group_by != where[0]:
                raise ValidationError(where[0], f"cannot be combined with group_by={group_by} (UX rollups hold one dimension at a time)")
        lo, hi = sql.hour_range(start, end)
        t = _bucket(bucket)
        group = _remap("value", topic_map or {}, text=True) if group_by == "topic_id" else "value"
        dim = where[0] if where is not None else group_by or ""
        sliced = " AND value = ?" if where is not None else ""
        rows = _rows(
            self._cursor().execute(
                f"""SELECT t, "group", {_RATES} FROM (
                    SELECT *, {t} AS t, {'nullif(' + group + ", '')" if group_by else 'NULL'} AS "group" FROM ux_rollup_hour
                    WHERE project = ? AND dim = ? AND hour >= ? AND hour < ?{sliced})
                GROUP BY ALL ORDER BY t, "group" NULLS FIRST""",
                [*([lo] if bucket == "all" else []), project, dim, lo, hi, *([where[1]] if where is not None else [])],
            )
        )
        if group_by == "topic_id":
            for row in rows:
                row["group"] = int(row["group"]) if row["group"] is not None else None
        return rows

    def ux_projects(self) -> dict[str, int]:
        """Projects with enriched turns, and how many."""
        rows = self._cursor().execute("SELECT project, sum(n)::BIGINT FROM ux_rollup_hour WHERE dim = '' GROUP BY project").fetchall()
        return {project: int(n) for project, n in rows}

    def topic_rollup(self, project: str, start: float, end: float, *, bucket: str = "all") -> list[dict[str, Any]]:
        """Per stored topic id (None: turns enriched before the project had a model) and bucket."""
        return self.ux_summary(project, start, end, group_by="topic_id", bucket=bucket)

    def topic_flow(self, project: str, start: float, end: float, *, topic_map: Mapping[int, int] | None = None) -> list[dict[str, Any]]:
        """Session steps between topics: (source, target, n, frustrated); START/END/OTHER as in _duckdb_ux."""
        lo, hi = sql.hour_range(start, end)
        mapping = topic_map or {}
        return sql.fetch_dicts(
            self._cursor().execute(
                f"SELECT {_remap('source', mapping)} AS source, {_remap('target', mapping)} AS target,"
                " sum(n)::BIGINT AS n, sum(frustrated)::BIGINT AS frustrated FROM ux_flow_hour"
                " WHERE project = ? AND hour >= ? AND hour < ? GROUP BY ALL HAVING sum(n) > 0.5 ORDER BY n DESC, source, target",
                [project, lo, hi],
            )
        )
