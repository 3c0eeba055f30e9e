"""The OpenAPI 3.1 document of Heron's HTTP API, built from the names and limits the handlers use.

Every operation the app serves under ``/v1`` (and ``/healthz``, ``/metrics``,
``/openapi.json``) is listed in :data:`OPERATIONS`; its query parameters are the
handler's own :class:`~heron.server.api.params.Accepted`, its bodies the msgspec types
it decodes with (``_openapi_schemas``). Times are bounded by the server's clock, so the
document is built per request and its ``maximum`` values are the bounds at that moment.
tests/server/test_openapi_conformance.py holds the app to it with schemathesis.
"""

from __future__ import annotations

import re
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.convertors import StringConvertor

from heron.schema import limits as L
from heron.server import resources
from heron.server.api import _openapi_params as P
from heron.server.api import _openapi_responses as R
from heron.server.api import _openapi_schemas as S
from heron.server.api import conversations, costs, drift, mapping, params, routes, tags, topics, ux
from heron.server.ingest.body import SMALL_BODY_BYTES
from heron.store.base import BUCKET_SECONDS, BUCKETS, DIMENSIONS, METRICS, ROLLUP_DIMENSIONS, SENTIMENTS, RetentionQuery

Schema = dict[str, Any]
READ, WRITE, METRICS_TOKEN = "read", "write", "metrics"
SCHEMES = {
    READ: ("readKey", "A project's read key: queries (heron keys create --scope read)."),
    WRITE: ("writeKey", "A project's write key: ingest and edits (heron keys create --scope write)."),
    METRICS_TOKEN: ("metricsToken", "The HERON_METRICS_TOKEN admin token: /metrics of every project."),
}
"""Key kinds: each is sent as ``Authorization: Bearer <key>`` or ``X-Heron-Api-Key: <key>``."""

UX_REFUSED = ("rag_source",)
"""Taken by the UX handlers' ``check_known`` but refused by the store (a call has a list of sources)."""
UX_DIMENSIONS = tuple(d for d in ux.UX_SLICES if d not in UX_REFUSED)


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path: who may call it, what it reads, what it answers."""

    method: str
    path: str
    summary: str
    keys: tuple[str, ...] = ()
    """The key kinds accepted (:data:`SCHEMES`), the first the usual one; none for public endpoints."""
    query: params.Accepted | None = None
    """The handler's accepted query parameters; None where it reads none and ignores the query string."""
    specific: Callable[[float], dict[str, Schema]] = lambda now: {}
    """Schemas of the query parameters whose rules are this endpoint's own."""
    omit: tuple[str, ...] = ()
    """Names ``query`` lets through only for the handler to refuse them with a reason: not documented."""
    body: Callable[[float], Schema] | None = None
    """The requestBody object."""
    responses: Callable[[], dict[str, Schema]] = lambda: {}
    description: str = ""
    path_params: dict[str, Schema] = field(default_factory=dict)


def _window_days(days: int) -> str:
    return f"Windows of at most {days} days (longer: 400 naming start or since)."


def _buckets(choices: tuple[str, ...], default: str) -> Schema:
    return {"enum": list(choices), "default": default,
            "description": f"At most {params.MAX_BUCKETS:,} buckets over the window (more: 400 naming bucket)."}  # fmt: skip


def _metrics_params(now: float, default_bucket: str) -> dict[str, Schema]:
    return {
        "bucket": _buckets(BUCKETS, default_bucket),
        "group_by": P.dimension_or_tag(DIMENSIONS),
        "metrics": {**P.comma_list(METRICS), "description": "Comma-separated subset; default all."},
    }


def _interactions_params(now: float) -> dict[str, Schema]:
    return {"limit": P.integer(1, params.MAX_LIMIT, 50), "cursor": {"type": "string", "description": "next_cursor of the previous page."}}


def _conversation_params(now: float) -> dict[str, Schema]:
    value = P.text(conversations.MAX_VALUE)
    out: dict[str, Schema] = {name: {**value, "description": f"The turn's {column}."} for name, column in conversations.EQUALS}
    out.update({
        "q": {**value, "description": "Case-insensitive text in the turn's input messages or output."},
        "topic": {"anyOf": [{"type": "integer"}, {"const": ""}], "description": "A topic id from /v1/topics (merged topics included)."},
        "sentiment": {"enum": [*SENTIMENTS, ""]},
        "frustrated": {**P.caseless(conversations.TRUE + conversations.FALSE), "description": "1: frustration >= 0.5 only."},
        "errors": {**P.caseless(conversations.TRUE + conversations.FALSE), "description": "1: failed calls only."},
        "limit": P.integer(1, conversations.MAX_LIMIT, 50),
        "cursor": {"type": "string", "description": "next_cursor of the previous page."},
    })  # fmt: skip
    return out


def _ux_params(now: float) -> dict[str, Schema]:
    slices = {d: {"type": "string", "description": "One slice at a time ('' = not set)."} for d in UX_DIMENSIONS}
    return {**slices, "group_by": P.dimension_or_tag(UX_DIMENSIONS), "bucket": _buckets(ux.UX_BUCKETS, "all")}


def _users_params(now: float) -> dict[str, Schema]:
    periods = typing.get_args(typing.get_type_hints(RetentionQuery)["period"])
    return {
        **{d: {"type": "string", "description": "One dimension at a time."} for d in ROLLUP_DIMENSIONS},
        "period": {"enum": list(periods), "default": "day"},
        "offsets": {**P.int_list(ux.MAX_DAYS, ux.MAX_OFFSETS), "description": "Periods after the cohort's first to report."},
    }


def _drift_params(now: float) -> dict[str, Schema]:
    instant = P.query_time(now)
    out: dict[str, Schema] = {
        "current": P.duration("The current window: this long, ending now (default 1d)"),
        "reference": {"type": "string", "pattern": P.DURATION.replace(r"\s*$", r"(-ago)?\s*$"),
                      "description": "7d: that long, right before current (default); 7d-ago: current moved back that long."},
        "sample": P.integer(*drift.SAMPLE_RANGE, drift.SAMPLE_RANGE[1]),
        "embeddings": {**P.caseless(drift.EMBEDDINGS), "default": "1"},
    }  # fmt: skip
    for side in ("reference", "current"):
        out[f"{side}_start"] = instant
        out[f"{side}_end"] = {**instant, "description": f"Needs {side}_start; after it."}
        out.update({f"{side}_{d}": {"type": "string", "description": f"Narrows the {side} side to this {d}."} for d in ROLLUP_DIMENSIONS})
    return out


def _resource_params(now: float) -> dict[str, Schema]:
    def values(item: Schema, what: str) -> Schema:
        return {"type": "array", "items": item, "maxItems": resources.MAX_FILTER_VALUES, "description": f"{what}; repeated or comma-separated."}

    label = {"type": "string", "maxLength": L.MAX_ID_CHARS, "pattern": "^[^,]*$"}
    metric = {"type": "string", "pattern": r"^\s*(" + resources.METRIC.pattern.strip("^$") + r")?\s*$"}
    return {
        "bucket": {"enum": list(BUCKET_SECONDS), "default": "minute",
                   "description": f"At most {params.MAX_BUCKETS:,} buckets and {resources.MAX_POINTS:,} points (more: 400 naming bucket)."},
        "metric": values(metric, "Metric names"), "host": values(label, "Hosts"), "service": values(label, "Services"),
        "device": values(label, "GPU indexes"),
    }  # fmt: skip


def _json(component: str, *, required: bool = True) -> Callable[[float], Schema]:
    """A small JSON body: at most SMALL_BODY_BYTES (413 past it)."""
    text = f"At most {SMALL_BODY_BYTES:,} bytes."
    return lambda now: {"required": required, "description": text, "content": S.json_content(S.ref(component))}


def _batch(kind: str, item: str, *, inline: bool = False) -> Callable[[float], Schema]:
    """``{kind: [item, ...]}``; ``inline`` puts the item's schema in the body instead of a reference."""

    def body(now: float) -> Schema:
        items = S.records(now)[item] if inline else S.ref(item)
        batch = {"type": "object", "required": [kind], "properties": {kind: {"type": "array", "maxItems": L.MAX_BATCH_ITEMS, "items": items}}}
        return {"required": True, "content": S.json_content(batch)}

    return body


def _tags_params(now: float) -> dict[str, Schema]:
    top = P.integer(1, tags.MAX_TOP, tags.DEFAULT_TOP)
    return {"keys": {**top, "description": "Keys returned, most calls first."}, "values": {**top, "description": "Values per key."}}


_INGEST = (
    f"At most {L.MAX_BATCH_ITEMS:,} items and {L.MAX_BODY_BYTES:,} bytes (also after gzip/deflate). Each item is "
    "validated on its own: good items are stored when others are rejected. A 2xx means the accepted items are on disk."
)
_TOPIC_EDIT = "Needs enrichment and a fitted topic model (400 naming enrichment or topics otherwise)."
_PATH_ID: Schema = {"type": "string", "pattern": f"^{StringConvertor.regex}$"}
"""What the route's ``{name}`` matches."""
_PATH_INT: Schema = {"type": "integer"}

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/healthz", "Liveness: 503 while nothing can be stored, 200 degraded while the disk is low", responses=R.healthz),
    Operation("get", "/metrics", "Prometheus exposition: every project with the admin token, one project with its read key",
              keys=(READ, METRICS_TOKEN), responses=R.prometheus,
              description="HERON_METRICS_PUBLIC=1 serves it without a key."),
    Operation("get", "/openapi.json", "This document", responses=R.document),
    Operation("get", "/v1/status", "Ingest pipeline state, stored count, enrichment and monitor state, what OTLP spans became",
              keys=(READ,), query=params.accepted(), responses=R.status),
    Operation("post", "/v1/interactions", "Ingest a batch of interactions", keys=(WRITE,), body=_batch("interactions", "Interaction"),
              responses=R.ingest, description=_INGEST),
    Operation("get", "/v1/interactions", "List interactions, newest first", keys=(READ,), query=routes.INTERACTIONS,
              specific=_interactions_params, responses=R.interactions),
    Operation("get", "/v1/interactions/{interaction_id}", "One interaction with its feedback", keys=(READ,), query=routes.NONE,
              responses=R.interaction, path_params={"interaction_id": _PATH_ID}),
    Operation("post", "/v1/feedback", "Ingest a batch of feedback (thumbs, ratings, labels, evaluator scores)", keys=(WRITE,),
              body=_batch("feedback", "Feedback"), responses=R.ingest, description=_INGEST),
    Operation("post", "/v1/traces", "OTLP/HTTP traces (protobuf or JSON): gen_ai.*, OpenInference and OpenLLMetry spans", keys=(WRITE,),
              body=lambda now: R.otlp_request(), responses=R.traces,
              description=f"At most {L.MAX_BATCH_ITEMS:,} spans and {L.MAX_BODY_BYTES:,} bytes (also after gzip/deflate); answered "
                          "in the request's encoding, rejected spans in partial_success."),
    Operation("get", "/v1/conversations/{conversation_id}", "One conversation's turns in order, each with feedback and signals",
              keys=(READ,), query=routes.NONE, responses=R.conversation, path_params={"conversation_id": _PATH_ID}),
    Operation("get", "/v1/metrics", "Time-bucketed metrics, optionally grouped by a dimension or tag", keys=(READ,), query=routes.METRICS,
              specific=lambda now: _metrics_params(now, "hour"), responses=R.series),
    Operation("get", "/v1/metrics/users", "Distinct users per bucket", keys=(READ,), query=routes.USERS,
              specific=lambda now: _metrics_params(now, "day"), responses=R.series),
    Operation("get", "/v1/conversations", "Search conversations: one row per conversation with a turn in the window matching every "
              "filter, newest match first", keys=(READ,), query=conversations.ACCEPTED, specific=_conversation_params,
              responses=R.conversations),
    Operation("get", "/v1/prices", "The shipped price table and the project's dated overrides", keys=(READ,), query=costs.PRICES,
              responses=R.prices),
    Operation("post", "/v1/prices", "Add a dated price for a model; stored calls from that date on are repriced", keys=(WRITE,),
              body=_json("PriceIn"), responses=R.price_set),
    Operation("get", "/v1/costs/unknown-models", "Models with calls of unknown cost (no price)", keys=(READ,),
              query=costs.UNKNOWN_MODELS, responses=R.unknown_models),
    Operation("get", "/v1/mapping", "The project's attribute mapping, the effective mapping, the defaults, re-derivation progress",
              keys=(READ, WRITE), query=mapping.ACCEPTED, responses=R.mapping),
    Operation("put", "/v1/mapping", "Replace the project's attribute mapping; stored calls are re-derived in the background",
              keys=(WRITE,), body=_json("MappingIn"), responses=R.mapping_set),
    Operation("get", "/v1/tags", "The busiest tag keys of the window, each with its busiest values", keys=(READ,), query=tags.ACCEPTED,
              specific=_tags_params, responses=R.tags),
    Operation("get", "/v1/ux/summary", "User-experience figures per group and bucket, for one slice", keys=(READ,), query=ux.SUMMARY,
              specific=_ux_params, omit=UX_REFUSED, responses=R.ux_summary),
    Operation("get", "/v1/users/active", "Daily, weekly and monthly active users per day", keys=(READ,), query=ux.USERS,
              specific=_users_params, omit=("tag.<key>",), responses=R.users_days, description=_window_days(ux.MAX_DAYS)),
    Operation("get", "/v1/users/retention", "Retention of day or week cohorts", keys=(READ,), query=ux.RETENTION,
              specific=_users_params, omit=("tag.<key>",), responses=R.retention, description=_window_days(ux.MAX_DAYS)),
    Operation("get", "/v1/users/engagement", "Interactions and engaged time per user and day", keys=(READ,), query=ux.USERS,
              specific=_users_params, omit=("tag.<key>",), responses=R.engagement, description=_window_days(ux.MAX_DAYS)),
    Operation("get", "/v1/topics", "The topic table: volume, share, trend and UX figures per topic, for one slice", keys=(READ,),
              query=topics.SLICED, specific=_ux_params, omit=UX_REFUSED, responses=R.topic_table,
              description=_window_days(topics.MAX_DAYS) + " Needs enrichment (400 naming enrichment)."),
    Operation("get", "/v1/topics/flow", "How conversations move between topics, and where sessions end", keys=(READ,),
              query=topics.SLICED, specific=_ux_params, omit=UX_REFUSED, responses=R.topic_flow,
              description=_window_days(topics.MAX_DAYS) + " Needs enrichment (400 naming enrichment)."),
    Operation("get", "/v1/topics/map", "The current model's topics on a plane", keys=(READ,), query=topics.NONE, responses=R.topic_map),
    Operation("get", "/v1/topics/emerging", "Emerging topics the worker reported", keys=(READ,), query=topics.NONE, responses=R.emerging),
    Operation("post", "/v1/topics/merge", "Merge topics", keys=(WRITE,), body=_json("MergeIn"), responses=R.topic_id,
              description=_TOPIC_EDIT),
    Operation("post", "/v1/topics/fit", "Refit the project's topic model now", keys=(WRITE,), responses=R.topic_fit,
              description="Needs enrichment; any body is ignored."),
    Operation("post", "/v1/topics/emerging/{candidate_id}/accept", "Add an emerging topic to the model", keys=(WRITE,),
              body=_json("AcceptIn", required=False), responses=R.topic_id,
              description=_TOPIC_EDIT + " Without a body the reported label is kept.",
              path_params={"candidate_id": _PATH_INT}),
    Operation("post", "/v1/topics/emerging/{candidate_id}/dismiss", "Dismiss an emerging topic", keys=(WRITE,),
              responses=R.dismissed, description=_TOPIC_EDIT + " Any body is ignored.", path_params={"candidate_id": _PATH_INT}),
    Operation("post", "/v1/topics/{topic_id}", "Rename a topic", keys=(WRITE,), body=_json("RenameIn"),
              responses=R.topic_renamed, description=_TOPIC_EDIT, path_params={"topic_id": _PATH_INT}),
    Operation("get", "/v1/drift", "Compare two windows of traffic, feature by feature", keys=(READ,), query=drift.ACCEPTED,
              specific=_drift_params, responses=R.drift,
              description="current or current_start/current_end, reference or reference_start/reference_end, never both forms."),
    Operation("get", "/v1/drift/series", "Stored hourly drift results", keys=(READ,), query=drift.SERIES,
              specific=lambda now: {"feature": {"type": "string", "description": "One feature ('' = all)."}}, responses=R.drift_series),
    Operation("get", "/v1/anomalies", "Anomalies found in the window", keys=(READ,), query=drift.ANOMALIES, responses=R.anomalies),
    Operation("get", "/v1/incidents", "Incidents active in the window: anomalies grouped by segment and time", keys=(READ,),
              query=drift.INCIDENTS, specific=lambda now: {"status": P.caseless(("", *drift.INCIDENT_STATUS))}, responses=R.incidents,
              description="An incident is resolved after 15 minutes without an anomaly; anomalies of the project total "
                          "are folded into the segment (model, prompt version, topic) that explains them."),
    Operation("get", "/v1/backtest", "Replay stored history through the anomaly detector (nothing stored)", keys=(READ,),
              query=drift.BACKTEST, responses=R.backtest,
              specific=lambda now: {"threshold": {"type": "string", "pattern": drift.THRESHOLD.pattern.replace(")\\s*$", ")?\\s*$"),
                                                  "description": "Alarm threshold in scales of a series' noise, 2 to 20 (default 6)."}},
              description=_window_days(drift.BACKTEST_MAX_DAYS) + " The first two days of the window teach the detector; "
                          "the rest is judged as the monitor would have, support floors included."),
    Operation("post", "/v1/resources", "Ingest a batch of host resource samples (heron agent)", keys=(WRITE,),
              body=_batch("samples", "ResourceSample", inline=True), responses=R.ingest, description=_INGEST),
    Operation("get", "/v1/resources", "Host resource series per host, service, metric and device (default: the last hour)",
              keys=(READ,), query=resources.QUERY, specific=_resource_params, responses=R.resource_series),
    Operation("get", "/v1/resources/hosts", "Hosts and services that sent samples (default: the last day)", keys=(READ,),
              query=resources.HOSTS, responses=R.resource_hosts),
)  # fmt: skip


def _security(keys: tuple[str, ...]) -> list[Schema]:
    """Each key kind in either header: ``Authorization: Bearer`` or ``X-Heron-Api-Key``."""
    return [{SCHEMES[kind][0] + form: []} for kind in keys for form in ("", "Header")]


def _operation(op: Operation, now: float) -> Schema:
    out: Schema = {"operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{op.method}{op.path}").strip("_"), "summary": op.summary}
    if op.description:
        out["description"] = op.description
    parameters = [{"name": name, "in": "path", "required": True, "schema": schema} for name, schema in op.path_params.items()]
    if op.query is not None:
        parameters += P.parameters(op.query, op.specific(now), now, omit=op.omit)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = op.body(now)
    out["security"] = _security(op.keys)
    out["responses"] = op.responses()
    return out


def _security_schemes() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for name, text in SCHEMES.values():
        out[name] = {"type": "http", "scheme": "bearer", "description": f"{text} Sent as Authorization: Bearer <key>."}
        out[name + "Header"] = {"type": "apiKey", "in": "header", "name": "X-Heron-Api-Key", "description": f"{text} Sent as X-Heron-Api-Key."}
    return out


def openapi_document(now: float | None = None) -> dict[str, Any]:
    """The document as of ``now`` (default: the clock): its time bounds move with the server's clock."""
    now = time.time() if now is None else now
    schemas: dict[str, Schema] = {**S.records(now), **S.small_bodies(now), "Error": S.ERROR, "IngestResult": S.INGEST_RESULT,
                                  "OtlpStatus": S.OTLP_STATUS, **R.components()}  # fmt: skip
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, now)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Heron API",
            "version": "0.1.0",
            "description": (
                "Ingest LLM interactions and query them. Every request: a request line plus headers over 64 KiB is answered 431 "
                "(the connection is closed); a query parameter an endpoint does not read is refused with 400 naming it."
            ),
        },
        "components": {"schemas": schemas, "securitySchemes": _security_schemes()},
        "paths": paths,
    }
