"""OTLP trace export requests -> Interactions.

Reads the three attribute families LLM instrumentations emit: the OpenTelemetry
GenAI semantic conventions (``gen_ai.*``, including the older OpenLLMetry forms
``gen_ai.prompt.N.*``/``gen_ai.completion.N.*`` and ``llm.usage.*``), OpenLIT,
and OpenInference (``llm.*``, ``input.value``, ``session.id``...). The full
attribute -> field table is in ``docs/otlp-mapping.md``.

A span is an LLM call when its ``openinference.span.kind`` is ``LLM`` (or
``EMBEDDING``), or, without that attribute, when it has a ``gen_ai.*`` attribute
or event (or ``llm.request.type``) and its ``gen_ai.operation.name`` is not an
agent/tool/framework operation. Other spans are *skipped*, which is not an error.
An LLM span that breaks a limit is *rejected* with a message naming the source
attribute; the other spans of the request are unaffected.

Per span the work is one dict built from the attribute keys (values are read only
when a field needs them), a fixed number of lookups, one ``msgspec.convert`` and
``normalize_interaction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heron.errors import PayloadError, ValidationError
from heron.schema import _otlp_messages as M
from heron.schema import limits as L
from heron.schema._otlp_json import decode_json
from heron.schema._otlp_span import EMBEDDING, attach_sources, map_span, retrieved_sources
from heron.schema.records import Interaction

__all__ = ["OtlpResult", "decode_request", "spans_to_interactions"]

_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_TYPES = frozenset({"application/json"})

_NON_LLM_OPERATIONS = frozenset(
    {
        "execute_tool",
        "create_agent",
        "invoke_agent",
        "invoke_workflow",
        "retrieval",
        # OpenLIT's operation names for spans around, not of, model calls
        "vectordb",
        "framework",
        "agent",
        "execute_task",
        "workflow",
    }
)
_LLM_MARKERS = (
    "gen_ai.request.model",
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.response.model",
    "llm.request.type",
)
# Span kinds, ordered so that ``kind <= _EMBEDDING`` means "map it".
_LLM, _EMBEDDING, _SKIP, _RETRIEVER = 0, EMBEDDING, 2, 3


@dataclass(frozen=True, slots=True)
class OtlpResult:
    """What became of one export request's spans."""

    interactions: list[Interaction]
    """Normalised; in span order."""
    skipped: int
    """Spans that are not LLM calls (HTTP, DB, chain, tool, agent...): not an error."""
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(span index in request order, message naming the attribute and the limit)."""


def decode_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Decode an OTLP/HTTP trace request body (already decompressed).

    ``content_type`` is the request's Content-Type: ``application/x-protobuf`` or
    ``application/json`` (parameters such as ``charset`` are ignored). Raises
    :class:`heron.errors.PayloadError` for an unsupported type, a body that cannot
    be decoded, or more than ``limits.MAX_BATCH_ITEMS`` spans.
    """
    media = content_type.partition(";")[0].strip().lower()
    if media in _PROTOBUF_TYPES:
        try:
            request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(body)
        except (DecodeError, ValueError, RecursionError) as exc:
            raise PayloadError("body", f"invalid protobuf: {exc}") from exc
    elif media in _JSON_TYPES:
        request = decode_json(body)
    else:
        raise PayloadError(
            "content-type", f"unsupported media type {media!r}; send application/x-protobuf or application/json"
        )
    count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if count > L.MAX_BATCH_ITEMS:
        raise PayloadError("resourceSpans", f"{count} spans in one request; at most {L.MAX_BATCH_ITEMS} are accepted")
    return request


def spans_to_interactions(request: ExportTraceServiceRequest, *, project: str, now: float) -> OtlpResult:
    """Map every LLM span of ``request`` to a normalised Interaction; see the module docstring.

    One pass, holding no span's attributes past its own mapping (keeping them all
    alive costs more in garbage collection than the mapping itself). Sources found
    on RETRIEVER spans are attached afterwards to the LLM calls of the same trace
    that name none themselves.
    """
    interactions: list[Interaction] = []
    rejected: list[tuple[int, str]] = []
    sources: dict[str, list[str]] = {}
    skipped = 0
    index = -1
    for resource_spans in request.resource_spans:
        resource = _resource_fields(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                index += 1
                attrs = {kv.key: kv.value for kv in span.attributes}
                kind = _classify(span, attrs)
                if kind <= _EMBEDDING:
                    try:
                        interactions.append(map_span(span, attrs, kind, resource, project, now))
                    except ValidationError as exc:
                        rejected.append((index, str(exc)))
                else:
                    skipped += 1
                    if kind == _RETRIEVER:
                        found = retrieved_sources(attrs)
                        if found:
                            sources.setdefault(span.trace_id.hex(), []).extend(found)
    if sources:
        for item in interactions:
            if not item.rag_sources and item.trace_id in sources:
                attach_sources(item, sources[item.trace_id])
    return OtlpResult(interactions=interactions, skipped=skipped, rejected=rejected)


def _resource_fields(resource: Resource) -> tuple[str | None, str | None]:
    name = version = None
    for kv in resource.attributes:
        if kv.key == "service.name":
            name = M.as_text(M.value(kv.value))
        elif kv.key == "service.version":
            version = M.as_text(M.value(kv.value))
    return name, version


def _classify(span: Span, attrs: M.Attrs) -> int:
    kind_av = attrs.get("openinference.span.kind")
    if kind_av is not None:
        kind = kind_av.string_value.upper()
        if kind == "LLM":
            return _LLM
        if kind == "EMBEDDING":
            return _EMBEDDING
        return _RETRIEVER if kind == "RETRIEVER" else _SKIP
    op = attrs.get("gen_ai.operation.name")
    if op is not None:
        return _SKIP if op.string_value in _NON_LLM_OPERATIONS else _LLM
    if "traceloop.span.kind" in attrs:  # OpenLLMetry workflow/task/agent/tool spans
        return _SKIP
    for key in _LLM_MARKERS:
        if key in attrs:
            return _LLM
    for key in attrs:
        if key.startswith("gen_ai."):
            return _LLM
    for event in span.events:
        if event.name.startswith("gen_ai."):
            return _LLM
    return _SKIP
