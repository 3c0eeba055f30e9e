"""Component schemas of the OpenAPI document: request bodies and the shapes answers share.

Request bodies start from the msgspec definitions the server decodes with (so
types, ``maxLength``, ``maxItems`` and ranges cannot drift) and add what the server
checks after decoding (``heron.schema.normalize``, ``server/resources.py``,
``server/topics.py``): non-empty ids, the time window, the value ranges of
resource metrics. Cross-field rules JSON Schema cannot state are in descriptions.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import msgspec

from heron.schema import limits as L
from heron.schema.mapping import MAPPED_DIMENSIONS, MAX_SOURCES
from heron.schema.records import RESOURCE_METRICS, Feedback, Interaction, ResourceSample
from heron.server import resources
from heron.server.api import topics
from heron.server.api.costs import PRICE_AHEAD, PriceIn

Schema = dict[str, Any]
REF = "#/components/schemas/{name}"
FROM_2000 = r"^[2-9][0-9]{3}-"
"""An RFC 3339 time in year 2000 or later."""


def ref(name: str) -> Schema:
    return {"$ref": REF.format(name=name)}


def body_time(now: float, ahead: float, *, nullable: bool = False) -> Schema:
    """An ingested time: RFC 3339 or epoch seconds, from 2000-01-01 to ``ahead`` seconds past the server's clock
    (``maximum`` is that bound when the document was served)."""
    choices: list[Schema] = [
        {"type": "string", "format": "date-time", "pattern": FROM_2000},
        {"type": "number", "minimum": L.MIN_TIMESTAMP, "maximum": math.floor(now + ahead)},
    ]
    if nullable:
        choices.append({"type": "null"})
    bound = f"{ahead:.0f} s" if ahead < 86400 else f"{ahead / 86400:,.0f} days"
    return {"anyOf": choices, "description": f"RFC 3339 (naive means UTC) or epoch seconds; from 2000-01-01T00:00:00Z "
                                               f"to {bound} past the server's clock."}  # fmt: skip


def _non_empty(schema: Schema) -> None:
    schema["minLength"] = 1


def _server_set(schema: Schema, why: str) -> None:
    schema["readOnly"] = True
    schema["description"] = why


def records(now: float) -> dict[str, Schema]:
    """Interaction, Message, Feedback and ResourceSample as the server validates them."""
    _, components = msgspec.json.schema_components([Interaction, Feedback, ResourceSample], ref_template=REF)
    components = copy.deepcopy(components)
    ahead = L.MAX_FUTURE_SECONDS

    interaction = components["Interaction"]["properties"]
    _non_empty(interaction["model"])
    interaction["start_time"] = body_time(now, ahead)
    interaction["end_time"] = {**body_time(now, ahead, nullable=True), "description": "Not before start_time."}
    interaction["ttft_ms"]["description"] = "At most latency_ms (+1 ms of rounding)."
    interaction["retry_of"]["description"] = "The id of the interaction this one retries; not its own id."
    interaction["tags"]["description"] = (
        f"Tags that fill an empty dimension through the attribute mapping must fit it: at most {L.MAX_ID_CHARS} characters."
    )
    _server_set(interaction["project"], "Set from the API key; a value naming another project rejects the item.")
    _server_set(interaction["cost_usd"], "Computed by the server from its price table; a value sent is replaced.")

    feedback = components["Feedback"]
    props = feedback["properties"]
    _non_empty(props["interaction_id"])
    props["time"] = {**body_time(now, ahead, nullable=True), "description": "Defaults to the server's receive time."}
    _server_set(props["project"], "Set from the API key; a value naming another project rejects the item.")
    signals = ("thumbs", "rating", "comment", "label", "score")
    feedback["anyOf"] = [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in signals]
    feedback["description"] += f" Needs at least one of {', '.join(signals)}."

    sample = components["ResourceSample"]
    sample["description"] = "One reading of a host's resources. Metrics heron agent sends: " + " ".join(
        f"{name}: {doc}" for name, doc in RESOURCE_METRICS.items()
    ) + " Other snake_case names are stored too."
    props = sample["properties"]
    _non_empty(props["host"])
    props["time"] = body_time(now, ahead)
    _server_set(props["project"], "Set from the API key; a value naming another project rejects the item.")
    rules = [{"if": {"properties": {"metric": {"const": metric}}},
              "then": {"properties": {"value": {"minimum": low, "maximum": high}}}} for metric, (low, high) in resources.BOUNDS.items()]  # fmt: skip
    suffixes = "|".join(suffix.lstrip("_") for suffix in resources.NON_NEGATIVE)
    rules.append({"if": {"properties": {"metric": {"pattern": f"_({suffixes})$"}}}, "then": {"properties": {"value": {"minimum": 0}}}})
    sample["allOf"] = rules
    return components


def small_bodies(now: float) -> dict[str, Schema]:
    """The bodies of ``POST /v1/prices``, ``PUT /v1/mapping`` and the topic edits."""
    (_, _, _, _), components = msgspec.json.schema_components(
        [PriceIn, topics.RenameIn, topics.MergeIn, topics.AcceptIn], ref_template=REF
    )
    components = copy.deepcopy(components)
    components["PriceIn"]["properties"]["effective_from"] = body_time(now, PRICE_AHEAD + L.MAX_FUTURE_SECONDS)
    blank_free = r"\S"  # the label is stripped, and must not be blank
    for name in ("RenameIn", "MergeIn", "AcceptIn"):
        components[name]["additionalProperties"] = False
        label = components[name]["properties"]["label"]
        for choice in label.get("anyOf", [label]):
            if choice.get("type") == "string":
                choice["pattern"] = blank_free
    components["MergeIn"]["properties"]["ids"]["description"] = "Topic ids of the current model; at least two different ones."
    keys: Schema = {"type": "string", "minLength": 1, "maxLength": L.MAX_ID_CHARS}
    components["MappingIn"] = {
        "type": "object",
        "required": ["mapping"],
        "properties": {"mapping": {
            "type": "object",
            "additionalProperties": False,
            "properties": {dim: {"anyOf": [keys, {"type": "array", "items": keys, "maxItems": MAX_SOURCES}]} for dim in MAPPED_DIMENSIONS},
            "description": "Per dimension, the tag keys to read (before the defaults), first present wins.",
        }},
    }  # fmt: skip
    return components


ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string", "description": "The parameter, field or header at fault."}},
}
INGEST_RESULT: Schema = {
    "type": "object",
    "required": ["accepted", "rejected"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0},
        "rejected": {"type": "array", "items": {
            "type": "object", "required": ["index", "field", "error"],
            "properties": {"index": {"type": "integer", "minimum": 0}, "field": {"type": "string"}, "error": {"type": "string"}},
        }},
    },
}  # fmt: skip
OTLP_STATUS: Schema = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "description": "A google.rpc.Status as JSON (the protobuf Status for protobuf requests).",
}


def json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}
