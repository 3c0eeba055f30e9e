"""Topic endpoints: the topic table, the topic map, the flow between topics, emerging topics, and naming/merging them.

The table and the flow take one slice like the UX summary (``?model=``, ``?tag.<key>=``; heron.server.api.ux).
Reads take the read key; edits (rename, merge, accept/dismiss, refit) the write key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.analytics import topics as analytics
from heron.analytics.topic_map import topic_map
from heron.errors import HeronError, ValidationError
from heron.server.api import params
from heron.server.api.ux import UX_SLICES, ux_slice
from heron.server.context import authenticate, services
from heron.server.ingest.body import SMALL_BODY_BYTES, read_body
from heron.server.ingest.decode import split_msgspec_error, too_deep
from heron.server.responses import error_response, json_response
from heron.server.topics import MIN_MESSAGES, Topics

SLICED = params.accepted(params.WINDOW, UX_SLICES, prefixes=("tag.",))
"""The table and the flow: a window and one slice (heron.server.api.ux)."""
NONE = params.accepted()
MAX_DAYS = 400
"""Longest window of the table (read twice, for the trend, with a daily series per topic) and the flow."""

Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class RenameIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    label: Label


class MergeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[int], msgspec.Meta(min_length=2, max_length=50)]
    label: Label | None = None


class AcceptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    label: Label | None = None


def _topics(request: Request) -> Topics:
    runner = services(request).enrichment
    if runner is None:
        raise ValidationError("enrichment", "topics need enrichment, which is off on this server (HERON_ENRICH=0)")
    return runner.topics


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise ValidationError(*split_msgspec_error(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ValidationError("body", f"is not valid JSON: {exc}") from exc
    except RecursionError:
        raise too_deep() from None


def _path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(name, f"must be an integer, got {raw!r}") from None


async def topic_table(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, SLICED)
        start, end = params.window(request.query_params, default_since=7 * 86400.0, max_days=MAX_DAYS)
        topics = _topics(request)
        store, merged, where = services(request).store, topics.merged(project), ux_slice(request)

        def read() -> dict[str, Any]:
            span = end - start
            summary = store.ux_summary  # type: ignore[attr-defined]
            current = summary(project, start, end, group_by="topic_id", topic_map=merged, where=where)
            previous = summary(project, start - span, start, group_by="topic_id", topic_map=merged, where=where)
            daily = summary(project, start, end, group_by="topic_id", bucket="day", topic_map=merged, where=where)
            return {"topics": analytics.topic_table(current, previous, daily, topics.describe(project)),
                    "unassigned": sum(int(r["interactions"]) for r in current if r["group"] is None)}  # fmt: skip

        result = await to_thread.run_sync(read)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, **_slice_dict(where), "model_version": topics.version(project), **result})


def _slice_dict(where: tuple[str, str] | None) -> dict[str, str | None]:
    """The slice answered, as the users endpoints name it."""
    return {"dim": where[0], "value": where[1]} if where is not None else {"dim": None, "value": None}


async def topic_flow(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, SLICED)
        start, end = params.window(request.query_params, default_since=7 * 86400.0, max_days=MAX_DAYS)
        topics = _topics(request)
        merged, where = topics.merged(project), ux_slice(request)
        rows = await to_thread.run_sync(lambda: services(request).store.topic_flow(project, start, end, topic_map=merged, where=where))  # type: ignore[attr-defined]
        labels = {topic_id: info["label"] for topic_id, info in topics.describe(project).items()}
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, **_slice_dict(where), **analytics.flow(rows, labels)})


async def topic_layout(request: Request) -> Response:
    """The current model's topics on a plane (classical MDS of their centroids); volumes come from ``/v1/topics``."""
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, NONE)
        topics = _topics(request)
        version, model = topics.version(project), topics.model(project)
        if model is None:
            result: dict[str, Any] = {"topics": [], "explained": None}
        else:
            current = model.topics
            result = await to_thread.run_sync(
                lambda: topic_map([t.id for t in current], [t.centroid for t in current], topics.describe(project)))
    except HeronError as exc:
        return error_response(exc)
    return json_response({"model_version": version, "min_messages": MIN_MESSAGES, **result})


async def emerging(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, NONE)
        found = _topics(request).emerging_for(project)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"emerging": found})


def _edit(action: Callable[[Request, Topics, str], Any]) -> Callable[[Request], Awaitable[Response]]:
    """A write-key endpoint running ``action(request, topics, project)`` off the event loop."""

    async def endpoint(request: Request) -> Response:
        try:
            project = authenticate(request, "write").project
            topics = _topics(request)
            request.state.body = await read_body(request, limit=SMALL_BODY_BYTES)
            result = await to_thread.run_sync(lambda: action(request, topics, project))
        except HeronError as exc:
            return error_response(exc)
        return json_response(result)

    return endpoint


def _rename(request: Request, topics: Topics, project: str) -> Any:
    body = _decode(request.state.body, RenameIn)
    return topics.rename(project, _path_int(request, "topic_id"), body.label)


def _merge(request: Request, topics: Topics, project: str) -> Any:
    body = _decode(request.state.body, MergeIn)
    return {"topic_id": topics.merge(project, body.ids, body.label)}


def _accept(request: Request, topics: Topics, project: str) -> Any:
    body = _decode(request.state.body, AcceptIn)
    return {"topic_id": topics.accept(project, _path_int(request, "candidate_id"), body.label)}


def _dismiss(request: Request, topics: Topics, project: str) -> Any:
    topics.dismiss(project, _path_int(request, "candidate_id"))
    return {"dismissed": True}


def _refit(request: Request, topics: Topics, project: str) -> Any:
    runner = services(request).enrichment
    assert runner is not None  # _topics checked it
    version = runner.fit(project, force=True)
    return {"model_version": version, "topics": len(topics.describe(project))}


routes = [
    Route("/v1/topics", topic_table, methods=["GET"]),
    Route("/v1/topics/flow", topic_flow, methods=["GET"]),
    Route("/v1/topics/map", topic_layout, methods=["GET"]),
    Route("/v1/topics/emerging", emerging, methods=["GET"]),
    Route("/v1/topics/merge", _edit(_merge), methods=["POST"]),
    Route("/v1/topics/fit", _edit(_refit), methods=["POST"]),
    Route("/v1/topics/emerging/{candidate_id}/accept", _edit(_accept), methods=["POST"]),
    Route("/v1/topics/emerging/{candidate_id}/dismiss", _edit(_dismiss), methods=["POST"]),
    Route("/v1/topics/{topic_id}", _edit(_rename), methods=["POST"]),
]
