"""OTLP trace export requests -> Interactions.

Reads the three attribute families LLM instrumentations emit: the OpenTelemetry
GenAI semantic conventions (``gen_ai.*``, including the older OpenLLMetry forms
``gen_ai.prompt.N.*``/``gen_ai.completion.N.*`` and ``llm.usage.*``), OpenLIT,
and OpenInference (``llm.*``, ``input.value``, ``session.id``...). The full
attribute -> field table is in ``docs/otlp-mapping.md``.

A span is an LLM call when its ``openinference.span.kind`` is ``LLM`` (or
``EMBEDDING``), or, without that attribute, when it names a model or has a
``gen_ai.*`` attribute or event that describes a call (not only its context:
conversation, user, agent, evaluation) and its ``gen_ai.operation.name`` is not an
agent/tool/framework operation. A span with ``feedback.*`` attributes and no model
is *feedback* on another span; ``gen_ai.evaluation.result`` events are scores.
Other spans are *skipped* (counted), which is not an error. An LLM span that
breaks a limit is *rejected* with a message naming the source attribute; the
other spans of the request are unaffected.

Every field has an ordered list of sources (docs/otlp-mapping.md); the first one
that yields a non-empty value wins, so an empty or unparseable source never hides
a later one. Attributes that are neither content nor read into a field are kept as
tags, and the project's attribute mapping fills dimensions from them.

Per span the work is one dict built from the attribute keys, a fixed number of
lookups, the tags, one ``msgspec.convert`` and ``normalize_interaction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heron.errors import PayloadError, ValidationError
from heron.schema import _otlp_messages as M
from heron.schema import limits as L
from heron.schema._otlp_json import decode_json
from heron.schema._otlp_events import EVALUATION_EVENT, read_events
from heron.schema._otlp_feedback import evaluations, feedback_span, is_feedback_span
from heron.schema._otlp_span import EMBEDDING, attach_sources, map_span, retrieved_sources
from heron.schema._otlp_tags import TagCounts, resource_tags
from heron.schema.mapping import DEFAULT_MAPPING, AttributeMapping
from heron.schema.records import Feedback, Interaction

__all__ = ["CONVENTIONS", "OtlpCounts", "OtlpResult", "decode_request", "spans_to_interactions"]

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
    "llm.model_name",
)
# gen_ai.* attributes that describe the context of a call, not a call: a span with only these is not an LLM call.
_CONTEXT_PREFIXES = (
    "gen_ai.conversation.",
    "gen_ai.user.",
    "gen_ai.session.",
    "gen_ai.agent.",
    "gen_ai.evaluation.",
    "gen_ai.tool.",
    "gen_ai.data_source.",
)
# Span kinds, ordered so that ``kind <= _EMBEDDING`` means "map it".
_LLM, _EMBEDDING, _SKIP, _RETRIEVER, _FEEDBACK = 0, EMBEDDING, 2, 3, 4
CONVENTIONS = ("gen_ai", "openllmetry", "openlit", "openinference")
"""How mapped spans are counted: by the convention that named them (see :func:`convention`)."""


@dataclass(slots=True)
class OtlpCounts:
    """What one request's spans became, beyond the calls themselves; summed into the server's counters."""

    mapped: dict[str, int] = field(default_factory=dict)
    """LLM spans mapped, per convention (``gen_ai``, ``openllmetry``, ``openlit``, ``openinference``)."""
    ok_without_output: int = 0
    """LLM spans (not embeddings) with status ok and no reply: a mapping gap or content capture off."""
    ok_without_input: int = 0
    feedback: int = 0
    """Feedback spans and evaluation events turned into feedback."""
    tags: TagCounts = field(default_factory=TagCounts)


@dataclass(frozen=True, slots=True)
class OtlpResult:
    """What became of one export request's spans."""

    interactions: list[Interaction]
    """Normalised; in span order."""
    skipped: int
    """Spans that are neither LLM calls nor feedback (HTTP, DB, chain, tool, agent...): not an error."""
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(span index in request order, message naming the attribute and the limit)."""
    feedback: list[Feedback] = field(default_factory=list)
    """From feedback spans and ``gen_ai.evaluation.result`` events."""
    counts: OtlpCounts = field(default_factory=OtlpCounts)


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


def spans_to_interactions(
    request: ExportTraceServiceRequest, *, project: str, now: float, mapping: AttributeMapping = DEFAULT_MAPPING
) -> OtlpResult:
    """Map every LLM span of ``request`` to a normalised Interaction, feedback spans to Feedback.

    One pass, holding no span's attributes past its own mapping (keeping them all
    alive costs more in garbage collection than the mapping itself). Sources found
    on RETRIEVER spans are attached afterwards to the LLM calls of the same trace
    that name none themselves. ``mapping`` is the project's attribute mapping.
    """
    interactions: list[Interaction] = []
    feedback: list[Feedback] = []
    rejected: list[tuple[int, str]] = []
    sources: dict[str, list[str]] = {}
    counts = OtlpCounts()
    mapped = counts.mapped
    skipped = 0
    index = -1
    for resource_spans in request.resource_spans:
        resource = resource_tags(resource_spans.resource)
        openlit = resource.get("telemetry.sdk.name") == "openlit"
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                index += 1
                attrs = {kv.key: kv.value for kv in span.attributes}
                kind = _classify(span, attrs)
                try:
                    if kind <= _EMBEDDING:
                        events = read_events(span, attrs) if span.events else None
                        item = map_span(span, attrs, kind, resource, project, now, mapping, counts.tags, events)
                        interactions.append(item)
                        name = "openlit" if openlit else convention(attrs)
                        mapped[name] = mapped.get(name, 0) + 1
                        if item.operation != "embeddings" and item.status == "ok":
                            counts.ok_without_output += item.output is None
                            counts.ok_without_input += not item.input
                        if events is not None and events.evaluations:
                            feedback += evaluations(span, attrs, events.evaluations, own=True, project=project, now=now)
                        continue
                    if kind == _FEEDBACK:
                        feedback.append(feedback_span(span, attrs, resource, mapping, counts.tags, project, now))
                        continue
                    skipped += 1
                    if kind == _RETRIEVER:
                        found = retrieved_sources(attrs)
                        if found:
                            sources.setdefault(span.trace_id.hex(), []).extend(found)
                    if span.events:
                        evals = read_events(span, attrs).evaluations
                        if evals:
                            feedback += evaluations(span, attrs, evals, own=False, project=project, now=now)
                except ValidationError as exc:
                    rejected.append((index, str(exc)))
    if sources:
        for item in interactions:
            if not item.rag_sources and item.trace_id in sources:
                attach_sources(item, sources[item.trace_id])
    counts.feedback = len(feedback)
    return OtlpResult(interactions=interactions, skipped=skipped, rejected=rejected, feedback=feedback, counts=counts)


def convention(attrs: M.Attrs) -> str:
    """Which convention an LLM span follows: OpenInference, OpenLLMetry (Traceloop) or the GenAI one."""
    if "openinference.span.kind" in attrs:
        return "openinference"
    if "llm.request.type" in attrs or "gen_ai.prompt.0.role" in attrs or "gen_ai.completion.0.role" in attrs:
        return "openllmetry"
    return "gen_ai"


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
    if is_feedback_span(attrs):
        return _FEEDBACK
    for key in attrs:
        if key.startswith("gen_ai.") and not key.startswith(_CONTEXT_PREFIXES):
            return _LLM
    for event in span.events:
        if event.name.startswith("gen_ai.") and event.name != EVALUATION_EVENT:
            return _LLM
    return _SKIP
