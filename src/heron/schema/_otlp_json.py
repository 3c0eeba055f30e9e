"""OTLP/JSON -> ``ExportTraceServiceRequest``, written directly rather than through json_format.

OTLP/JSON is proto3 JSON with differences that ``json_format.Parse`` gets wrong
or does slowly: ``traceId``/``spanId``/``parentSpanId`` are hex strings (not
base64), enums are integers (names are accepted too), and 64-bit integers may be
strings or numbers. Keys are lowerCamelCase, as the specification requires;
unknown keys are ignored. Ids that are not hex but are base64 of the right length
(what ``MessageToJson`` writes) are accepted as well.

The body is decoded by msgspec into the typed, GC-free structs below (fast, and
type errors come with a JSON path), then copied into the protobuf message.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from heron.errors import PayloadError
from heron.schema import limits as L

_SPAN_KINDS: dict[str, int] = dict(Span.SpanKind.items())
_STATUS_CODES: dict[str, int] = dict(Status.StatusCode.items())
_DOUBLE_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

Int64 = int | str | None
"""proto3 JSON writes 64-bit integers as strings; numbers are accepted too."""


class _Base(msgspec.Struct, rename="camel", gc=False, omit_defaults=True):
    pass


class JAnyValue(_Base):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: Int64 = None
    double_value: float | str | None = None
    array_value: JArrayValue | None = None
    kvlist_value: JKvList | None = None
    bytes_value: str | None = None


class JKeyValue(_Base):
    key: str = ""
    value: JAnyValue | None = None


class JArrayValue(_Base):
    values: list[JAnyValue] | None = None


class JKvList(_Base):
    values: list[JKeyValue] | None = None


class JEvent(_Base):
    time_unix_nano: Int64 = None
    name: str | None = None
    attributes: list[JKeyValue] | None = None
    dropped_attributes_count: int | None = None


class JLink(_Base):
    trace_id: str | None = None
    span_id: str | None = None
    trace_state: str | None = None
    attributes: list[JKeyValue] | None = None
    dropped_attributes_count: int | None = None
    flags: int | None = None


class JStatus(_Base):
    message: str | None = None
    code: int | str | None = None


class JSpan(_Base):
    trace_id: str | None = None
    span_id: str | None = None
    trace_state: str | None = None
    parent_span_id: str | None = None
    flags: int | None = None
    name: str | None = None
    kind: int | str | None = None
    start_time_unix_nano: Int64 = None
    end_time_unix_nano: Int64 = None
    attributes: list[JKeyValue] | None = None
    dropped_attributes_count: int | None = None
    events: list[JEvent] | None = None
    dropped_events_count: int | None = None
    links: list[JLink] | None = None
    dropped_links_count: int | None = None
    status: JStatus | None = None


class JScope(_Base):
    name: str | None = None
    version: str | None = None
    attributes: list[JKeyValue] | None = None
    dropped_attributes_count: int | None = None


class JScopeSpans(_Base):
    scope: JScope | None = None
    spans: list[JSpan] | None = None
    schema_url: str | None = None


class JResource(_Base):
    attributes: list[JKeyValue] | None = None
    dropped_attributes_count: int | None = None


class JResourceSpans(_Base):
    resource: JResource | None = None
    scope_spans: list[JScopeSpans] | None = None
    schema_url: str | None = None


class JRequest(_Base):
    resource_spans: list[JResourceSpans] | None = None


_decoder = msgspec.json.Decoder(JRequest)


class _Bad(Exception):
    """A value is wrong; ``where`` is its JSON path below the object being copied."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest``; raise PayloadError naming the JSON path."""
    try:
        doc = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `")
        field = where.rstrip("`").removeprefix("$.") if message else "body"
        raise PayloadError(field or "body", f"invalid OTLP/JSON: {message or exc}") from exc
    except msgspec.DecodeError as exc:
        raise PayloadError("body", f"invalid JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("body", f"invalid OTLP/JSON: nested too deeply to parse; values may nest at most {L.MAX_NESTING} levels") from None
    request = ExportTraceServiceRequest()
    where = "body"
    try:
        for i, rs in enumerate(doc.resource_spans or ()):
            where = f"resourceSpans[{i}]"
            out = request.resource_spans.add()
            if rs.resource is not None:
                _attributes(out.resource.attributes, rs.resource.attributes)
                out.resource.dropped_attributes_count = rs.resource.dropped_attributes_count or 0
            out.schema_url = rs.schema_url or ""
            for j, ss in enumerate(rs.scope_spans or ()):
                where = f"resourceSpans[{i}].scopeSpans[{j}]"
                out_ss = out.scope_spans.add()
                if ss.scope is not None:
                    scope = out_ss.scope
                    scope.name = ss.scope.name or ""
                    scope.version = ss.scope.version or ""
                    _attributes(scope.attributes, ss.scope.attributes)
                    scope.dropped_attributes_count = ss.scope.dropped_attributes_count or 0
                out_ss.schema_url = ss.schema_url or ""
                spans = out_ss.spans
                for k, span in enumerate(ss.spans or ()):
                    where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                    _span(spans.add(), span)
    except _Bad as exc:
        raise PayloadError(where + exc.where, f"invalid OTLP/JSON: {exc.message}") from None
    except (TypeError, ValueError) as exc:  # a value the protobuf field refuses (e.g. out of range)
        raise PayloadError(where, f"invalid OTLP/JSON: {exc}") from None
    except RecursionError:
        raise PayloadError(where, f"invalid OTLP/JSON: values may nest at most {L.MAX_NESTING} levels") from None
    return request


def _span(out: Span, span: JSpan) -> None:
    if span.trace_id:
        out.trace_id = _id(span.trace_id, ".traceId", 16)
    if span.span_id:
        out.span_id = _id(span.span_id, ".spanId", 8)
    if span.parent_span_id:
        out.parent_span_id = _id(span.parent_span_id, ".parentSpanId", 8)
    if span.trace_state:
        out.trace_state = span.trace_state
    if span.flags:
        out.flags = span.flags
    if span.name:
        out.name = span.name
    if span.kind is not None:
        out.kind = _enum(span.kind, ".kind", _SPAN_KINDS)  # type: ignore[assignment]
    out.start_time_unix_nano = _uint64(span.start_time_unix_nano, ".startTimeUnixNano")
    out.end_time_unix_nano = _uint64(span.end_time_unix_nano, ".endTimeUnixNano")
    if span.attributes:
        _attributes(out.attributes, span.attributes)
    if span.dropped_attributes_count:
        out.dropped_attributes_count = span.dropped_attributes_count
    if span.events:
        events = out.events
        for n, event in enumerate(span.events):
            ev = events.add()
            ev.time_unix_nano = _uint64(event.time_unix_nano, f".events[{n}].timeUnixNano")
            ev.name = event.name or ""
            if event.attributes:
                try:
                    _attributes(ev.attributes, event.attributes)
                except _Bad as exc:
                    raise _Bad(f".events[{n}]{exc.where}", exc.message) from None
            ev.dropped_attributes_count = event.dropped_attributes_count or 0
    if span.dropped_events_count:
        out.dropped_events_count = span.dropped_events_count
    if span.links:
        for n, link in enumerate(span.links):
            lk = out.links.add()
            lk.trace_id = _id(link.trace_id, f".links[{n}].traceId", 16)
            lk.span_id = _id(link.span_id, f".links[{n}].spanId", 8)
            lk.trace_state = link.trace_state or ""
            if link.attributes:
                try:
                    _attributes(lk.attributes, link.attributes)
                except _Bad as exc:
                    raise _Bad(f".links[{n}]{exc.where}", exc.message) from None
            lk.dropped_attributes_count = link.dropped_attributes_count or 0
            lk.flags = link.flags or 0
    if span.dropped_links_count:
        out.dropped_links_count = span.dropped_links_count
    if span.status is not None:
        out.status.message = span.status.message or ""
        if span.status.code is not None:
            out.status.code = _enum(span.status.code, ".status.code", _STATUS_CODES)  # type: ignore[assignment]


def _attributes(out: Any, items: list[JKeyValue] | None) -> None:
    for n, item in enumerate(items or ()):
        kv = out.add()
        kv.key = item.key
        value = item.value
        if value is None:
            continue
        if value.string_value is not None:  # the common case first
            kv.value.string_value = value.string_value
            continue
        try:
            _any_value(kv.value, value, 0)
        except _Bad as exc:
            raise _Bad(f".attributes[{n}].value{exc.where}", f"{item.key!r}: {exc.message}") from None


def _any_value(out: AnyValue, value: JAnyValue, depth: int) -> None:
    """Copy ``value``, itself nested ``depth`` arrays/kvlists deep (at most ``MAX_NESTING``)."""
    if value.string_value is not None:
        out.string_value = value.string_value
    elif value.int_value is not None:
        out.int_value = _int64(value.int_value, ".intValue")
    elif value.double_value is not None:
        out.double_value = _double(value.double_value)
    elif value.bool_value is not None:
        out.bool_value = value.bool_value
    elif depth >= L.MAX_NESTING and (value.array_value is not None or value.kvlist_value is not None):
        raise _Bad("", f"arrayValue/kvlistValue nested more than {L.MAX_NESTING} levels deep")
    elif value.array_value is not None:
        array = out.array_value
        array.SetInParent()
        for n, item in enumerate(value.array_value.values or ()):
            try:
                _any_value(array.values.add(), item, depth + 1)
            except _Bad as exc:
                raise _Bad(f".arrayValue.values[{n}]{exc.where}", exc.message) from None
    elif value.kvlist_value is not None:
        kvlist = out.kvlist_value
        kvlist.SetInParent()
        for n, kv in enumerate(value.kvlist_value.values or ()):
            entry = kvlist.values.add()
            entry.key = kv.key
            if kv.value is not None:
                try:
                    _any_value(entry.value, kv.value, depth + 1)
                except _Bad as exc:
                    raise _Bad(f".kvlistValue.values[{n}]{exc.where}", exc.message) from None
    elif value.bytes_value is not None:
        out.bytes_value = _base64(value.bytes_value)


def _int64(value: int | str, where: str) -> int:
    number = _to_int(value, where)
    if not -(1 << 63) <= number < 1 << 63:
        raise _Bad(where, f"{number} is out of the int64 range")
    return number


def _uint64(value: int | str | None, where: str) -> int:
    if value is None:
        return 0
    number = _to_int(value, where)
    if not 0 <= number < 1 << 64:
        raise _Bad(where, f"{number} is out of the uint64 range")
    return number


def _to_int(value: int | str, where: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise _Bad(where, f"expected an integer, got {value[:40]!r}") from None


def _double(value: float | str) -> float:
    if isinstance(value, float):
        return value
    word = _DOUBLE_WORDS.get(value)
    if word is not None:
        return word
    try:
        return float(value)
    except ValueError:
        raise _Bad(".doubleValue", f"expected a number, got {value[:40]!r}") from None


def _enum(value: int | str, where: str, names: dict[str, int]) -> int:
    if isinstance(value, int):
        return value
    number = names.get(value)
    if number is None:
        raise _Bad(where, f"unknown value {value[:40]!r}; valid: {', '.join(names)}")
    return number


def _id(value: str | None, where: str, size: int) -> bytes:
    if not value:
        return b""
    try:
        return bytes.fromhex(value)
    except ValueError:
        pass
    try:  # what json_format.MessageToJson writes: base64 of the raw bytes
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw
    raise _Bad(where, f"expected {size * 2} hex digits, got {value[:40]!r}")


def _base64(value: str) -> bytes:
    padded = value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(".bytesValue", "invalid base64") from None
