"""decode_request: OTLP protobuf and OTLP/JSON bodies, and the errors for bodies it cannot read."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from heron.errors import PayloadError
from heron.schema import limits as L
from heron.schema.otlp import decode_request, spans_to_interactions
from heron.schema.records import Message

T0 = 1_750_000_000_000_000_000
NOW = T0 / 1e9 + 60.0
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def _sdk_request() -> ExportTraceServiceRequest:
    """A request from the real SDK with every field kind: events, links, status, typed attributes."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "service.version": "1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope-name", "0.1")
    first = tracer.start_span("first", start_time=T0)
    first.end(end_time=T0 + 10)
    span = tracer.start_span(
        "chat gpt-4o",
        start_time=T0 + 1_000,
        links=[Link(first.get_span_context(), {"link.kind": "retry"})],
        attributes={
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 2**40,
            "gen_ai.request.temperature": 0.25,
            "gen_ai.request.stream": True,
            "gen_ai.response.finish_reasons": ["stop", "length"],
            "int.list": [1, 2, 3],
        },
    )
    span.add_event("gen_ai.user.message", {"content": "hi"}, timestamp=T0 + 2_000)
    span.set_status(Status(StatusCode.ERROR, "bad"))
    span.end(end_time=T0 + 5_000_000)
    return encode_spans(exporter.get_finished_spans())


def _otlp_json(request: ExportTraceServiceRequest, *, integer_enums: bool = True, hex_ids: bool = True) -> bytes:
    """What an OTLP/JSON exporter sends: json_format's output with ids re-encoded as hex."""
    doc = MessageToDict(request, use_integers_for_enums=integer_enums)
    if hex_ids:
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    for holder in [span, *span.get("links", [])]:
                        for key in ("traceId", "spanId", "parentSpanId"):
                            if key in holder:
                                holder[key] = base64.b64decode(holder[key]).hex()
    return json.dumps(doc).encode()


def test_protobuf_round_trip() -> None:
    request = _sdk_request()
    assert decode_request(request.SerializeToString(), PROTOBUF) == request
    assert decode_request(request.SerializeToString(), "Application/X-Protobuf; charset=binary") == request


@pytest.mark.parametrize("integer_enums", [True, False])
def test_otlp_json_decodes_to_the_same_request_as_protobuf(integer_enums: bool) -> None:
    request = _sdk_request()
    body = _otlp_json(request, integer_enums=integer_enums)
    first_span = json.loads(body)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first_span["traceId"]) == 32 and int(first_span["traceId"], 16)  # hex, not base64
    decoded = decode_request(body, "application/json; charset=utf-8")
    assert decoded == request
    span = decoded.resource_spans[0].scope_spans[0].spans[1]
    assert span.links[0].span_id == request.resource_spans[0].scope_spans[0].spans[0].span_id


def test_base64_ids_from_message_to_json_are_accepted() -> None:
    request = _sdk_request()
    assert decode_request(_otlp_json(request, hex_ids=False), JSON) == request


def test_empty_bodies_are_empty_requests() -> None:
    assert decode_request(b"", PROTOBUF) == ExportTraceServiceRequest()
    assert decode_request(b"{}", JSON) == ExportTraceServiceRequest()
    result = spans_to_interactions(ExportTraceServiceRequest(), project="p", now=NOW)
    assert (result.interactions, result.skipped, result.rejected) == ([], 0, [])


def _kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


HAND_WRITTEN = {
    "resourceSpans": [
        {
            "resource": {"attributes": [_kv("service.name", {"stringValue": "my.service"})]},
            "scopeSpans": [
                {
                    "scope": {"name": "my.library", "version": "1.0.0"},
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "eee19b7ec3c1b173",
                            "name": "chat gemini",
                            "startTimeUnixNano": str(T0),
                            "endTimeUnixNano": T0 + 2_000_000_000,  # a number works too
                            "kind": 3,
                            "attributes": [
                                _kv("gen_ai.operation.name", {"stringValue": "chat"}),
                                _kv("gen_ai.provider.name", {"stringValue": "gcp.gemini"}),
                                _kv("gen_ai.request.model", {"stringValue": "gemini-2.5-flash"}),
                                _kv("gen_ai.usage.input_tokens", {"intValue": "17"}),
                                _kv("gen_ai.usage.output_tokens", {"intValue": 9}),
                                _kv("gen_ai.request.temperature", {"doubleValue": "NaN"}),
                                _kv("gen_ai.request.top_p", {"doubleValue": 1}),
                                _kv(
                                    "gen_ai.response.finish_reasons",
                                    {"arrayValue": {"values": [{"stringValue": "STOP"}]}},
                                ),
                                _kv("raw.bytes", {"bytesValue": base64.b64encode(b"\x00\x01").decode()}),
                                _kv("empty.list", {"arrayValue": {}}),
                                _kv(
                                    "gen_ai.input.messages",  # structured, not a JSON string
                                    {
                                        "arrayValue": {
                                            "values": [
                                                {
                                                    "kvlistValue": {
                                                        "values": [
                                                            _kv("role", {"stringValue": "user"}),
                                                            _kv(
                                                                "parts",
                                                                {
                                                                    "arrayValue": {
                                                                        "values": [
                                                                            {
                                                                                "kvlistValue": {
                                                                                    "values": [
                                                                                        _kv(
                                                                                            "type",
                                                                                            {"stringValue": "text"},
                                                                                        ),
                                                                                        _kv(
                                                                                            "content",
                                                                                            {"stringValue": "Bonjour"},
                                                                                        ),
                                                                                    ]
                                                                                }
                                                                            }
                                                                        ]
                                                                    }
                                                                },
                                                            ),
                                                        ]
                                                    }
                                                }
                                            ]
                                        }
                                    },
                                ),
                            ],
                            "events": [
                                {"timeUnixNano": str(T0 + 300_000_000), "name": "First Token Stream Event"},
                                {
                                    "timeUnixNano": str(T0 + 1_900_000_000),
                                    "name": "gen_ai.choice",
                                    "attributes": [
                                        _kv("finish_reason", {"stringValue": "STOP"}),
                                        _kv(
                                            "message",
                                            {"kvlistValue": {"values": [_kv("content", {"stringValue": "Salut"})]}},
                                        ),
                                    ],
                                },
                            ],
                            "status": {"code": 1},
                            "unknownField": {"ignored": True},
                        }
                    ],
                }
            ],
        }
    ]
}


def test_hand_written_otlp_json_maps_to_an_interaction() -> None:
    request = decode_request(json.dumps(HAND_WRITTEN).encode(), JSON)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.kind == 3 and span.status.code == 1
    attrs = {kv.key: kv.value for kv in span.attributes}
    assert math.isnan(attrs["gen_ai.request.temperature"].double_value)
    assert attrs["gen_ai.request.top_p"].double_value == 1.0
    assert attrs["raw.bytes"].bytes_value == b"\x00\x01"
    assert attrs["empty.list"].WhichOneof("value") == "array_value"
    result = spans_to_interactions(request, project="p", now=NOW)
    assert result.rejected == []
    (item,) = result.interactions
    assert item.id == "eee19b7ec3c1b174"
    assert item.trace_id == "5b8efff798038103d269b633813fc60c"
    assert item.model == "gemini-2.5-flash"
    assert item.provider == "gcp.gemini"
    assert (item.input_tokens, item.output_tokens) == (17, 9)
    assert item.latency_ms == 2000.0
    assert item.ttft_ms == 300.0
    assert item.input == [Message(role="user", content="Bonjour")]
    assert item.output == "Salut"
    assert item.finish_reason == "STOP"
    # the other attributes are kept as tags, in text form
    assert item.tags == {
        "service.name": "my.service",
        "gen_ai.request.temperature": "nan",
        "gen_ai.request.top_p": "1.0",
        "raw.bytes": "0001",
        "empty.list": "[]",
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"{", "body", "invalid JSON: "),
        (b"\xff\xfe", "body", "invalid JSON: "),
        (b"[]", "body", "invalid OTLP/JSON: Expected `object`, got `array`"),
        (b'{"resourceSpans": 5}', "resourceSpans", "invalid OTLP/JSON: Expected `array | null`, got `int`"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            "invalid OTLP/JSON: expected 32 hex digits, got 'xyz'",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano",
            "invalid OTLP/JSON: expected an integer, got 'soon'",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": '
            b'[{"key": "n", "value": {"intValue": "1.5"}}]}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue",
            "invalid OTLP/JSON: 'n': expected an integer, got '1.5'",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"status": {"code": "BROKEN"}}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].status.code",
            "invalid OTLP/JSON: unknown value 'BROKEN'",
        ),
    ],
)
def test_malformed_json_raises_payload_error_naming_the_path(body: bytes, field: str, message: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_request(body, JSON)
    assert info.value.field == field
    assert info.value.message.startswith(message)


@pytest.mark.parametrize("body", [b"\xff\xff\xff", b"not a protobuf", b"\x0a\x05abc"])
def test_malformed_protobuf_raises_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        decode_request(body, PROTOBUF)
    assert info.value.field == "body"
    assert info.value.message.startswith("invalid protobuf: ")


def test_unsupported_content_type() -> None:
    with pytest.raises(PayloadError) as info:
        decode_request(b"{}", "text/plain")
    assert info.value.field == "content-type"
    assert "application/x-protobuf or application/json" in info.value.message


def test_too_many_spans_in_one_request() -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for _ in range(L.MAX_BATCH_ITEMS + 1):
        spans.add()
    with pytest.raises(PayloadError, match=f"at most {L.MAX_BATCH_ITEMS}"):
        decode_request(request.SerializeToString(), PROTOBUF)
