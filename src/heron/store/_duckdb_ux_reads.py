"""UX reads over the hourly UX rollups: signal rates, satisfaction, topic figures, topic flow.

Windows are whole hours (the rollups' grain). The rollups hold one dimension per
row and only :data:`UX_DIMENSIONS`; a slice or grouping they cannot answer (a tag,
a call dimension such as ``environment``, a slice on one dimension grouped by
another) is summed from the raw turns instead: the counted rows of
``interaction_signals`` in the same whole hours, joined to their ``interactions``
row when the dimension lives there. Each turn contributes to each sum exactly what
:mod:`heron.store._duckdb_ux` folds into the rollups for it, so both paths give the
same figures (``tests/store/test_ux_raw.py`` checks this).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from collections.abc import Mapping
from typing import Any

import duckdb

from heron.errors import ValidationError
from heron.store import _duckdb_sql as sql
from heron.store._duckdb_ux import _UNEXPECTED, END, OTHER, START, UX_DIMENSIONS
from heron.store.base import DIMENSIONS

UX_GROUPS = UX_DIMENSIONS
"""What the UX rollups hold: a slice or grouping on these alone is read from them."""

_ON_SIGNALS = (*UX_DIMENSIONS, "user_id", "conversation_id")
"""Dimensions ``interaction_signals`` carries (as the rollups read them); the others are read from ``interactions``."""
RAW_GROUPS: tuple[str, ...] = (*UX_DIMENSIONS, *(d for d in DIMENSIONS if d not in UX_DIMENSIONS and d != "rag_source"))
"""What UX summaries may be sliced or grouped by (and ``tag.<key>``); those outside UX_GROUPS read raw turns."""

SLACK_US = 1_000_000
"""A turn's signals keep its start time through a float: its call is looked for this many microseconds around it."""


def _flag(expr: str) -> str:
    return f"coalesce(({expr})::INT, 0)::DOUBLE"


_TURN_SUMS: dict[str, str] = {
    "n": "1.0",
    "conversations": _flag("is_first"),
    "sentiment_sum": "coalesce(sentiment, 0)",
    "sentiment_n": _flag("sentiment IS NOT NULL"),
    "negative": _flag("sentiment <= -0.05"),
    "frustrated": _flag("frustration >= 0.5"),
    "frustration_sum": "coalesce(frustration, 0)",
    "frustration_n": _flag("frustration IS NOT NULL"),
    "rephrase": _flag("rephrase"),
    "repeats": _flag('"repeat"'),
    "retry": _flag("retry"),
    "complaint": _flag("complaint"),
    "shouting": _flag("shouting"),
    "gratitude": _flag("list_contains(cues, 'gratitude')"),
    "confusion": _flag("list_contains(cues, 'confusion')"),
    "anger": _flag("list_contains(cues, 'anger')"),
    "urgency": _flag("list_contains(cues, 'urgency')"),
    "unexpected": _flag(_UNEXPECTED),
    "refusal": _flag("refusal"),
    "satisfaction_sum": "coalesce(satisfaction, 0)",
    "satisfaction_n": _flag("satisfaction IS NOT NULL"),
    "explicit_n": _flag("explicit IS NOT NULL"),
    "thumbs_n": _flag("thumbs IS NOT NULL"),
    "thumbs_up": _flag("thumbs = 'up'"),
    "ended": _flag("is_last"),
    "abandoned": _flag("abandoned"),
    "cost_sum": "coalesce(cost_usd, 0)",
    "cost_n": _flag("cost_usd IS NOT NULL"),
    "latency_sum": "coalesce(latency_ms, 0)",
    "latency_n": _flag("latency_ms IS NOT NULL"),
    "language_mismatch": _flag("language_mismatch"),
}
"""What one counted turn adds to each column of ``ux_rollup_hour`` (``_duckdb_ux._ROLLUP_PART`` with sign 1)."""

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
    sum(language_mismatch) / sum(n) AS language_mismatch_rate,
    sum(ended)::BIGINT AS ended, sum(abandoned) / nullif(sum(ended), 0) AS abandonment_rate,
    sum(explicit_n)::BIGINT AS feedback, sum(thumbs_n)::BIGINT AS thumbs,
    sum(thumbs_up) / nullif(sum(thumbs_n), 0) AS thumbs_up_rate,
    sum(cost_sum) AS cost_usd, sum(cost_sum) / nullif(sum(cost_n), 0) AS cost_avg,
    sum(latency_sum) / nullif(sum(latency_n), 0) AS latency_avg
"""


def _bucket(bucket: str, column: str = "hour") -> str:
    """The bucket's start; for "all", the window's start (the first parameter)."""
    if bucket not in ("all", "hour", "day"):
        raise ValidationError("bucket", "must be one of all, hour, day")
    return "?::TIMESTAMP" if bucket == "all" else f"date_trunc('{bucket}', {column})"


def check_dimension(dim: str, name: str) -> None:
    """A dimension UX figures can be sliced or grouped by; ``name`` is the parameter an error names."""
    if dim.startswith("tag.") and len(dim) > 4:
        return
    if dim not in RAW_GROUPS:
        raise ValidationError(name, f"unknown UX dimension {dim!r}; valid: {', '.join(RAW_GROUPS)}, tag.<key>")


def uses_rollups(group_by: str | None, where: tuple[str, str] | None) -> bool:
    """Whether the UX rollups answer this: UX dimensions only, and a slice grouped by nothing else."""
    if group_by is not None and group_by not in UX_GROUPS:
        return False
    return where is None or (where[0] in UX_GROUPS and group_by in (None, where[0]))


def raw_turns(project: str, lo: datetime, hi: datetime, group_by: str | None, where: tuple[str, str] | None,
              params: list[Any]) -> tuple[str, str]:
    """``FROM ...`` the counted turns of [lo, hi) in the slice ``where`` (value '' = not set, as in the rollups),
    and the text of ``group_by`` over it ('' = not set). Appends its parameters to ``params`` in order.

    Columns of ``interaction_signals`` are read as the rollups read them; a call dimension or tag
    comes from the turn's ``interactions`` row (one window-bounded scan, hash-joined by id).
    """
    on_call: list[str] = []  # select list of the interactions scan
    call_params: list[Any] = []
    call_where: list[str] = []
    where_params: list[Any] = []

    def expr(dim: str, into: list[Any]) -> str:
        if dim.startswith("tag."):
            into.append(dim[4:])
            return "tags[?]"
        return dim  # a column: DIMENSIONS and UX_DIMENSIONS are names, checked by the caller

    group = "''"
    if group_by is not None:
        if group_by in _ON_SIGNALS:
            group = f"coalesce({group_by}::VARCHAR, '')"
        else:
            on_call.append(f"{expr(group_by, call_params)} AS call_group")
            group = "coalesce(call_group::VARCHAR, '')"
    signal_where, signal_params = "", []
    if where is not None:
        dim, value = where
        if dim in _ON_SIGNALS:
            signal_where, signal_params = f" AND coalesce({dim}::VARCHAR, '') = ?", [value]
        else:
            call_where.append(f"coalesce({expr(dim, where_params)}::VARCHAR, '') = ?")
            where_params.append(value)
    source = "interaction_signals"
    if on_call or call_where:
        slack = timedelta(microseconds=SLACK_US)
        source += (
            f" JOIN (SELECT id AS call_id{''.join(', ' + c for c in on_call)} FROM interactions"
            f" WHERE project = ? AND start_time >= ? AND start_time < ?{''.join(' AND ' + c for c in call_where)})"
            " ON call_id = interaction_id"
        )
        params += [*call_params, project, lo - slack, hi + slack, *where_params]
    params += [project, lo, hi, *signal_params]
    return f"{source} WHERE project = ? AND counted AND start_time >= ? AND start_time < ?{signal_where}", group


def _group(value: str, group_by: str | None) -> str:
    return f"nullif({value}, '')" if group_by else "NULL"


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
                   topic_map: Mapping[int, int] | None = None, where: tuple[str, str] | None = None,
                   raw: bool = False) -> list[dict[str, Any]]:
        """Satisfaction, sentiment, frustration and unexpected-reply rates, cost and latency per group (and bucket).

        ``topic_map`` (merged topic id -> the topic it went into) folds merged topics together when grouping by topic.
        ``where`` = (dimension, value) keeps one slice ('' = calls where it is not set). Dimensions: RAW_GROUPS or
        ``tag.<key>``. The rollups answer a UX dimension, and a slice grouped by nothing else; the rest (and
        everything with ``raw``) is summed from the window's turns with the same figures.
        """
        if group_by is not None:
            check_dimension(group_by, "group_by")
        if where is not None:
            check_dimension(where[0], where[0])
        lo, hi = sql.hour_range(start, end)
        params: list[Any] = [lo] if bucket == "all" else []
        if raw or not uses_rollups(group_by, where):
            t = _bucket(bucket, "start_time")
            source, value = raw_turns(project, lo, hi, group_by, where, params)
            columns = ", ".join(f"{v} AS {k}" for k, v in _TURN_SUMS.items())
            group = _remap(value, topic_map or {}, text=True) if group_by == "topic_id" else value
            inner = f'SELECT {t} AS t, {_group(group, group_by)} AS "group", {columns} FROM {source}'
        else:
            t = _bucket(bucket)
            group = _remap("value", topic_map or {}, text=True) if group_by == "topic_id" else "value"
            dim = where[0] if where is not None else group_by or ""
            sliced = " AND value = ?" if where is not None else ""
            inner = (f'SELECT *, {t} AS t, {_group(group, group_by)} AS "group" FROM ux_rollup_hour'
                     f" WHERE project = ? AND dim = ? AND hour >= ? AND hour < ?{sliced}")
            params += [project, dim, lo, hi, *([where[1]] if where is not None else [])]
        rows = _rows(self._cursor().execute(
            f'SELECT t, "group", {_RATES} FROM ({inner}) GROUP BY ALL ORDER BY t, "group" NULLS FIRST', params))
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

    def topic_flow(self, project: str, start: float, end: float, *, topic_map: Mapping[int, int] | None = None,
                   where: tuple[str, str] | None = None, raw: bool = False) -> list[dict[str, Any]]:
        """Session steps between topics: (source, target, n, frustrated); START/END/OTHER as in _duckdb_ux.

        ``where`` = (dimension, value), as for :meth:`ux_summary`, keeps the steps into the slice's turns (and the
        session ends after them), summed from the window's turns as the flow rollup sums them (as is everything,
        with ``raw``).
        """
        lo, hi = sql.hour_range(start, end)
        mapping = topic_map or {}
        params: list[Any] = []
        if where is None and not raw:
            source = "ux_flow_hour WHERE project = ? AND hour >= ? AND hour < ?"
            params += [project, lo, hi]
        else:
            if where is not None:
                check_dimension(where[0], where[0])
            turns, _ = raw_turns(project, lo, hi, None, where, params)
            source = f"""(WITH s AS (SELECT topic_id, prev_topic_id, is_first, is_last, frustration, abandoned FROM {turns})
                SELECT CASE WHEN is_first THEN {START} ELSE coalesce(prev_topic_id, {OTHER}) END AS source,
                       coalesce(topic_id, {OTHER}) AS target, 1.0 AS n, {_flag("frustration >= 0.5")} AS frustrated FROM s
                UNION ALL
                SELECT coalesce(topic_id, {OTHER}), {END}, 1.0, {_flag("abandoned")} FROM s WHERE is_last)"""
        return sql.fetch_dicts(
            self._cursor().execute(
                f"SELECT {_remap('source', mapping)} AS source, {_remap('target', mapping)} AS target,"
                f" sum(n)::BIGINT AS n, sum(frustrated)::BIGINT AS frustrated FROM {source}"
                " GROUP BY ALL HAVING sum(n) > 0.5 ORDER BY n DESC, source, target",
                params,
            )
        )
