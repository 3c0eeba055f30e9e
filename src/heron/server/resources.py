"""Host resource samples: ``POST /v1/resources`` (write key) and ``GET /v1/resources`` (read key).

Ingest works exactly like ``POST /v1/interactions`` (docs/ingest.md): auth,
the concurrency slot, size limits and gzip, the envelope refused whole
(400/413), each sample validated on its own (200/207/400), and a 2xx only once
the accepted samples are in the write-ahead log. The pipeline's commit hook
sees them too, which is how ``/metrics`` exports them as gauges.

Reads bucket the samples per (host, service, metric, device): avg, min, max,
last and count per bucket (``GET /v1/resources``); ``GET /v1/resources/hosts``
lists who reports what and when it last did.
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec
from anyio import to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError, ValidationError
from heron.schema import limits as L
from heron.schema.normalize import epoch_seconds
from heron.schema.records import ResourceBatch, ResourceSample
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.ingest.decode import Decoded, _envelope, _items
from heron.server.ingest.routes import ingest_batch
from heron.server.responses import error_response, json_response
from heron.store.base import BUCKET_SECONDS

DEFAULT_WINDOW = 3600.0
"""``GET /v1/resources`` without start/since: the last hour."""
HOSTS_WINDOW = 86_400.0
"""``GET /v1/resources/hosts`` without start/since: the last day."""
MAX_POINTS = 100_000
"""Most (series, bucket) points one query returns; past it the query is refused, naming ``bucket``."""
MAX_FILTER_VALUES = 100
"""Most values of one filter (``metric``, ``host``, ``service``, ``device``) in one query."""
QUERY = params.accepted(params.WINDOW, "bucket", "metric", "host", "service", "device")
"""What ``GET /v1/resources`` reads."""
HOSTS = params.accepted(params.WINDOW)
"""What ``GET /v1/resources/hosts`` reads."""
METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""A metric name (as ``heron.schema.records.MetricName``): snake_case, its unit as suffix."""

BOUNDS: dict[str, tuple[float, float]] = {
    "cpu_percent": (0.0, 100.0),
    "gpu_utilization_percent": (0.0, 100.0),
    "gpu_temperature_celsius": (-273.15, 1000.0),
}
"""Accepted value ranges of metrics with a natural bound; other ``*_percent``, ``*_bytes``, ``*_watts`` must be >= 0."""
NON_NEGATIVE = ("_percent", "_bytes", "_watts")
"""Suffixes of metrics whose values must be >= 0 (unless ``BOUNDS`` says otherwise)."""


# -- ingest ------------------------------------------------------------------------------


def normalize_resource(item: ResourceSample, *, project: str, now: float) -> ResourceSample:
    """Validate what the types cannot (time window, finite value in range), set the project; returns ``item``."""
    if not item.host:
        raise ValidationError("host", "must not be empty")
    if not math.isfinite(item.value):
        raise ValidationError("value", f"must be a finite number, got {item.value!r}")
    low, high = BOUNDS.get(item.metric, (0.0, math.inf) if item.metric.endswith(NON_NEGATIVE) else (-math.inf, math.inf))
    if not low <= item.value <= high:
        raise ValidationError("value", f"{item.value!r} is out of range for {item.metric} ({low:g} to {high:g})")
    item.value = float(item.value)
    item.time = epoch_seconds(item.time, "time", now)
    item.project = project
    return item


_resource_batch = msgspec.json.Decoder(ResourceBatch)
_resource = msgspec.json.Decoder(ResourceSample)


def decode_resources(body: bytes, *, project: str, now: float, mapping: object = None) -> Decoded:
    """The ``{"samples": [...]}`` envelope, then each sample on its own (see ``ingest/decode.py``)."""
    raws = _envelope(_resource_batch, body, "samples")
    return _items(raws, _resource, normalize_resource, project=project, now=now)


async def ingest_resources(request: Request) -> Response:
    return await ingest_batch(request, decode_resources, "resources")


# -- queries -----------------------------------------------------------------------------


def _values(query: QueryParams, name: str) -> tuple[str, ...]:
    """Repeated and comma-separated values of one parameter, each checked."""
    values = tuple(v.strip() for raw in query.getlist(name) for v in raw.split(",") if v.strip())
    if len(values) > MAX_FILTER_VALUES:
        raise ValidationError(name, f"has {len(values)} values; the limit is {MAX_FILTER_VALUES}")
    for value in values:
        if len(value) > L.MAX_ID_CHARS:
            raise ValidationError(name, f"values are at most {L.MAX_ID_CHARS} characters")
        if name == "metric" and not METRIC.match(value):
            raise ValidationError(name, f"{value!r} is not a metric name (snake_case, e.g. cpu_percent)")
    return values


def _series(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows (ordered by series, then time) to one object per series with its points."""
    out: list[dict[str, Any]] = []
    key: tuple[Any, ...] | None = None
    for row in rows:
        row_key = (row["host"], row["service"], row["metric"], row["device"])
        if row_key != key:
            key = row_key
            host, service, metric, device = row_key
            out.append({"host": host, "service": service, "metric": metric, "device": device, "points": []})
        out[-1]["points"].append(
            {"t": row["t"], "avg": row["avg"], "min": row["min"], "max": row["max"], "last": row["last"], "count": row["count"]}
        )
    return out


async def query_resources(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        query = request.query_params
        params.check_known(query, QUERY)
        start, end = params.window(query, default_since=DEFAULT_WINDOW)
        bucket = params.bucket(query, default="minute", choices=tuple(BUCKET_SECONDS))  # no "all": series are bucketed
        params.check_buckets(start, end, bucket)
        filters = {name: _values(query, name) for name in ("metric", "host", "service", "device")}
        store = services(request).store

        def fetch() -> list[dict[str, Any]]:
            return store.resource_series(
                principal.project,
                start=start,
                end=end,
                bucket=bucket,  # type: ignore[arg-type]
                metrics=filters["metric"],
                hosts=filters["host"],
                services=filters["service"],
                devices=filters["device"],
                limit=MAX_POINTS + 1,
            )

        rows = await to_thread.run_sync(fetch)
        if len(rows) > MAX_POINTS:
            raise ValidationError(
                "bucket",
                f"the query matches more than {MAX_POINTS} points; narrow the time range, "
                "use a larger bucket, or filter by metric, host, service or device",
            )
    except HeronError as exc:
        return error_response(exc)
    return json_response({"bucket": bucket, "start": start, "end": end, "series": _series(rows)})


async def resource_hosts(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, HOSTS)
        start, end = params.window(request.query_params, default_since=HOSTS_WINDOW)
        store = services(request).store
        rows = await to_thread.run_sync(lambda: store.resource_hosts(principal.project, start=start, end=end))
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "hosts": rows})


routes = [
    Route("/v1/resources", ingest_resources, methods=["POST"]),
    Route("/v1/resources", query_resources, methods=["GET"]),
    Route("/v1/resources/hosts", resource_hosts, methods=["GET"]),
]
