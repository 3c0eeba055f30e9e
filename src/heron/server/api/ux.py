"""User-experience endpoints (read key): signal rates per model, prompt version, language, topic."""

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


async def ux_summary(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        start, end = params.time_range(request.query_params, default_since=7 * 86400.0)
        start = start if start is not None else time.time() - 7 * 86400
        end = end if end is not None else time.time()
        group_by = request.query_params.get("group_by") or None
        bucket = request.query_params.get("bucket", "all")
        store = services(request).store
        rows = await to_thread.run_sync(lambda: store.ux_summary(principal.project, start, end, group_by=group_by, bucket=bucket))  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "group_by": group_by, "bucket": bucket, "series": rows})


routes = [Route("/v1/ux/summary", ux_summary, methods=["GET"])]
