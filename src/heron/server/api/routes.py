"""Read endpoints (read key): interactions, one conversation, time-bucketed metrics."""

from __future__ import annotations

import time

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.responses import error_response, json_response
from heron.store.base import InteractionQuery, MetricsQuery, UsersQuery

DEFAULT_WINDOW = 86_400.0
_TAGS = ("tag.",)
INTERACTIONS = params.accepted(params.FILTERS, "limit", "cursor", prefixes=_TAGS)
METRICS = params.accepted(params.FILTERS, "bucket", "group_by", "metrics", prefixes=_TAGS)
USERS = params.accepted(params.FILTERS, "bucket", "group_by", prefixes=_TAGS)
NONE = params.accepted()


def select_metrics(rows: list[dict[str, object]], names: tuple[str, ...]) -> list[dict[str, object]]:
    keep = {"t", "group", *names}
    return [{k: v for k, v in row.items() if k in keep} for row in rows]


async def list_interactions(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, INTERACTIONS)
        query = InteractionQuery(
            project=principal.project,
            filters=params.filters(request.query_params, default_since=None),
            limit=params.limit(request.query_params),
            cursor=request.query_params.get("cursor") or None,
        )
        page = await to_thread.run_sync(services(request).store.list_interactions, query)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


async def get_interaction(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, NONE)
        ident = request.path_params["interaction_id"]
        item = await to_thread.run_sync(services(request).store.get_interaction, principal.project, ident)
    except HeronError as exc:
        return error_response(exc)
    if item is None:
        return json_response({"error": f"interaction {ident!r} not found"}, 404)
    return json_response(item)


async def get_conversation(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, NONE)
        ident = request.path_params["conversation_id"]
        items = await to_thread.run_sync(services(request).store.conversation, principal.project, ident)
    except HeronError as exc:
        return error_response(exc)
    if not items:
        return json_response({"error": f"conversation {ident!r} not found"}, 404)
    return json_response({"conversation_id": ident, "interactions": items})


def _window(request: Request) -> tuple[float, float, object]:
    filters = params.filters(request.query_params, default_since=DEFAULT_WINDOW)
    start = filters.start if filters.start is not None else time.time() - DEFAULT_WINDOW
    end = filters.end if filters.end is not None else time.time()
    return start, end, filters


async def metrics(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, METRICS)
        start, end, filters = _window(request)
        bucket = params.bucket(request.query_params)
        params.check_buckets(start, end, bucket)
        names = params.metric_names(request.query_params)
        query = MetricsQuery(
            project=principal.project,
            start=start,
            end=end,
            bucket=bucket,  # type: ignore[arg-type]
            group_by=params.group_by(request.query_params),
            metrics=names,
            filters=filters,  # type: ignore[arg-type]
        )
        rows = await to_thread.run_sync(services(request).store.metrics, query)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"bucket": bucket, "group_by": query.group_by, "start": start, "end": end, "series": select_metrics(rows, names)})


async def users(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, USERS)
        start, end, filters = _window(request)
        bucket = params.bucket(request.query_params, default="day")
        params.check_buckets(start, end, bucket)
        query = UsersQuery(
            project=principal.project,
            start=start,
            end=end,
            bucket=bucket,  # type: ignore[arg-type]
            group_by=params.group_by(request.query_params),
            filters=filters,  # type: ignore[arg-type]
        )
        rows = await to_thread.run_sync(services(request).store.users, query)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"bucket": bucket, "group_by": query.group_by, "start": start, "end": end, "series": rows})


routes = [
    Route("/v1/interactions", list_interactions, methods=["GET"]),
    Route("/v1/interactions/{interaction_id}", get_interaction, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}", get_conversation, methods=["GET"]),
    Route("/v1/metrics", metrics, methods=["GET"]),
    Route("/v1/metrics/users", users, methods=["GET"]),
]
