"""SQL for the DuckDB store's reads, and the row shapes the API returns.

Metric queries read the hourly rollups when they can (hour/day buckets, a
rollup dimension, at most one equality filter on that same dimension) and scan
raw rows otherwise; both paths return the same row shape. Either way the answer
covers exactly the window asked for: the rollups give the whole hours inside
it, and the (at most two) partial hours at its edges are folded from raw rows
into the rollups' shape, histograms included (see :func:`split_window`).
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
    """The page's keys (``start_time``, ``id``), newest first: a top-N over two narrow columns.

    Sorting whole rows (prompts, replies, tags) costs ~3x more than sorting the keys and
    then reading the page's rows by key (:func:`interactions_by_key`).
    """
    params: list[Any] = []
    clause = where(query.project, query.filters, params)
    if query.cursor:
        ts, ident = decode_cursor(query.cursor)
        clause += " AND (start_time < ? OR (start_time = ? AND id < ?))"
        params.extend([ts, ts, ident])
    params.append(query.limit + 1)
    return (
        f"SELECT start_time, id FROM interactions WHERE {clause} ORDER BY start_time DESC, id DESC LIMIT ?",
        params,
    )


def interactions_by_key(project: str, keys: list[tuple[Any, str]]) -> tuple[str, list[Any]]:
    """Whole rows for ``keys`` (``(start_time, id)`` pairs); the time range lets the scan skip row groups."""
    times = [start for start, _ in keys]
    return (
        "SELECT * EXCLUDE (project) FROM interactions WHERE project = ? AND start_time >= ? AND start_time <= ? "
        "AND id IN (SELECT unnest(?))",
        [project, min(times), max(times), sorted({ident for _, ident in keys})],
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


def _covered_seconds(query: MetricsQuery, t: str) -> str:
    """Seconds of the window inside the bucket starting at ``t``: a whole bucket, less where the
    window starts or ends inside it (``request_rate`` is calls over these seconds)."""
    if query.bucket == "all":
        return repr(query.end - query.start if query.end > query.start else 1.0)
    width = BUCKET_SECONDS[query.bucket] * 1_000_000
    lo, hi = round(query.start * 1_000_000), round(query.end * 1_000_000)
    return f"((least(epoch_us({t}) + {width}, {hi}) - greatest(epoch_us({t}), {lo})) / 1e6)"


def hour_range(start: float, end: float) -> tuple[datetime, datetime]:
    """The whole hours touching [start, end): wider than the window unless it is aligned."""
    return _naive(math.floor(start / 3600) * 3600), _naive(math.ceil(end / 3600) * 3600)


@dataclass(frozen=True, slots=True)
class Window:
    """A query window cut at a rollup's grain (naive UTC): ``inner`` holds the whole units inside
    it, read from the rollup; ``edges`` the partial units at either end, read from raw rows."""

    inner: tuple[datetime, datetime]
    """[lo, hi); empty (lo >= hi) when no whole unit lies inside the window."""
    edges: tuple[tuple[datetime, datetime], ...]
    """At most two [lo, hi) ranges, each within one unit, outside ``inner``."""


def split_window(start: float, end: float, unit: int = 3600) -> Window:
    """Cut [start, end) into whole ``unit``-second buckets and the partial ones at its edges.

    The pieces are disjoint and together exactly the window, so sums over them (counts,
    tokens, cost, histogram counts) are the window's sums, never a wider range's.
    """
    lo, hi = math.ceil(start / unit) * unit, math.floor(end / unit) * unit
    if lo > hi:  # inside one unit
        return Window((_naive(end), _naive(end)), ((_naive(start), _naive(end)),) if start < end else ())
    edges = []
    if start < lo:
        edges.append((_naive(start), _naive(lo)))
    if hi < end:
        edges.append((_naive(hi), _naive(end)))
    return Window((_naive(lo), _naive(hi)), tuple(edges))


_GEN = "(CASE WHEN output_tokens > 0 AND latency_ms - coalesce(ttft_ms, 0) > 0 THEN latency_ms - coalesce(ttft_ms, 0) END)"
"""Generation time of one call, as the rollups compute it."""

_ROLLUP_SUMS = "n, errors, latency_sum, latency_n, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, cost_n, gen_ms, gen_tokens"

_EDGE_SUMS = f"""count(*) AS n, count(*) FILTER (WHERE status = 'error') AS errors,
    coalesce(sum(latency_ms), 0) AS latency_sum, count(latency_ms) AS latency_n,
    coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens, coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
    coalesce(sum(cached_tokens), 0)::BIGINT AS cached_tokens, coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens,
    coalesce(sum(cost_usd), 0) AS cost_usd, count(cost_usd) AS cost_n,
    coalesce(sum({_GEN}), 0) AS gen_ms, coalesce(sum(output_tokens) FILTER (WHERE {_GEN} IS NOT NULL), 0)::BIGINT AS gen_tokens"""
"""The columns of ``rollup_hour`` (``_ROLLUP_SUMS``) over raw rows, as the write path folds them."""

_EDGE_COLUMNS = "start_time, status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd"


def _edge_rows(project: str, dim: str, value: str | None, window: Window, params: list[Any], columns: str = _EDGE_COLUMNS) -> str | None:
    """The raw rows of the window's partial units, with the rollup's ``value`` of ``dim``; None if there are none.

    One scan per edge, each a single start_time range (so zonemaps skip the row groups
    outside it); ``value`` filters as the rollups do ('' = not set).
    """
    if not window.edges:
        return None
    column = f"coalesce({dim}, '')" if dim else "''"  # dim is a ROLLUP_DIMENSIONS name: a column
    scans = []
    for lo, hi in window.edges:
        cond = "project = ? AND start_time >= ? AND start_time < ?"
        params.extend([project, lo, hi])
        if value is not None:
            cond += f" AND {column} = ?"
            params.append(value)
        scans.append(f"SELECT {columns}, {column} AS value FROM interactions WHERE {cond}")
    return " UNION ALL ".join(scans)


def _rollup_cond(project: str, dim: str, value: str | None, inner: tuple[Any, Any], params: list[Any], time_col: str = "hour") -> str:
    params.extend([project, dim, *inner])
    cond = f"project = ? AND dim = ? AND {time_col} >= ? AND {time_col} < ?"
    if value is not None:
        cond += " AND value = ?"
        params.append(value)
    return cond


def hour_rows(project: str, dim: str, value: str | None, window: Window, params: list[Any]) -> str:
    """``rollup_hour`` rows (hour, value, sums) covering exactly ``window``: whole hours from the
    rollup, the partial hours at its edges summed from raw rows the same way."""
    out = f"SELECT hour, value, {_ROLLUP_SUMS} FROM rollup_hour WHERE {_rollup_cond(project, dim, value, window.inner, params)}"
    edges = _edge_rows(project, dim, value, window, params)
    if edges is not None:
        out += f" UNION ALL SELECT date_trunc('hour', start_time) AS hour, value, {_EDGE_SUMS} FROM ({edges}) GROUP BY ALL"
    return out


def hour_histograms(project: str, dim: str, value: str | None, window: Window, params: list[Any]) -> str:
    """``rollup_hour_hist`` rows (hour, value, metric, buckets, counts) covering exactly ``window``.

    The edges' values go through the same bucket mapping (:func:`heron.stats.sketch.sql_bucket`)
    as the rollups, so their histograms merge with the hours' by adding counts: the result is
    the sketch of exactly the window's calls, as a raw scan of it would build.
    """
    out = f"SELECT hour, value, metric, buckets, counts FROM rollup_hour_hist WHERE {_rollup_cond(project, dim, value, window.inner, params)}"
    edges = _edge_rows(project, dim, value, window, params)
    if edges is not None:
        per_bucket = " UNION ALL ".join(
            f"SELECT date_trunc('hour', start_time) AS hour, value, {metric}::TINYINT AS metric, {sketch.sql_bucket(column)} AS b,"
            f" count(*) AS n FROM e WHERE {column} IS NOT NULL GROUP BY ALL"
            for metric, column in enumerate(("latency_ms", "ttft_ms"))
        )
        out += (
            " UNION ALL SELECT hour, value, metric, list(b ORDER BY b) AS buckets, list(n ORDER BY b) AS counts"
            f" FROM (WITH e AS ({edges}) {per_bucket}) GROUP BY ALL"
        )
    return out


def _rollup_metrics(query: MetricsQuery, dim: str, value: str | None) -> MetricsPlan:
    window = split_window(query.start, query.end)
    group = "nullif(value, '')" if query.group_by else "NULL::VARCHAR"
    t = _truncate(query.bucket, "hour", _naive(query.start))
    params: list[Any] = []
    source = hour_rows(query.project, dim, value, window, params)
    counts = f"""
    SELECT {t} AS t, epoch_us({t}) AS _t_us,
           {group} AS "group", sum(n)::BIGINT AS count, sum(errors)::BIGINT AS errors,
           sum(errors) / sum(n) AS error_rate, sum(latency_sum) / nullif(sum(latency_n), 0) AS latency_avg,
           sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens,
           sum(cached_tokens)::BIGINT AS cached_tokens, sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
           sum(n) / {_covered_seconds(query, t)} AS request_rate,
           sum(gen_tokens) * 1000.0 / nullif(sum(gen_ms), 0) AS output_tokens_per_s,
           CASE WHEN sum(cost_n) > 0 THEN sum(cost_usd) END AS cost_usd, (sum(n) - sum(cost_n))::BIGINT AS cost_unknown
    FROM ({source}) GROUP BY 1, 2, 3 ORDER BY 1, 3
    """
    hist_params: list[Any] = []
    hist = f"""
    SELECT epoch_us({t}) AS t, {group} AS g, metric, buckets, counts
    FROM ({hour_histograms(query.project, dim, value, window, hist_params)}) ORDER BY 1, 2 NULLS FIRST, 3
    """
    return MetricsPlan(counts, params, hist, hist_params)


def unknown_cost_models(project: str, start: float, end: float) -> tuple[str, list[Any]]:
    """Models with calls of unknown cost in exactly [start, end), most calls first."""
    params: list[Any] = []
    source = hour_rows(project, "model", None, split_window(start, end), params)
    return (
        "SELECT value AS model, (sum(n) - sum(cost_n))::BIGINT AS calls, sum(input_tokens)::BIGINT AS input_tokens,"
        f" sum(output_tokens)::BIGINT AS output_tokens FROM ({source}) GROUP BY value"
        " HAVING sum(n) > sum(cost_n) ORDER BY calls DESC, model",
        params,
    )


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
    t = _truncate(query.bucket, "start_time", _naive(query.start))
    statement = f"""
    SELECT {t} AS t, {group} AS "group", count(*) AS count,
           count(*) FILTER (WHERE status = 'error') AS errors,
           count(*) FILTER (WHERE status = 'error') / count(*) AS error_rate,
           avg(latency_ms) AS latency_avg, {quantiles},
           coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
           coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
           count(*) / {_covered_seconds(query, t)} AS request_rate,
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
        # Whole days from the rollup; a partial first or last day counts its users from raw rows
        # (distinct counts do not add up, but each day comes whole from one side or the other).
        dim, value = plan
        window = split_window(query.start, query.end, 86400)
        params: list[Any] = []
        days = (window.inner[0].date(), window.inner[1].date())
        group = "nullif(value, '')" if query.group_by else "NULL"
        statement = (
            f'SELECT CAST(day AS TIMESTAMP) AS t, {group} AS "group", sum(users)::BIGINT AS users '
            f"FROM daily_user_counts WHERE {_rollup_cond(query.project, dim, value, days, params, 'day')} GROUP BY 1, 2"
        )
        edges = _edge_rows(query.project, dim, value, window, params, columns="start_time, user_id")
        if edges is not None:
            statement += (
                f" UNION ALL SELECT date_trunc('day', start_time) AS t, {group} AS \"group\", count(DISTINCT user_id) AS users"
                f" FROM ({edges}) GROUP BY 1, 2"
            )
        return statement + " ORDER BY 1, 2", params
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
