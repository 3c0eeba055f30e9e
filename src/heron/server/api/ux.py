"""User-experience endpoints (read key): signal rates per model, prompt version, language, topic, tag."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError, ValidationError
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.responses import error_response, json_response
from heron.store.base import DIMENSIONS, ROLLUP_DIMENSIONS, ActivityQuery, RetentionQuery

UX_SLICES: tuple[str, ...] = (*DIMENSIONS, "language", "topic_id")
"""What ``?<dim>=value`` may slice UX figures by, besides ``tag.<key>`` (the store names what it cannot use)."""
UX_BUCKETS = ("all", "hour", "day")
"""The UX rollups' grain is the hour."""
SUMMARY = params.accepted(params.WINDOW, "group_by", "bucket", UX_SLICES, prefixes=("tag.",))
MAX_DAYS = 400
"""Longest window of the user figures: one row per day (per cohort for retention) is built for each."""
USERS = params.accepted(params.WINDOW, ROLLUP_DIMENSIONS, prefixes=("tag.",))
"""``tag.<key>`` is let through to be refused by :func:`_slice`, which says why."""
RETENTION = params.accepted(USERS.names, "period", "offsets", prefixes=USERS.prefixes)
MAX_OFFSETS = 100


async def ux_summary(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, SUMMARY)
        start, end = params.window(request.query_params, default_since=7 * 86400.0)
        group_by = request.query_params.get("group_by") or None
        bucket = params.bucket(request.query_params, default="all", choices=UX_BUCKETS)
        params.check_buckets(start, end, bucket)
        svc = services(request)
        merged = svc.enrichment.topics.merged(principal.project) if svc.enrichment is not None and group_by == "topic_id" else None
        where = ux_slice(request)
        rows = await to_thread.run_sync(
            lambda: svc.store.ux_summary(principal.project, start, end, group_by=group_by, bucket=bucket, topic_map=merged, where=where)  # type: ignore[attr-defined]
        )
    except HeronError as exc:
        return error_response(exc)
    dim, value = where if where is not None else (None, None)
    return json_response({"start": start, "end": end, "group_by": group_by, "bucket": bucket, "dim": dim, "value": value, "series": rows})


def ux_slice(request: Request) -> tuple[str, str] | None:
    """``?model=gpt-4o``, ``?tag.app.team=support``: the one slice of UX figures asked for, if any.

    A UX dimension is read from the UX rollups; a tag or call dimension from the window's turns
    (heron.store._duckdb_ux_reads), which could take several, but one keeps the API one shape.
    """
    chosen = [(k, v) for k, v in request.query_params.multi_items() if k in UX_SLICES or k.startswith("tag.")]
    if len(chosen) > 1:
        raise ValidationError(chosen[1][0], "UX figures can be sliced by one dimension or tag at a time")
    return chosen[0] if chosen else None


def _slice(request: Request) -> tuple[str | None, str | None]:
    """``?model=gpt-4o`` (any rollup dimension) selects one slice; at most one (the rollups hold one dimension per row)."""
    tags = [k for k in request.query_params if k.startswith("tag.")]
    if tags:
        raise ValidationError(tags[0], "user figures are kept per rollup dimension and cannot be sliced by a tag (docs/users.md)")
    chosen = [(dim, request.query_params[dim]) for dim in ROLLUP_DIMENSIONS if dim in request.query_params]
    if len(chosen) > 1:
        raise ValidationError(chosen[1][0], "user figures can be sliced by one dimension at a time")
    return chosen[0] if chosen else (None, None)


async def active_users(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, USERS)
        start, end = params.window(request.query_params, default_since=30 * 86400.0, max_days=MAX_DAYS)
        dim, value = _slice(request)
        query = ActivityQuery(project=principal.project, start=start, end=end, dim=dim, value=value)
        rows = await to_thread.run_sync(services(request).store.active_users, query)  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "dim": dim, "value": value, "days": rows})


async def retention(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, RETENTION)
        start, end = params.window(request.query_params, default_since=60 * 86400.0, max_days=MAX_DAYS)
        dim, value = _slice(request)
        period = request.query_params.get("period", "day")
        offsets = _offsets(request.query_params.get("offsets"))
        query = RetentionQuery(project=principal.project, start=start, end=end, period=period, offsets=offsets, dim=dim, value=value)  # type: ignore[arg-type]
        result = await to_thread.run_sync(services(request).store.retention, query)  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "dim": dim, "value": value, **result})


def _offsets(raw: str | None) -> tuple[int, ...] | None:
    """``offsets=1,7,30``: at most MAX_OFFSETS integers, each 0..MAX_DAYS (days or weeks after the cohort's first)."""
    if not raw:
        return None
    parts = raw.split(",")
    if len(parts) > MAX_OFFSETS:
        raise ValidationError("offsets", f"takes at most {MAX_OFFSETS} values, got {len(parts)}")
    try:
        offsets = tuple(int(x) for x in parts)
    except ValueError as exc:
        raise ValidationError("offsets", f"must be comma-separated integers, got {raw!r}") from exc
    if any(not 0 <= k <= MAX_DAYS for k in offsets):
        raise ValidationError("offsets", f"must each be from 0 to {MAX_DAYS}, got {raw!r}")
    return offsets


async def engagement(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, USERS)
        start, end = params.window(request.query_params, default_since=7 * 86400.0, max_days=MAX_DAYS)
        dim, value = _slice(request)
        query = ActivityQuery(project=principal.project, start=start, end=end, dim=dim, value=value)
        result = await to_thread.run_sync(services(request).store.engagement, query)  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "dim": dim, "value": value, **result})


routes = [
    Route("/v1/ux/summary", ux_summary, methods=["GET"]),
    Route("/v1/users/active", active_users, methods=["GET"]),
    Route("/v1/users/retention", retention, methods=["GET"]),
    Route("/v1/users/engagement", engagement, methods=["GET"]),
]
