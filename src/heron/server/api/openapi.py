"""The OpenAPI 3.1 document of Heron's HTTP API, built from the same limits and names the code uses."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from heron.schema import limits as L
from heron.schema.records import Feedback, Interaction
from heron.store.base import DIMENSIONS, METRICS

_TIME_PARAMS: list[dict[str, Any]] = [
    {"name": "start", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601, epoch seconds, or a duration ago (24h)."},
    {"name": "end", "in": "query", "schema": {"type": "string"}, "description": "Exclusive; same forms as start."},
    {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "Duration, e.g. 15m, 24h, 7d (instead of start)."},
]
_FILTER_PARAMS: list[dict[str, Any]] = [
    {"name": d, "in": "query", "schema": {"type": "string"}, "description": f"Only rows whose {d} equals this."} for d in DIMENSIONS
] + [
    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 1000}, "description": "Case-insensitive text search in input and output."},
]
_ERROR = {"description": "Error naming the field and the limit", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_INGEST_RESULT = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}},
}


def _ingest(kind: str, schema: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": f"Ingest a batch of {kind}",
            "description": (
                f"At most {L.MAX_BATCH_ITEMS} items and {L.MAX_BODY_BYTES} bytes (also after gzip/deflate decompression). "
                "Good items are stored even when others are rejected. A 2xx means the accepted items are on disk."
            ),
            "security": [{"writeKey": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "required": [kind], "properties": {kind: {"type": "array", "maxItems": L.MAX_BATCH_ITEMS, "items": {"$ref": f"#/components/schemas/{schema}"}}}}}},
            },
            "responses": {
                "200": {"description": "All items accepted", **_INGEST_RESULT},
                "207": {"description": "Some items rejected; the others accepted", **_INGEST_RESULT},
                "400": {"description": "Every item rejected, or the body is malformed", **_INGEST_RESULT},
                "401": _ERROR,
                "403": _ERROR,
                "413": _ERROR,
                "429": {"description": "Too many concurrent requests; see Retry-After"},
                "503": {"description": "Ingest backlog full; see Retry-After"},
            },
        }
    }


def _get(summary: str, parameters: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [{"readKey": []}],
            "parameters": parameters,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}, "400": _ERROR, "401": _ERROR, "403": _ERROR},
        }
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    (interaction, feedback), components = msgspec.json.schema_components([Interaction, Feedback], ref_template="#/components/schemas/{name}")
    del interaction, feedback
    components.update(
        {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
            "IngestResult": {
                "type": "object",
                "properties": {
                    "accepted": {"type": "integer"},
                    "rejected": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "field": {"type": "string"}, "error": {"type": "string"}}}},
                },
            },
        }
    )
    metric_params = _TIME_PARAMS + _FILTER_PARAMS + [
        {"name": "bucket", "in": "query", "schema": {"enum": ["minute", "hour", "day"]}},
        {"name": "group_by", "in": "query", "schema": {"type": "string"}, "description": f"One of {', '.join(DIMENSIONS)} or tag.<key>."},
        {"name": "metrics", "in": "query", "schema": {"type": "string"}, "description": f"Comma-separated subset of {', '.join(METRICS)}."},
    ]
    page = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}}
    series = {"type": "object", "properties": {"bucket": {"type": "string"}, "group_by": {"type": ["string", "null"]}, "series": {"type": "array", "items": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Heron API", "version": "0.1.0", "description": "Ingest LLM interactions and query them."},
        "components": {
            "schemas": components,
            "securitySchemes": {
                "writeKey": {"type": "http", "scheme": "bearer", "description": "A project's write key."},
                "readKey": {"type": "http", "scheme": "bearer", "description": "A project's read key."},
            },
        },
        "paths": {
            "/v1/interactions": {
                **_ingest("interactions", "Interaction"),
                **_get(
                    "List interactions, newest first",
                    _TIME_PARAMS + _FILTER_PARAMS + [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    page,
                ),
            },
            "/v1/feedback": _ingest("feedback", "Feedback"),
            "/v1/traces": {
                "post": {
                    "summary": "OTLP/HTTP traces (protobuf or JSON); gen_ai.* and OpenInference spans become interactions",
                    "security": [{"writeKey": []}],
                    "requestBody": {"content": {"application/x-protobuf": {}, "application/json": {}}},
                    "responses": {"200": {"description": "ExportTraceServiceResponse, with partial_success for rejected spans"}},
                }
            },
            "/v1/interactions/{interaction_id}": _get(
                "One interaction with its feedback",
                [{"name": "interaction_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                {"type": "object"},
            ),
            "/v1/conversations": _get(
                "Search conversations: one row per conversation with a turn in the window matching every filter, newest match first",
                _TIME_PARAMS + [
                    {"name": n, "in": "query", "schema": {"type": "string"}, "description": d} for n, d in (
                        ("model", "Exact model of the matching turn."), ("response_model", "Exact answering model."),
                        ("environment", "Exact deployment environment."), ("app_version", "Exact app version."),
                        ("prompt_version", "Exact prompt version."), ("user", "Exact user id (alias user_id)."),
                        ("topic", "Topic id (merged topics included)."), ("q", "Case-insensitive text in the messages or the reply."),
                        ("sentiment", "negative (< -0.05), neutral or positive (>= 0.05) user message."),
                        ("frustrated", "1: frustration >= 0.5 only."), ("errors", "1: failed calls only."),
                        ("limit", "Rows per page, 1 to 200 (default 50)."), ("cursor", "next_cursor of the previous page."),
                        ("tag.<key>", "Exact value of a tag of the matching turn, e.g. tag.app.team=support (any key)."))
                ],
                {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}},
            ),
            "/v1/conversations/{conversation_id}": _get(
                "One conversation's interactions in order, each with its feedback",
                [{"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                {"type": "object"},
            ),
            "/v1/metrics": _get("Time-bucketed metrics, optionally grouped by a dimension", metric_params, series),
            "/v1/metrics/users": _get("Distinct users per bucket", _TIME_PARAMS + _FILTER_PARAMS + metric_params[-3:-1], series),
            "/v1/tags": _get(
                "The busiest tag keys of the window (calls carrying them), each with its busiest values: the tag.<key> segments",
                _TIME_PARAMS + [
                    {"name": "keys", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}, "description": "Keys returned, most calls first (default 50)."},
                    {"name": "values", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}, "description": "Values per key, most calls first (default 50)."},
                ],
                {"type": "object", "properties": {
                    "start": {"type": "number"}, "end": {"type": "number"},
                    "keys": {"type": "array", "items": {"type": "object", "properties": {
                        "key": {"type": "string"}, "count": {"type": "integer", "description": "Calls carrying the key."},
                        "distinct": {"type": "integer", "description": "Its distinct values (approximate)."},
                        "values": {"type": "array", "items": {"type": "object", "properties": {"value": {"type": "string"}, "count": {"type": "integer"}}}},
                    }}},
                }},
            ),
            "/v1/status": _get(
                "Ingest pipeline state, stored count and what the project's OTLP spans became (otlp)", [], {"type": "object"}
            ),
            "/v1/mapping": {
                **_get("The project's attribute mapping: its own keys, the effective mapping, the defaults", [], {"type": "object"}),
                "put": {
                    "summary": "Replace the project's attribute mapping (write key); stored calls are re-derived in the background",
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                        "mapping": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}}}},
                    "responses": {"200": {"description": "Stored; no stored call changed"},
                                  "202": {"description": "Stored; stored calls are being re-derived"},
                                  "400": {"description": "Invalid mapping; the error names the field"}},
                },
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "OK"}}}},
            **_resource_paths(),
        },
    }


def _resource_paths() -> dict[str, Any]:
    """``/v1/resources`` (ingest and query) and ``/v1/resources/hosts``: see server/resources.py, docs/resources.md."""
    from heron.schema.records import RESOURCE_METRICS, ResourceSample

    _, components = msgspec.json.schema_components([ResourceSample], ref_template="#/components/schemas/{name}")
    sample = components["ResourceSample"]
    sample["description"] = (
        "One reading of a host's resources. Metrics sent by heron agent: "
        + " ".join(f"{name}: {doc}" for name, doc in RESOURCE_METRICS.items())
        + " Other snake_case names are stored too. cpu_percent and gpu_utilization_percent must be 0-100; "
        "other *_percent, *_bytes and *_watts values must be >= 0."
    )
    ingest = _ingest("samples", "ResourceSample")
    body = ingest["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["properties"]["samples"]["items"] = sample
    ingest["post"]["summary"] = "Ingest a batch of host resource samples (heron agent)"
    list_param = {"type": "string"}
    filters = [
        {"name": "metric", "in": "query", "schema": list_param, "description": f"Metric name(s), repeated or comma-separated, e.g. {', '.join(RESOURCE_METRICS)}. Default: all."},
        {"name": "host", "in": "query", "schema": list_param, "description": "Host label(s), repeated or comma-separated."},
        {"name": "service", "in": "query", "schema": list_param, "description": "Service label(s), repeated or comma-separated."},
        {"name": "device", "in": "query", "schema": list_param, "description": "GPU index(es), repeated or comma-separated; host-wide series have no device."},
    ]
    point = {
        "type": "object",
        "properties": {
            "t": {"type": "string", "format": "date-time", "description": "Bucket start (UTC)."},
            "avg": {"type": "number"},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "last": {"type": "number", "description": "The bucket's latest sample."},
            "count": {"type": "integer"},
        },
    }
    series = {
        "type": "object",
        "properties": {
            "bucket": {"type": "string"},
            "start": {"type": "number"},
            "end": {"type": "number"},
            "series": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "host": {"type": "string"},
                        "service": {"type": ["string", "null"]},
                        "metric": {"type": "string"},
                        "device": {"type": ["string", "null"]},
                        "points": {"type": "array", "items": point},
                    },
                },
            },
        },
    }
    hosts = {
        "type": "object",
        "properties": {
            "start": {"type": "number"},
            "end": {"type": "number"},
            "hosts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "host": {"type": "string"},
                        "service": {"type": ["string", "null"]},
                        "metrics": {"type": "array", "items": {"type": "string"}},
                        "devices": {"type": "array", "items": {"type": "string"}},
                        "last_seen": {"type": "string", "format": "date-time"},
                        "samples": {"type": "integer"},
                    },
                },
            },
        },
    }
    bucket = {"name": "bucket", "in": "query", "schema": {"enum": ["minute", "hour", "day"]}, "description": "Default minute; at most 10,000 buckets and 100,000 points per request."}
    return {
        "/v1/resources": {
            **ingest,
            **_get(
                "Host resource series: avg, min, max, last and count per bucket per host, service, metric and device (default: the last hour)",
                _TIME_PARAMS + [bucket] + filters,
                series,
            ),
        },
        "/v1/resources/hosts": _get(
            "Hosts and services that sent samples, with their metrics, GPUs and last sample time (default: the last day)",
            _TIME_PARAMS,
            hosts,
        ),
    }
