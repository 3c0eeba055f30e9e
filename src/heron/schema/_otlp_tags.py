"""Span and resource attributes kept as tags: everything that is not content or already a field.

Applications put what they know on spans (``app.prompt_version``, ``app.team``,
``deployment.environment``...); Heron cannot guess which matter, so it keeps them
all, bounded: at most ``MAX_TAGS`` keys (keys the attribute mapping reads are kept
first), keys up to ``MAX_ID_CHARS`` characters, values cut to
``MAX_TAG_VALUE_CHARS``. What is cut is counted (``TagCounts``) and, per call,
recorded in the tag ``heron.tags_dropped``. Message text never becomes a tag: it
belongs in ``input``/``output``, where search, enrichment and (later) redaction see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from heron.schema import limits as L
from heron.schema._otlp_messages import Attrs, value
from heron.schema.mapping import MAPPED_KEYS

CONTENT_PREFIXES: tuple[str, ...] = (
    "gen_ai.prompt",  # gen_ai.prompt (OpenLIT) and gen_ai.prompt.N.* (OpenLLMetry)
    "gen_ai.completion",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.content.",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.request.functions",
    "gen_ai.retrieval.documents",
    "gen_ai.embeddings.",
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "llm.choices",
    "llm.tools",
    "llm.request.functions",
    "llm.prompt_template.template",
    "llm.prompt_template.variables",
    "input.",
    "output.",
    "retrieval.documents",
    "reranker.",
    "embedding.embeddings",
    "embedding.text",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "tool.parameters",
    "metadata",  # OpenInference metadata: flattened into tags by its own keys
    "tag.tags",
)
"""Attributes that carry prompts, replies, documents or tool payloads: never tags."""

DROPPED_TAG = "heron.tags_dropped"

_json = msgspec.json.Encoder().encode


@dataclass(slots=True)
class TagCounts:
    """What the tag bounds cut, over one request (summed into the server's counters)."""

    dropped: int = 0
    """Attributes not kept: past ``MAX_TAGS``, or a key longer than ``MAX_ID_CHARS``."""
    truncated: int = 0
    """Values cut to ``MAX_TAG_VALUE_CHARS``."""


def tag_value(av: AnyValue) -> str | None:
    """An attribute value as tag text: arrays and maps as JSON, booleans as ``true``/``false``."""
    text = av.string_value
    if text:  # most tags: a non-empty string (the field reads "" when another kind is set)
        return text
    kind = av.WhichOneof("value")
    if kind == "string_value":
        return av.string_value
    if kind is None:
        return None
    if kind == "bool_value":
        return "true" if av.bool_value else "false"
    if kind == "int_value":
        return str(av.int_value)
    if kind == "double_value":
        return repr(av.double_value)
    if kind == "bytes_value":
        return av.bytes_value.hex()
    return _json(value(av)).decode()


def resource_tags(resource: Resource) -> dict[str, str]:
    """Tags from resource attributes (once per resource, shared by its spans)."""
    out: dict[str, str] = {}
    for kv in resource.attributes:
        text = tag_value(kv.value)
        if text is not None and not kv.key.startswith(CONTENT_PREFIXES):
            out[kv.key] = text
    return out


def span_tags(
    attrs: Attrs, resource: dict[str, str], consumed: frozenset[str], extra: dict[str, Any], counts: TagCounts
) -> dict[str, str]:
    """Resource tags, then the span's own kept attributes (a span attribute wins), then ``extra``.

    ``consumed`` are attributes already read into a field (model, tokens...);
    ``extra`` holds tags derived elsewhere (OpenInference ``metadata``, ``tag.tags``).
    """
    tags = dict(resource)
    kept = _kept_keys(consumed)
    for key, av in attrs.items():
        keep = kept.get(key)
        if keep is None:
            keep = _remember(kept, key, consumed)
        if keep:
            text = av.string_value or tag_value(av)
            if text is not None:
                tags[key] = text
    if extra:
        tags.update(extra)
    return bound(tags, counts)


_KEPT: dict[frozenset[str], dict[str, bool]] = {}
_KEPT_MAX = 4_096
"""Keys remembered per ``consumed`` set; past that (keys with ids in them) the memory starts over."""


def _kept_keys(consumed: frozenset[str]) -> dict[str, bool]:
    """Whether each attribute key seen so far is kept as a tag (not content, not ``consumed``): decided once per key."""
    kept = _KEPT.get(consumed)
    if kept is None:
        kept = _KEPT[consumed] = {}
    return kept


def _remember(kept: dict[str, bool], key: str, consumed: frozenset[str]) -> bool:
    if len(kept) >= _KEPT_MAX:
        kept.clear()
    keep = kept[key] = key not in consumed and not key.startswith(CONTENT_PREFIXES)
    return keep


def bound(tags: dict[str, str], counts: TagCounts) -> dict[str, str]:
    """Apply the documented bounds; count (and record on the call) what was cut."""
    if (
        len(tags) <= L.MAX_TAGS
        and (not tags or max(map(len, tags)) <= L.MAX_ID_CHARS)
        and (not tags or max(map(len, tags.values())) <= L.MAX_TAG_VALUE_CHARS)
    ):
        return tags  # within every bound: nothing to cut (checked in C, the usual case)
    dropped = 0
    for key in [k for k in tags if len(k) > L.MAX_ID_CHARS]:
        del tags[key]
        dropped += 1
    if len(tags) > L.MAX_TAGS:
        room = L.MAX_TAGS - 1  # one slot for heron.tags_dropped
        first = [k for k in tags if k in MAPPED_KEYS][:room]
        rest = [k for k in tags if k not in MAPPED_KEYS][: room - len(first)]
        kept = {k: tags[k] for k in (*first, *rest)}
        dropped += len(tags) - len(kept)
        tags = kept
    for key, text in tags.items():
        if len(text) > L.MAX_TAG_VALUE_CHARS:
            tags[key] = text[: L.MAX_TAG_VALUE_CHARS]
            counts.truncated += 1
    if dropped:
        counts.dropped += dropped
        tags[DROPPED_TAG] = str(dropped)
    return tags
