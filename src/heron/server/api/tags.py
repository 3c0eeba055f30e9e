"""``GET /v1/tags`` (read key): the project's busiest tag keys in a window, each with its busiest values.

What the dashboard's segment picker offers as ``tag.<key>`` segments; every filter and
group-by takes ``tag.<key>`` (docs/api.md).
"""

from __future__ import annotations

from anyio import to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.responses import error_response, json_response

DEFAULT_TOP = 50
MAX_TOP = 200
ACCEPTED = params.accepted(params.WINDOW, "keys", "values")


def _top(query: QueryParams, name: str) -> int:
    return params.bounded_int(query, name, default=DEFAULT_TOP, low=1, high=MAX_TOP)


async def list_tags(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, ACCEPTED)
        start, end = params.window(request.query_params, default_since=7 * 86400.0)
        keys, values = _top(request.query_params, "keys"), _top(request.query_params, "values")
        store = services(request).store
        rows = await to_thread.run_sync(lambda: store.tags(project, start, end, keys=keys, values=values))  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "keys": rows})


routes = [Route("/v1/tags", list_tags, methods=["GET"])]
