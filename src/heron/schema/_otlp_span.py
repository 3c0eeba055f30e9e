"""One LLM span -> one validated Interaction: the attribute tables and their readers.

Every value read records its source attribute in ``src`` so that a validation
error (from msgspec or ``normalize_interaction``) names the attribute the client
sent, not Heron's field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heron.errors import ValidationError
from heron.schema import _otlp_messages as M
from heron.schema import limits as L
from heron.schema._otlp_events import SpanEvents, read_events
from heron.schema._otlp_tags import TagCounts, span_tags
from heron.schema.mapping import DEFAULT_MAPPING, AttributeMapping, derive
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction

EMBEDDING = 1
_STATUS_ERROR = 2
_convert = msgspec.convert

# Fields read from the first attribute present (non-empty), in this order. The dimensions an
# application names in its own way (prompt version, user, conversation...) come from the kept
# tags through the attribute mapping (heron.schema.mapping), not from here.
_REQUEST_MODEL_KEYS = ("gen_ai.request.model", "llm.request.model_name", "llm.request.model")
_RESPONSE_MODEL_KEYS = ("gen_ai.response.model", "llm.response.model_name", "llm.model_name", "embedding.model_name")
_ID_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("response_model", _RESPONSE_MODEL_KEYS),
    ("provider", ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")),
    ("retry_of", ("heron.retry_of",)),
)
_TOKEN_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "input_tokens",
        (
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.usage.prompt_tokens",
            "llm.token_count.prompt",
        ),
    ),
    (
        "output_tokens",
        (
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.usage.completion_tokens",
            "llm.token_count.completion",
        ),
    ),
    (
        "cached_tokens",
        (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "gen_ai.usage.cached_tokens",
            "gen_ai.usage.input_cached_tokens",
            "llm.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
    ),
    (
        "reasoning_tokens",
        (
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
    ),
)
_TTFT_SECONDS_KEYS = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token", "gen_ai.server.ttft")
_LATE_FINISH_KEYS = ("llm.response.finish_reason", "llm.finish_reason")
_OPENLLMETRY_OPERATIONS = {"completion": "text_completion", "embedding": "embeddings"}
_SOURCE_KEYS = ("source", "file_path", "file_name", "url")


def _pick(attrs: M.Attrs, keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        av = attrs.get(key)
        if av is not None:
            v = M.value(av)
            if v is not None and v != "":
                return key, v
    return None


_CONSUMED: frozenset[str] = frozenset(
    {
        *(key for _, keys in _ID_FIELDS for key in keys),
        *(key for _, keys in _TOKEN_FIELDS for key in keys),
        *_REQUEST_MODEL_KEYS,
        *_TTFT_SECONDS_KEYS,
        *_LATE_FINISH_KEYS,
        "gen_ai.response.finish_reasons",
        "gen_ai.operation.name",
        "llm.request.type",
        "openinference.span.kind",
        "error.type",
        "gen_ai.usage.total_tokens",
        "llm.usage.total_tokens",
        "llm.token_count.total",
    }
)
"""Attributes read into a field of their own; every other non-content attribute is kept as a tag."""


def map_span(
    span: Span,
    attrs: M.Attrs,
    kind: int,
    resource: dict[str, str],
    project: str,
    now: float,
    mapping: AttributeMapping = DEFAULT_MAPPING,
    counts: TagCounts | None = None,
    events: SpanEvents | None = None,
) -> Interaction:
    """Map one LLM span; raise ValidationError naming the source attribute.

    ``resource`` holds the resource's kept attributes (:func:`resource_tags`);
    ``events`` the span's events when the caller has read them already.
    """
    if events is None and span.events:
        events = read_events(span, attrs)
    d: dict[str, Any] = {}
    src: dict[str, str] = {}
    get = attrs.get
    value = M.value
    for name, keys in _ID_FIELDS:  # _pick, inlined: this loop is the hot path
        for key in keys:
            av = get(key)
            if av is not None:
                v = value(av)
                if v is not None and v != "":
                    d[name] = str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                    src[name] = key
                    break
    _model(d, src, attrs)
    for name, keys in _TOKEN_FIELDS:
        for key in keys:
            av = get(key)
            if av is not None:
                v = value(av)
                if v is not None and v != "":
                    d[name] = v
                    src[name] = key
                    break

    op = M.get(attrs, "gen_ai.operation.name")
    if op is not None:
        d["operation"], src["operation"] = op, "gen_ai.operation.name"
    else:
        req_type = M.get(attrs, "llm.request.type")
        if req_type is not None:
            d["operation"] = _OPENLLMETRY_OPERATIONS.get(req_type, req_type)
            src["operation"] = "llm.request.type"
        elif kind == EMBEDDING:
            d["operation"] = "embeddings"

    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    d["start_time"] = start_ns / 1e9
    src["start_time"] = "start_time_unix_nano"
    if end_ns:
        d["end_time"] = end_ns / 1e9
        src["end_time"] = "end_time_unix_nano"
        if end_ns >= start_ns:
            d["latency_ms"] = min((end_ns - start_ns) / 1e6, L.MAX_LATENCY_MS)
    _ttft(d, src, attrs, events, start_ns)
    if span.trace_id:
        d["trace_id"] = span.trace_id.hex()
    if span.span_id:
        d["span_id"] = d["id"] = span.span_id.hex()

    error_type = M.get(attrs, "error.type")
    status = span.status
    if status.code == _STATUS_ERROR or error_type:
        d["status"] = "error"
        if error_type:
            d["error_type"], src["error_type"] = error_name(M.as_text(error_type)), "error.type"
        elif events is not None and events.exception_type:
            d["error_type"], src["error_type"] = error_name(events.exception_type), "exception.type"
        if status.message:
            d["error_message"], src["error_message"] = status.message, "status.message"
        elif events is not None and events.exception_message:
            d["error_message"], src["error_message"] = events.exception_message, "exception.message"

    labels = _input(d, src, attrs, events)
    _output(d, src, attrs, events)
    extra, tag_src = _derived_tags(attrs)
    tags = span_tags(attrs, resource, _CONSUMED, extra, counts if counts is not None else TagCounts())
    if tags:
        d["tags"] = tags
        for name, (v, key) in derive(tags, mapping).items():
            d[name] = v
            src[name] = tag_src.get(key, key)
    return _validate(d, src, labels, tag_src, project, now)


_FINISH_ALIASES = {"tool_call": "tool_calls"}
"""Spellings instrumentations disagree on (OpenLLMetry writes ``tool_call``, OpenAI ``tool_calls``)."""
_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")


def error_name(raw: str | None) -> str | None:
    """One spelling per error class, whatever the instrumentation wrote: ``<class 'openai.RateLimitError'>``,
    ``openai.RateLimitError`` and ``RateLimitError`` are all ``RateLimitError``; other values stay as sent."""
    if not raw:
        return raw
    match = _CLASS_REPR.match(raw)
    name = match.group(1) if match else raw
    if "." in name and " " not in name:
        last = name.rsplit(".", 1)[1]
        if last[:1].isupper():
            return last
    return name


def _model(d: dict[str, Any], src: dict[str, str], attrs: M.Attrs) -> None:
    """``model`` is what the app asked for; without a request attribute, the answering model."""
    hit = _pick(attrs, _REQUEST_MODEL_KEYS)
    if hit is None:
        params = M.structured(M.get(attrs, "llm.invocation_parameters"))  # OpenInference keeps the request here
        if isinstance(params, dict) and isinstance(params.get("model"), str) and params["model"]:
            hit = "llm.invocation_parameters", params["model"]
    if hit is None and "response_model" in d:
        hit = src["response_model"], d["response_model"]
    if hit is None:
        raise ValidationError(
            "gen_ai.request.model",
            "missing: an LLM span needs gen_ai.request.model, gen_ai.response.model or llm.model_name",
        )
    src["model"], model = hit
    d["model"] = str(model) if not isinstance(model, str) else model


def _ttft(d: dict[str, Any], src: dict[str, str], attrs: M.Attrs, events: SpanEvents | None, start_ns: int) -> None:
    hit = _pick(attrs, _TTFT_SECONDS_KEYS)
    if hit is not None:
        key, seconds = hit
        try:
            d["ttft_ms"] = float(seconds) * 1000.0
        except (TypeError, ValueError):
            raise ValidationError(key, f"expected a number of seconds, got {seconds!r:.40}") from None
        src["ttft_ms"] = key
    elif events is not None and events.first_token_ns >= start_ns > 0:
        d["ttft_ms"] = (events.first_token_ns - start_ns) / 1e6
        src["ttft_ms"] = "first-token event"


def _input_sources(attrs: M.Attrs, events: SpanEvents | None) -> Iterator[M.Messages | None]:
    """Every convention's input, in order of precedence (each None when absent)."""
    yield M.semconv_input(attrs)
    if events is not None and events.messages:
        yield events.messages, events.labels
    yield M.openllmetry_input(attrs)
    raw = M.get(attrs, "gen_ai.prompt")
    if raw is not None:
        yield M.prompt_text(raw, "gen_ai.prompt")
    yield M.openinference_messages(attrs, "llm.input_messages")
    yield M.openinference_prompts(attrs)
    yield M.input_value(attrs)


def _input(d: dict[str, Any], src: dict[str, str], attrs: M.Attrs, events: SpanEvents | None) -> list[str]:
    """The first source with a message that has text; an empty source never hides a later one."""
    fallback = None
    for found in _input_sources(attrs, events):
        if found is None or not found[0]:
            continue
        if any(m.get("content") for m in found[0]):
            break
        fallback = fallback or found
    else:
        found = fallback
    if found is None:
        return []
    d["input"], labels = found
    src["input"] = _family(labels[0]) if labels else "input"
    return labels


def _family(label: str) -> str:
    """``gen_ai.prompt.3`` -> ``gen_ai.prompt``; ``gen_ai.input.messages[2]`` -> ``gen_ai.input.messages``."""
    head = label.partition("[")[0].partition(" ")[0]
    parts = head.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i])
    return head


def _output_sources(attrs: M.Attrs, events: SpanEvents | None) -> Iterator[tuple[Any, Any, str, str]]:
    """(text, finish_reason, label, finish-reason label) per convention present, in order of precedence."""
    raw = M.get(attrs, "gen_ai.output.messages")
    if raw is not None:
        text, reason = M.first_choice(raw)
        yield text, reason, "gen_ai.output.messages", "gen_ai.output.messages"
    if events is not None and events.choice is not None:
        yield events.choice["text"], events.choice["finish_reason"], "event gen_ai.choice", "event gen_ai.choice"
    legacy = M.openllmetry_output(attrs)
    if legacy is not None:
        text, reason, base = legacy
        yield text, reason, base + ".content", base + ".finish_reason"
    completion = M.get(attrs, "gen_ai.completion")
    if completion is not None:
        yield M.first_choice(completion)[0], None, "gen_ai.completion", ""
    oi = M.openinference_output(attrs)
    if oi is not None:
        yield oi[0], None, oi[1], ""
    if "output.value" in attrs:
        yield M.output_value(attrs), None, "output.value", ""


def _output(d: dict[str, Any], src: dict[str, str], attrs: M.Attrs, events: SpanEvents | None) -> None:
    """The first source with non-empty text wins; an empty reply is kept only when no source has text."""
    reason = reason_label = empty = None
    for text, why, label, why_label in _output_sources(attrs, events):
        if reason is None and isinstance(why, str) and why:
            reason, reason_label = why, why_label
        if isinstance(text, str):
            if text:
                d["output"], src["output"] = text, label
                break
            empty = empty or label
    else:
        if empty is not None:
            d["output"], src["output"] = "", empty
    finish = M.get(attrs, "gen_ai.response.finish_reasons")
    if isinstance(finish, list):
        finish = finish[0] if finish else None
    if finish:
        d["finish_reason"], src["finish_reason"] = _FINISH_ALIASES.get(finish, finish), "gen_ai.response.finish_reasons"
    elif reason is not None and reason_label is not None:
        d["finish_reason"], src["finish_reason"] = _FINISH_ALIASES.get(reason, reason), reason_label
    elif (late := _pick(attrs, _LATE_FINISH_KEYS)) is not None:
        src["finish_reason"], d["finish_reason"] = late


def _derived_tags(attrs: M.Attrs) -> tuple[dict[str, str], dict[str, str]]:
    """Tags from OpenInference ``metadata`` (its keys) and ``tag.tags`` (labels, value ``true``)."""
    tags: dict[str, str] = {}
    tag_src: dict[str, str] = {}
    metadata = M.structured(M.get(attrs, "metadata"))
    if isinstance(metadata, dict):
        for key, v in metadata.items():
            if isinstance(v, str):
                tags[key] = v
            elif isinstance(v, bool):
                tags[key] = "true" if v else "false"
            elif isinstance(v, (int, float)):
                tags[key] = str(v)
            else:
                continue  # nested values have no place in flat tags
            tag_src[key] = f"metadata.{key}"
    elif metadata is not None:
        raise ValidationError("metadata", "expected a JSON object")
    labels = M.structured(M.get(attrs, "tag.tags"))
    if isinstance(labels, str):
        labels = [labels]
    if isinstance(labels, list):
        for i, label in enumerate(labels):
            name = M.as_text(label)
            if name:
                tags[name] = "true"
                tag_src[name] = f"tag.tags[{i}]"
    return tags, tag_src


def attach_sources(item: Interaction, trace_sources: list[str]) -> None:
    """Give ``item`` the sources its trace's retrievers returned; valid by construction.

    These are derived, not sent for this call, so what does not fit (more than
    ``MAX_RAG_SOURCES``, or longer than ``MAX_ID_CHARS``) is left out and counted
    in the tag ``heron.rag_sources_dropped`` rather than rejecting the call.
    """
    unique = list(dict.fromkeys(trace_sources))
    kept = [s for s in unique if len(s) <= L.MAX_ID_CHARS][: L.MAX_RAG_SOURCES]
    item.rag_sources = kept
    if len(kept) < len(unique) and len(item.tags) < L.MAX_TAGS:
        item.tags = {**item.tags, "heron.rag_sources_dropped": str(len(unique) - len(kept))}


def retrieved_sources(attrs: M.Attrs) -> list[str]:
    """Document sources of an OpenInference RETRIEVER span (metadata source, else id)."""
    found: list[str] = []
    i = 0
    while True:
        base = f"retrieval.documents.{i}.document."
        doc_id = attrs.get(base + "id")
        meta = attrs.get(base + "metadata")
        if doc_id is None and meta is None and base + "content" not in attrs:
            return found
        source = None
        if meta is not None:
            parsed = M.structured(M.value(meta))
            if isinstance(parsed, dict):
                source = next((parsed[k] for k in _SOURCE_KEYS if isinstance(parsed.get(k), str)), None)
        if source is None and doc_id is not None:
            source = M.as_text(M.value(doc_id))
        if source:
            found.append(source)
        i += 1


def _validate(
    d: dict[str, Any], src: dict[str, str], labels: list[str], tag_src: dict[str, str], project: str, now: float
) -> Interaction:
    try:
        item = _convert(d, Interaction, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationError(*_locate(str(exc), d, src, labels, tag_src)) from None
    try:
        return normalize_interaction(item, project=project, now=now)
    except ValidationError as exc:
        name, _, rest = exc.field.partition(".")
        where = labels[0] + "." + rest if name == "input" and labels else src.get(name, exc.field)
        raise ValidationError(where, exc.message) from None


def _locate(
    text: str, d: dict[str, Any], src: dict[str, str], labels: list[str], tag_src: dict[str, str]
) -> tuple[str, str]:
    """msgspec's ``... - at `$.input[2].content``` -> (source attribute, message)."""
    message, sep, where = text.rpartition(" - at `")
    if not sep:
        return "span", text
    where = where.rstrip("`")
    tags = d.get("tags") or {}
    if where.startswith("key` in `$.tags"):
        bad = next((k for k in tags if len(k) > L.MAX_ID_CHARS), "")
        return tag_src.get(bad, "tags") + " (tag key)", message
    path = where.removeprefix("$.")
    name = path.split("[", 1)[0].split(".", 1)[0]
    rest = path[len(name) :]
    if name == "tags":
        if rest.startswith("["):
            bad = next((k for k, v in tags.items() if not isinstance(v, str) or len(v) > L.MAX_TAG_VALUE_CHARS), "")
            return tag_src.get(bad, "tags"), message
        families = {_family(v if not v.startswith("metadata.") else "metadata") for v in tag_src.values()}
        return "tags (from " + ", ".join(sorted(families)) + ")", message
    if name == "input" and rest.startswith("[") and labels:
        idx_text, _, tail = rest[1:].partition("]")
        if idx_text.isdigit() and int(idx_text) < len(labels):
            return labels[int(idx_text)] + tail, message
    return src.get(name, name) + rest, message
