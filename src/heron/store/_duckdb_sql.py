"""SQL for the DuckDB store's reads, and the row shapes the API returns.

Metric queries read the hourly rollups when they can (hour/day buckets, a
rollup dimension, at most one equality filter on that same dimension) and scan
raw rows otherwise; both paths return the same row shape.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heron.errors import ValidationError
from heron.stats import sketch
from heron.store.base import (
    BUCKET_SECONDS,
    BUCKETS,
    DIMENSIONS,
    METRICS,
    ROLLUP_DIMENSIONS,
    Filters,
    InteractionQuery,
    MetricsQuery,
    UsersQuery,
)

QUANTILES = (0.5, 0.9, 0.95, 0.99)
_Q_NAMES = ("p50", "p90", "p95", "p99")


LONG_DIMS = ", ".join(["{'dim': '', 'value': ''}"] + [f"{{'dim': '{d}', 'value': {d}}}" for d in ROLLUP_DIMENSIONS])
"""One struct per slice a call belongs to (everyone, and each rollup dimension's value): ``unnest([LONG_DIMS])``."""


def _naive(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def fetch_dicts(result: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


# -- filters -------------------------------------------------------------------


def dimension_sql(dim: str, params: list[Any]) -> str:
    """A SQL expression for a dimension; ``tag.<key>`` reads the tags map."""
    if dim.startswith("tag."):
        params.append(dim[4:])
        return "tags[?]"
    if dim == "rag_source":
        return "rag_source"
    if dim in DIMENSIONS:
        return dim
    raise ValidationError("group_by" if not params else "filter", f"unknown dimension {dim!r}; valid: {', '.join(DIMENSIONS)}, tag.<key>")


def where(project: str, filters: Filters, params: list[Any]) -> str:
    clauses = ["project = ?"]
    params.append(project)
    if filters.start is not None:
        clauses.append("start_time >= ?")
        params.append(_naive(filters.start))
    if filters.end is not None:
        clauses.append("start_time < ?")
        params.append(_naive(filters.end))
    for dim, value in filters.equals:
        if dim == "rag_source":
            clauses.append("list_contains(rag_sources, ?)")
            params.append(value)
        else:
            expr = dimension_sql(dim, params)
            clauses.append(f"{expr} = ?")
            params.append(value)
    if filters.text:
        clauses.append("(contains(lower(input), ?) OR contains(lower(output), ?))")
        needle = filters.text.lower()
        params.extend([needle, needle])
    return " AND ".join(clauses)


# -- listing -------------------------------------------------------------------


def encode_cursor(row: dict[str, Any]) -> str:
    start: datetime = row["start_time"]
    micros = round(start.replace(tzinfo=timezone.utc).timestamp() * 1_000_000)
    raw = json.dumps([micros, row["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        micros, ident = json.loads(raw)
        return datetime(1970, 1, 1) + timedelta(microseconds=int(micros)), str(ident)
    except (ValueError, TypeError) as exc:
        raise ValidationError("cursor", "is not a cursor returned by this API") from exc


def list_interactions(query: InteractionQuery) -> tuple[str, list[Any]]:
    params: list[Any] = []
    clause = where(query.project, query.filters, params)
    if query.cursor:
        ts, ident = decode_cursor(query.cursor)
        clause += " AND (start_time < ? OR (start_time = ? AND id < ?))"
        params.extend([ts, ts, ident])
    params.append(query.limit + 1)
    return (
        f"SELECT * EXCLUDE (project) FROM interactions WHERE {clause} ORDER BY start_time DESC, id DESC LIMIT ?",
        params,
    )


def interaction_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: _aware(v) for k, v in row.items() if k != "project"}
    text = out.get("input")
    out["input"] = msgspec.json.decode(text) if text else []
    out["tags"] = out.get("tags") or {}
    out["rag_sources"] = out.get("rag_sources") or []
    return out


def feedback_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: _aware(v) for k, v in row.items()}
    out["tags"] = out.get("tags") or {}
    return out


# -- metrics -------------------------------------------------------------------


def _check_metrics(metrics: tuple[str, ...]) -> None:
    for name in metrics:
        if name not in METRICS:
            raise ValidationError("metrics", f"unknown metric {name!r}; valid: {', '.join(METRICS)}")


def rollup_plan(group_by: str | None, filters: Filters, bucket: str) -> tuple[str, str | None] | None:
    """(dimension, value filter) to read from the rollups, or None to scan raw rows."""
    if bucket == "minute" or filters.text:
        return None
    if group_by is not None and group_by not in ROLLUP_DIMENSIONS:
        return None
    if not filters.equals:
        return (group_by or "", None)
    if len(filters.equals) == 1:
        dim, value = filters.equals[0]
        if dim in ROLLUP_DIMENSIONS and group_by in (None, dim):
            return (dim, value)
    return None


@dataclass(frozen=True, slots=True)
class MetricsPlan:
    """Counts SQL, plus (for rollups) the histogram SQL whose quantiles numpy computes."""

    sql: str
    params: list[Any]
    hist_sql: str | None = None
    hist_params: list[Any] | None = None


def metrics(query: MetricsQuery) -> MetricsPlan:
    _check_metrics(query.metrics)
    if query.bucket not in BUCKETS:
        raise ValidationError("bucket", f"must be one of {', '.join(BUCKETS)}")
    plan = rollup_plan(query.group_by, query.filters, query.bucket)
    if plan is not None:
        return _rollup_metrics(query, *plan)
    statement, params = _raw_metrics(query)
    return MetricsPlan(statement, params)


def _truncate(bucket: str, column: str, start: datetime) -> str:
    """The bucket-start expression; ``all`` puts every row in one bucket starting at the window's start."""
    if bucket == "all":
        return f"TIMESTAMP '{start.isoformat(sep=' ')}'"
    return f"date_trunc('{bucket}', {column})"


def _bucket_seconds(query: MetricsQuery) -> float:
    if query.bucket == "all":
        return max(query.end - query.start, 1.0)
    return float(BUCKET_SECONDS[query.bucket])


def hour_range(start: float, end: float) -> tuple[datetime, datetime]:
    return _naive(math.floor(start / 3600) * 3600), _naive(math.ceil(end / 3600) * 3600)


def _rollup_metrics(query: MetricsQuery, dim: str, value: str | None) -> MetricsPlan:
    lo, hi = hour_range(query.start, query.end)
    cond = "project = ? AND dim = ? AND hour >= ? AND hour < ?"
    params: list[Any] = [query.project, dim, lo, hi]
    if value is not None:
        cond += " AND value = ?"
        params.append(value)
    group = "nullif(value, '')" if query.group_by else "NULL::VARCHAR"
    seconds = _bucket_seconds(query)
    t = _truncate(query.bucket, "hour", lo)
    counts = f"""
    SELECT {t} AS t, epoch_us({t}) AS _t_us,
           {group} AS "group", sum(n)::BIGINT AS count, sum(errors)::BIGINT AS errors,
           sum(errors) / sum(n) AS error_rate, sum(latency_sum) / nullif(sum(latency_n), 0) AS latency_avg,
           sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens,
           sum(cached_tokens)::BIGINT AS cached_tokens, sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
           sum(n) / {seconds} AS request_rate, sum(gen_tokens) * 1000.0 / nullif(sum(gen_ms), 0) AS output_tokens_per_s,
           CASE WHEN sum(cost_n) > 0 THEN sum(cost_usd) END AS cost_usd, (sum(n) - sum(cost_n))::BIGINT AS cost_unknown
    FROM rollup_hour WHERE {cond} GROUP BY 1, 2, 3 ORDER BY 1, 3
    """
    hist = f"""
    SELECT epoch_us({t}) AS t, {group} AS g, metric, buckets, counts
    FROM rollup_hour_hist WHERE {cond} ORDER BY 1, 2 NULLS FIRST, 3
    """
    return MetricsPlan(counts, params, hist, list(params))


_QUANTILE_NAMES = [f"{name}_{qn}" for name in ("latency", "ttft") for qn in _Q_NAMES]


def _codes(column: pa.ChunkedArray, labels: list[Any]) -> np.ndarray:
    """Integer codes of a string column (nulls included) against ``labels``."""
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index[v] for v in column.to_pylist()), np.int64, len(column))


def rollup_rows(counts: pa.Table, hist: pa.Table | None) -> list[dict[str, Any]]:
    """Metric rows from the rollup queries' Arrow results, quantiles computed in numpy.

    Both results are ordered by (t, group); the histograms' quantiles are
    aligned to the count rows by integer keys, then rows are built in one pass.
    """
    n = counts.num_rows
    quantiles = np.full((n, len(_QUANTILE_NAMES)), np.nan)
    if hist is not None and hist.num_rows and n:
        labels = sorted(set(counts.column("group").to_pylist()) | set(hist.column("g").to_pylist()), key=lambda g: (g is not None, g or ""))
        times = np.unique(np.concatenate([counts.column("_t_us").to_numpy(), hist.column("t").to_numpy()]))
        width = len(labels)
        row_cell = np.searchsorted(times, counts.column("_t_us").to_numpy()) * width + _codes(counts.column("group"), labels)
        hist_key = (np.searchsorted(times, hist.column("t").to_numpy()) * width + _codes(hist.column("g"), labels)) * 2
        hist_key += hist.column("metric").to_numpy().astype(np.int64)
        # One histogram per row, buckets ascending, rows ordered by key (SQL ORDER BY):
        # unless a key repeats (day buckets merge hours), nothing needs re-sorting.
        presorted = bool(np.all(hist_key[1:] > hist_key[:-1]))
        bucket_lists = hist.column("buckets").combine_chunks()
        count_lists = hist.column("counts").combine_chunks()
        parents = pc.list_parent_indices(bucket_lists).to_numpy()
        keys, _totals, values = sketch.grouped_quantiles(
            hist_key[parents],
            pc.list_flatten(bucket_lists).to_numpy().astype(np.int64),
            pc.list_flatten(count_lists).to_numpy(),
            QUANTILES,
            presorted=presorted,
        )
        for metric in (0, 1):
            wanted = row_cell * 2 + metric
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[at] == wanted
            block = slice(metric * len(_Q_NAMES), (metric + 1) * len(_Q_NAMES))
            quantiles[hit, block] = values[at[hit]]
    names = [c for c in counts.column_names if c not in ("t", "_t_us")]
    columns = [[_aware(t) for t in counts.column("t").to_pylist()]]
    columns += [counts.column(c).to_pylist() for c in names]
    table = pa.table({name: quantiles[:, i] for i, name in enumerate(_QUANTILE_NAMES)})
    columns += [pc.if_else(pc.is_nan(table.column(name)), None, table.column(name)).to_pylist() for name in _QUANTILE_NAMES]
    keys_out = ["t", *names, *_QUANTILE_NAMES]
    return [dict(zip(keys_out, values)) for values in zip(*columns)]


_GEN = "(CASE WHEN output_tokens > 0 AND latency_ms - coalesce(ttft_ms, 0) > 0 THEN latency_ms - coalesce(ttft_ms, 0) END)"
"""Generation time of one call, as the rollups compute it."""


def _raw_metrics(query: MetricsQuery) -> tuple[str, list[Any]]:
    params: list[Any] = []
    group = "NULL"
    source = "interactions"
    if query.group_by == "rag_source":
        source = "(SELECT *, unnest(rag_sources) AS rag_source FROM interactions)"
        group = "rag_source"
    elif query.group_by:
        group = dimension_sql(query.group_by, params)
    filters = Filters(start=query.start, end=query.end, equals=query.filters.equals, text=query.filters.text)
    clause = where(query.project, filters, params)
    quantiles = ", ".join(
        f"quantile_cont({col}, {q}) AS {name}_{qn}"
        for col, name in (("latency_ms", "latency"), ("ttft_ms", "ttft"))
        for q, qn in zip(QUANTILES, _Q_NAMES)
    )
    statement = f"""
    SELECT {_truncate(query.bucket, "start_time", _naive(query.start))} AS t, {group} AS "group", count(*) AS count,
           count(*) FILTER (WHERE status = 'error') AS errors,
           count(*) FILTER (WHERE status = 'error') / count(*) AS error_rate,
           avg(latency_ms) AS latency_avg, {quantiles},
           coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
           coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
           count(*) / {_bucket_seconds(query)} AS request_rate,
           sum(output_tokens) FILTER (WHERE {_GEN} IS NOT NULL) * 1000.0 / nullif(sum({_GEN}), 0) AS output_tokens_per_s,
           sum(cost_usd) AS cost_usd, count(*) - count(cost_usd) AS cost_unknown
    FROM {source} WHERE {clause}
    GROUP BY 1, 2 ORDER BY 1, 2
    """
    return statement, params


def clean_metric_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "t":
            out[key] = _aware(value)
        elif isinstance(value, float) and value != value:
            out[key] = None
        elif hasattr(value, "is_integer") and not isinstance(value, float):  # Decimal from sums
            out[key] = int(value)
        else:
            out[key] = value
    return out


# -- users ---------------------------------------------------------------------


def users(query: UsersQuery) -> tuple[str, list[Any]]:
    if query.bucket not in BUCKETS:
        raise ValidationError("bucket", f"must be one of {', '.join(BUCKETS)}")
    plan = rollup_plan(query.group_by, query.filters, query.bucket)
    if plan is not None and query.bucket == "day":
        dim, value = plan
        lo = _naive(math.floor(query.start / 86400) * 86400).date()
        hi = _naive(math.ceil(query.end / 86400) * 86400).date()
        params: list[Any] = [query.project, dim, lo, hi]
        cond = "project = ? AND dim = ? AND day >= ? AND day < ?"
        if value is not None:
            cond += " AND value = ?"
            params.append(value)
        group = "nullif(value, '')" if query.group_by else "NULL"
        return (
            f'SELECT CAST(day AS TIMESTAMP) AS t, {group} AS "group", sum(users) AS users '
            f"FROM daily_user_counts WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2",
            params,
        )
    params = []
    group = dimension_sql(query.group_by, params) if query.group_by else "NULL"
    filters = Filters(start=query.start, end=query.end, equals=query.filters.equals, text=query.filters.text)
    clause = where(query.project, filters, params)
    return (
        f"SELECT {_truncate(query.bucket, 'start_time', _naive(query.start))} AS t, {group} AS \"group\", "
        "count(DISTINCT user_id) AS users "
        f"FROM interactions WHERE {clause} GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
