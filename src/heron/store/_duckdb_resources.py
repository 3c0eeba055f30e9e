"""Read queries over ``resource_samples`` (host CPU, memory, GPU readings from ``heron agent``).

Samples are stored raw, one row per reading (migration 0002); a query buckets
them by minute, hour or day per (host, service, metric, device). A batch that
an agent retried after the server had already stored it would repeat rows, so
the queries count each (host, service, metric, device, time, value) once.

:class:`DuckDBResourceReads` gives :class:`heron.store.duckdb.DuckDBStore` the
two ``Store`` methods by inheritance; the functions below it take a DuckDB
cursor, so they are usable (and testable) on any connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from heron.store._duckdb_sql import _aware, _naive, fetch_dicts
from heron.store.base import BUCKET_SECONDS, Bucket

_SAMPLES = "SELECT DISTINCT host, service, metric, device, time, value FROM resource_samples"


def _where(project: str, start: float, end: float, params: list[Any], **equals: Sequence[str]) -> str:
    clause = "project = ? AND time >= ? AND time < ?"
    params.extend([project, _naive(start), _naive(end)])
    for column, values in equals.items():
        if values:
            clause += f" AND list_contains(?, {column})"
            params.append(list(values))
    return clause


def resource_series(
    cur: duckdb.DuckDBPyConnection,
    project: str,
    *,
    start: float,
    end: float,
    bucket: Bucket = "minute",
    metrics: Sequence[str] = (),
    hosts: Sequence[str] = (),
    services: Sequence[str] = (),
    devices: Sequence[str] = (),
    limit: int = 100_000,
) -> list[dict[str, Any]]:
    """One row per (host, service, metric, device, bucket start ``t``) with avg, min, max, last and count.

    Ordered by host, service, metric, device (numerically when the ids are numbers) and time;
    at most ``limit`` rows.
    """
    if bucket not in BUCKET_SECONDS:  # interpolated into the SQL below: never anything but a known name
        raise ValueError(f"bucket must be one of {', '.join(BUCKET_SECONDS)}, got {bucket!r}")
    params: list[Any] = []
    clause = _where(project, start, end, params, metric=metrics, host=hosts, service=services, device=devices)
    params.append(limit)
    rows = fetch_dicts(
        cur.execute(
            f"""
            SELECT * FROM (
                SELECT host, service, metric, device, date_trunc('{bucket}', time) AS t,
                       avg(value) AS avg, min(value) AS min, max(value) AS max,
                       arg_max(value, time) AS last, count(*) AS count
                FROM ({_SAMPLES} WHERE {clause})
                GROUP BY ALL
            )
            ORDER BY host, service NULLS FIRST, metric, try_cast(device AS BIGINT) NULLS FIRST, device NULLS FIRST, t
            LIMIT ?
            """,
            params,
        )
    )
    for row in rows:
        row["t"] = _aware(row["t"])
    return rows


def resource_hosts(cur: duckdb.DuckDBPyConnection, project: str, *, start: float, end: float) -> list[dict[str, Any]]:
    """One row per (host, service) seen in the window: its metrics, devices, last sample time and sample count."""
    params: list[Any] = []
    clause = _where(project, start, end, params)
    rows = fetch_dicts(
        cur.execute(
            f"""
            SELECT host, service,
                   list_sort(list(DISTINCT metric)) AS metrics,
                   coalesce(list_sort(list(DISTINCT device) FILTER (WHERE device IS NOT NULL)), []) AS devices,
                   max(time) AS last_seen, count(*) AS samples
            FROM ({_SAMPLES} WHERE {clause})
            GROUP BY host, service
            ORDER BY host, service NULLS FIRST
            """,
            params,
        )
    )
    for row in rows:
        row["last_seen"] = _aware(row["last_seen"])
    return rows


class DuckDBResourceReads:
    """The ``Store`` protocol's resource queries for a class that has a per-thread ``_cursor()``."""

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def resource_series(
        self,
        project: str,
        *,
        start: float,
        end: float,
        bucket: Bucket = "minute",
        metrics: Sequence[str] = (),
        hosts: Sequence[str] = (),
        services: Sequence[str] = (),
        devices: Sequence[str] = (),
        limit: int = 100_000,
    ) -> list[dict[str, Any]]:
        return resource_series(
            self._cursor(),
            project,
            start=start,
            end=end,
            bucket=bucket,
            metrics=metrics,
            hosts=hosts,
            services=services,
            devices=devices,
            limit=limit,
        )

    def resource_hosts(self, project: str, *, start: float, end: float) -> list[dict[str, Any]]:
        return resource_hosts(self._cursor(), project, start=start, end=end)
