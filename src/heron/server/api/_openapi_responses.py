"""Responses of the OpenAPI document: each operation's status codes, headers and bodies.

Status codes are the ones :func:`heron.server.responses.error_response` maps Heron's
errors to; 429, 503 and 507 always carry ``Retry-After``, 408 and 413 close the
connection. Bodies name the keys every answer has; rows may carry more.
"""

from __future__ import annotations

from typing import Any

from heron.server.api._openapi_schemas import ERROR, json_content, ref

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
ROWS: Schema = {"type": "array", "items": {"type": "object"}}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


_WINDOW = {"start": NUM, "end": NUM}
_SLICE = {"dim": nullable(STR), "value": nullable(STR)}
RETRY_AFTER: Schema = {"required": True, "schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying."}
_CLOSE: Schema = {"schema": {"type": "string", "enum": ["close"]}, "description": "The rest of the body is not read."}
_PROTOBUF: Schema = {"schema": {"type": "string", "contentMediaType": "application/x-protobuf"}}


def error(description: str, *, headers: Schema | None = None, media: Schema | None = None) -> Schema:
    out: Schema = {"description": description, "content": media or json_content(ref("Error"))}
    if headers:
        out["headers"] = headers
    return out


def errors(codes: str, media: Schema | None = None) -> dict[str, Schema]:
    """The error responses named in ``codes`` ("400 401 ..."), each with its meaning and headers."""
    retry = {"Retry-After": RETRY_AFTER}
    table = {
        "400": ("Invalid request: the error names the parameter, field or header and the limit", None),
        "401": ("Missing or unknown API key", {"WWW-Authenticate": {"schema": STR}}),
        "403": ("A key of the other kind (a write key where a read key is needed, or the reverse)", None),
        "404": ("Not found", None),
        "408": ("The body arrived too slowly", {"Connection": _CLOSE}),
        "413": ("The body, or its decompressed form, exceeds the limit", {"Connection": _CLOSE}),
        "429": ("Too many ingest requests or request bodies in flight", retry),
        "503": ("The ingest backlog is full or storage is failing", retry),
        "507": ("The data directory is low on free space: nothing is accepted until space is freed", retry),
    }
    return {code: error(table[code][0], headers=table[code][1], media=media) for code in codes.split()}


def ok(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": json_content(schema)}


def read(schema: Schema, extra: str = "") -> dict[str, Schema]:
    """A read endpoint's answers: 200 with ``schema``, 400 for a bad parameter, 401/403 for the key."""
    return {"200": ok(schema), **errors(f"400 401 403 {extra}")}


def edit(schema: Schema, status: str = "200") -> dict[str, Schema]:
    """A write-key endpoint with a small JSON body."""
    return {status: ok(schema), **errors("400 401 403 408 413 429")}


def components() -> dict[str, Schema]:
    """Shapes shared by several answers."""
    price = obj({"input": NUM, "output": NUM, "cached": nullable(NUM), "reasoning": nullable(NUM)})
    stored = obj(
        {"id": STR, "model": STR, "start_time": TIME, "status": {"enum": ["ok", "error"]}, "tags": {"type": "object"},
         "input": ROWS, "rag_sources": array(STR)},
        {"end_time": nullable(TIME), "latency_ms": nullable(NUM), "cost_usd": nullable(NUM), "ingested_at": TIME},
    )  # fmt: skip
    window = obj({**_WINDOW, "filters": {"type": "object", "additionalProperties": STR}})
    mapping = {"type": "object", "additionalProperties": array(STR)}
    return {
        "Price": price,
        "StoredInteraction": stored,
        "DriftWindow": window,
        "Mapping": obj({"project": STR, "mapping": mapping, "effective": mapping, "defaults": mapping, "rederive": obj(
            {"running": BOOL, "next_day": nullable(STR), "days_done": INT, "days_total": nullable(INT), "error": nullable(STR)})}),
    }  # fmt: skip


# -- per operation ---------------------------------------------------------------------------


def healthz() -> dict[str, Schema]:
    return {
        "200": ok(obj({"status": {"enum": ["ok", "degraded"]}, "uptime_s": NUM}, {"reason": STR}), "Serving; degraded: ingest refused (disk low)"),
        "503": {"description": "Nothing can be stored: restart or page", "headers": {"Retry-After": RETRY_AFTER},
                "content": json_content(obj({"status": {"const": "unhealthy"}, "reason": STR, "uptime_s": NUM}))},
    }  # fmt: skip


def prometheus() -> dict[str, Schema]:
    text = {"text/plain": {"schema": STR}}
    return {"200": {"description": "Prometheus text exposition format 0.0.4", "content": text}, **errors("401 403")}


def document() -> dict[str, Schema]:
    return {"200": ok(obj({"openapi": STR, "info": {"type": "object"}, "paths": {"type": "object"}}))}


def status() -> dict[str, Schema]:
    part = {"type": "object"}
    return read(obj({"project": STR, "stored_interactions": INT, "ingest": part, "enrichment": nullable(part),
                     "monitor": nullable(part), "otlp": part, "uptime_s": NUM}))  # fmt: skip


def ingest() -> dict[str, Schema]:
    result = ref("IngestResult")
    return {
        "200": ok(result, "Every item accepted (and on disk)"),
        "207": ok(result, "Some items rejected, the others accepted (and on disk)"),
        "400": {"description": "Every item rejected (IngestResult), or the body is unreadable (Error, naming the field)",
                "content": json_content({"anyOf": [result, ERROR]})},
        **errors("401 403 408 413 429 503 507"),
    }  # fmt: skip


def otlp_request() -> Schema:
    spans = obj({}, {"resourceSpans": nullable(ROWS)})
    # no body is an empty ExportTraceServiceRequest (protobuf, the default Content-Type): nothing to store, 200
    return {"required": False, "content": {"application/x-protobuf": _PROTOBUF, "application/json": {"schema": spans}}}


def traces() -> dict[str, Schema]:
    success = obj({}, {"partialSuccess": obj({}, {"rejectedSpans": STR, "errorMessage": STR})})
    media = {"application/json": {"schema": ref("OtlpStatus")}, "application/x-protobuf": _PROTOBUF}
    return {
        "200": {"description": "ExportTraceServiceResponse in the request's encoding; rejected spans in partial_success",
                "content": {"application/x-protobuf": _PROTOBUF, "application/json": {"schema": success}}},
        **errors("400 401 403 408 413 429 503 507", media),
    }  # fmt: skip


def interactions() -> dict[str, Schema]:
    return read(obj({"items": array(ref("StoredInteraction")), "next_cursor": nullable(STR)}))


def interaction() -> dict[str, Schema]:
    return read({"allOf": [ref("StoredInteraction"), obj({"feedback": ROWS})]}, "404")


def conversation() -> dict[str, Schema]:
    turn = {"allOf": [ref("StoredInteraction"), obj({"feedback": ROWS, "signals": nullable({"type": "object"}),
                                                     "satisfaction": nullable(NUM),
                                                     "satisfaction_source": {"enum": ["explicit", "implicit", None]}})]}  # fmt: skip
    return read(obj({"conversation_id": STR, "interactions": array(turn)}), "404")


def series() -> dict[str, Schema]:
    row = obj({"t": TIME, "group": nullable(STR)})
    return read(obj({"bucket": STR, "group_by": nullable(STR), **_WINDOW, "series": array(row)}))


def conversations() -> dict[str, Schema]:
    row = obj({"conversation_id": STR, "last_match": TIME, "turns": INT, "topics": array(obj({"id": INT, "label": STR}))})
    return read(obj({**_WINDOW, "items": array(row), "next_cursor": nullable(STR)}))


def prices() -> dict[str, Schema]:
    override = {"allOf": [ref("Price"), obj({"model": STR, "effective_from": NUM})]}
    table = obj({"version": STR, "unit": STR, "shipped": {"type": "object", "additionalProperties": ref("Price")}, "overrides": array(override)})
    return read(table)


def price_set() -> dict[str, Schema]:
    return edit({"allOf": [ref("Price"), obj({"model": STR, "effective_from": NUM, "repriced": INT})]}, "201")


def unknown_models() -> dict[str, Schema]:
    return read(obj({**_WINDOW, "models": ROWS}))


def mapping() -> dict[str, Schema]:
    return read(ref("Mapping"))


def mapping_set() -> dict[str, Schema]:
    changed = {"allOf": [ref("Mapping"), obj({"changed_calls": INT})]}
    return {"200": ok(changed, "Stored; no stored call changed"), **edit(changed, "202")}


def tags() -> dict[str, Schema]:
    value = obj({"value": STR, "count": INT})
    key = obj({"key": STR, "count": INT, "distinct": INT, "values": array(value)})
    return read(obj({**_WINDOW, "keys": array(key)}))


def ux_summary() -> dict[str, Schema]:
    return read(obj({**_WINDOW, "group_by": nullable(STR), "bucket": STR, **_SLICE, "series": ROWS}))


def users_days() -> dict[str, Schema]:
    return read(obj({**_WINDOW, **_SLICE, "days": array(obj({"day": {"type": "string", "format": "date"}}))}))


def retention() -> dict[str, Schema]:
    return read(obj({**_WINDOW, **_SLICE, "period": STR, "offsets": array(INT), "cohorts": ROWS, "overall": {"type": "object"}}))


def engagement() -> dict[str, Schema]:
    return read(obj({**_WINDOW, **_SLICE, "days": ROWS, "active_days": ROWS, "summary": {"type": "object"}}))


def topic_table() -> dict[str, Schema]:
    row = obj({"topic_id": INT, "label": STR, "interactions": INT, "share": NUM})
    return read(obj({**_WINDOW, **_SLICE, "model_version": nullable(INT), "topics": array(row), "unassigned": INT}))


def topic_flow() -> dict[str, Schema]:
    return read(obj({**_WINDOW, **_SLICE, "nodes": ROWS, "links": ROWS, "endings": ROWS, "top_transitions": ROWS}))


def topic_map() -> dict[str, Schema]:
    return read(obj({"model_version": nullable(INT), "min_messages": INT, "topics": ROWS}, {"explained": {}}))


def emerging() -> dict[str, Schema]:
    return read(obj({"emerging": ROWS}))


def topic_id() -> dict[str, Schema]:
    return edit(obj({"topic_id": INT}))


def topic_fit() -> dict[str, Schema]:
    return edit(obj({"model_version": nullable(INT), "topics": INT}))


def dismissed() -> dict[str, Schema]:
    return edit(obj({"dismissed": {"const": True}}))


def topic_renamed() -> dict[str, Schema]:
    return edit(obj({"label": STR, "keywords": array(STR)}))


def drift() -> dict[str, Schema]:
    feature = obj({"feature": STR, "kind": STR, "test": STR, "drifted": BOOL, "n_reference": INT, "n_current": INT},
                  {"statistic": nullable(NUM), "p_value": nullable(NUM), "score": nullable(NUM), "reason": nullable(STR)})  # fmt: skip
    return read(obj({"reference": ref("DriftWindow"), "current": ref("DriftWindow"), "drifted": BOOL, "share_drifted": nullable(NUM),
                     "score": nullable(NUM), "drifted_features": array(STR), "features": array(feature)}))  # fmt: skip


def drift_series() -> dict[str, Schema]:
    return read(obj({**_WINDOW, "results": ROWS}))


def anomalies() -> dict[str, Schema]:
    return read(obj({**_WINDOW, "anomalies": ROWS}))


def incidents() -> dict[str, Schema]:
    segment = obj({"dim": STR, "value": STR})
    peak = obj({"t": NUM, "metric": STR}, {"observed": nullable(NUM), "expected": nullable(NUM), "score": nullable(NUM), "kind": nullable(STR)})
    incident = obj({
        "id": STR, "status": {"type": "string", "enum": ["open", "resolved"]}, "severity": {"type": "string", "enum": ["warning", "critical"]},
        "segment": segment, "metrics": array(STR), "kinds": array(STR), "opened": NUM, "last_seen": NUM,
        "resolved_at": nullable(NUM), "duration_s": NUM, "peak": peak, "evidence": INT, "also": ROWS, "title": STR,
    })  # fmt: skip
    counts = obj({"open": INT, "resolved": INT})
    return read(obj({**_WINDOW, "counts": counts, "incidents": array(incident), "truncated": BOOL}))


def backtest() -> dict[str, Schema]:
    stream = {"description": "NDJSON: one {\"done\", \"total\"} line per day replayed, then {start, end, threshold, "
                             "learning_s, anomalies, incidents} (incidents as in /v1/incidents)",
              "content": {"application/x-ndjson": {"schema": STR}}}  # fmt: skip
    return {"200": stream, **errors("400 401 403")}


def resource_series() -> dict[str, Schema]:
    point = obj({"t": TIME, "avg": NUM, "min": NUM, "max": NUM, "last": NUM, "count": INT})
    one = obj({"host": STR, "service": nullable(STR), "metric": STR, "device": nullable(STR), "points": array(point)})
    return read(obj({"bucket": STR, **_WINDOW, "series": array(one)}))


def resource_hosts() -> dict[str, Schema]:
    host = obj({"host": STR, "service": nullable(STR), "metrics": array(STR), "devices": array(STR), "last_seen": TIME, "samples": INT})
    return read(obj({**_WINDOW, "hosts": array(host)}))
