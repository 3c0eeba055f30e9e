"""The Conversations explorer's search (read key): one row per conversation, newest matching turn first.

``GET /v1/conversations/{id}`` (one conversation turn by turn) stays in ``routes.py``.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError, ValidationError
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.responses import error_response, json_response
from heron.store.base import SENTIMENTS, ConversationQuery

DEFAULT_WINDOW = 7 * 86400.0
MAX_LIMIT = 200
MAX_VALUE = 1000
EQUALS = (("model", "model"), ("response_model", "response_model"), ("environment", "environment"), ("app_version", "app_version"),
           ("prompt_version", "prompt_version"), ("user", "user_id"), ("user_id", "user_id"))
"""(query parameter, turn column); ``user`` and ``user_id`` are the same filter. ``tag.<key>`` matches a tag."""
ACCEPTED = params.accepted(params.WINDOW, (name for name, _ in EQUALS), "q", "topic", "sentiment", "frustrated", "errors",
                           "limit", "cursor", prefixes=("tag.",))
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
"""What ``frustrated`` and ``errors`` read as yes and no (any case, blanks stripped)."""


def _value(query: QueryParams, name: str) -> str | None:
    value = query.get(name)
    if value is not None and len(value) > MAX_VALUE:
        raise ValidationError(name, f"is longer than {MAX_VALUE} characters")
    return value or None


def _flag(query: QueryParams, name: str) -> bool:
    raw = query.get(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValidationError(name, f"must be 1 or 0, got {query.get(name)!r}")


def _topic(query: QueryParams) -> int | None:
    raw = query.get("topic")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError("topic", f"must be a topic id (an integer, as /v1/topics lists them), got {raw!r}") from None


def parse(query: QueryParams, project: str, merged: dict[int, int]) -> ConversationQuery:
    """The search the query string asks for; ``merged`` (old topic id -> the topic it went into) widens ``topic``."""
    params.check_known(query, ACCEPTED)
    start, end = params.window(query, default_since=DEFAULT_WINDOW)
    equals = []
    for name, column in EQUALS:
        value = _value(query, name)
        if value is not None:
            equals.append((column, value))
    for name in dict.fromkeys(k for k in query if k.startswith("tag.")):
        value = _value(query, name)
        if value is not None:
            equals.append((name, value))
    sentiment = _value(query, "sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise ValidationError("sentiment", f"must be one of {', '.join(SENTIMENTS)}, got {sentiment!r}")
    topic = _topic(query)
    topics = () if topic is None else (topic, *sorted(old for old, new in merged.items() if new == topic))
    return ConversationQuery(
        project=project, start=start, end=end, equals=tuple(equals), text=_value(query, "q"), topics=topics,
        sentiment=sentiment, frustrated=_flag(query, "frustrated"), errors=_flag(query, "errors"),
        limit=params.bounded_int(query, "limit", default=50, low=1, high=MAX_LIMIT), cursor=query.get("cursor") or None,
    )  # fmt: skip


def label_topics(items: list[dict[str, Any]], merged: dict[int, int], names: dict[int, dict[str, Any]]) -> None:
    """Each row's stored topic ids become ``[{"id", "label"}]``, merged topics folded into the one they went into."""
    for item in items:
        ids = sorted({merged.get(t, t) for t in item.get("topics", [])})
        item["topics"] = [{"id": t, "label": names.get(t, {}).get("label", "other" if t < 0 else f"topic {t}")} for t in ids]


async def list_conversations(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        svc = services(request)
        topics = svc.enrichment.topics if svc.enrichment is not None else None
        merged = topics.merged(project) if topics is not None else {}
        query = parse(request.query_params, project, merged)
        page = await to_thread.run_sync(svc.store.conversations, query)
        label_topics(page.items, merged, topics.describe(project) if topics is not None else {})
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": query.start, "end": query.end, "items": page.items, "next_cursor": page.next_cursor})


routes = [Route("/v1/conversations", list_conversations, methods=["GET"])]
