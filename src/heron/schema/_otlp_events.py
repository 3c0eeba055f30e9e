"""What an LLM span's events say: messages, the first choice, the exception, the first token.

One pass over ``span.events``. Events whose attributes mirror span attributes
(OpenLIT's ``gen_ai.content.prompt``/``gen_ai.content.completion``, the GenAI
``gen_ai.client.inference.operation.details`` event) are merged into the span's
attribute dict as fallbacks, so the attribute readers handle them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heron.schema._otlp_messages import Attrs, as_text, loads, maybe_parts, message, structured, value

ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
    "gen_ai.tools.message": "tool",  # OpenLIT's spelling
}
CHOICE_EVENT = "gen_ai.choice"
EVALUATION_EVENT = "gen_ai.evaluation.result"
MERGED_EVENTS = frozenset(
    {"gen_ai.content.prompt", "gen_ai.content.completion", "gen_ai.client.inference.operation.details"}
)
FIRST_TOKEN_EVENTS = frozenset(
    {
        "First Token Stream Event",  # OpenInference instrumentations
        "llm.content.completion.chunk",  # OpenLLMetry, one per streamed chunk
        "gen_ai.content.completion.chunk",
    }
)


@dataclass(slots=True)
class SpanEvents:
    messages: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    choice: dict[str, Any] | None = None
    """``{"text": ..., "finish_reason": ...}`` of the ``gen_ai.choice`` event of index 0 (else the first)."""
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    """The attributes of each ``gen_ai.evaluation.result`` event."""
    exception_type: str | None = None
    exception_message: str | None = None
    first_token_ns: int = 0


def read_events(span: Span, attrs: Attrs) -> SpanEvents:
    """Read ``span.events``; merge mirrored attributes into ``attrs`` (span attributes win)."""
    out = SpanEvents()
    for i, event in enumerate(span.events):
        name = event.name
        role = ROLE_EVENTS.get(name)
        if role is not None:
            fields = {kv.key: value(kv.value) for kv in event.attributes}
            out.messages.append(_role_message(role, fields))
            out.labels.append(f"events[{i}] {name}")
        elif name == CHOICE_EVENT:
            if out.choice is None or (out.choice["index"] not in (None, 0) and not out.choice["text"]):
                out.choice = _choice(fields={kv.key: value(kv.value) for kv in event.attributes})
        elif name == EVALUATION_EVENT:
            out.evaluations.append({kv.key: value(kv.value) for kv in event.attributes})
        elif name == "exception":
            for kv in event.attributes:
                if kv.key == "exception.type":
                    out.exception_type = as_text(value(kv.value))
                elif kv.key == "exception.message":
                    out.exception_message = as_text(value(kv.value))
        elif name in FIRST_TOKEN_EVENTS:
            if not out.first_token_ns or 0 < event.time_unix_nano < out.first_token_ns:
                out.first_token_ns = event.time_unix_nano
        elif name in MERGED_EVENTS:
            for kv in event.attributes:
                attrs.setdefault(kv.key, kv.value)
    return out


def _role_message(role: str, fields: dict[str, Any]) -> dict[str, Any]:
    body = fields.get("gen_ai.event.content")  # Azure AI Inference: the event body as JSON text
    if "content" not in fields and "parts" not in fields and body is not None:
        parsed = loads(body)
        fields = parsed if isinstance(parsed, dict) else {"content": body}
    calls = fields.get("tool_calls")
    return message({**fields, "role": fields.get("role") or role, "tool_calls": structured(calls)})


def _choice(fields: dict[str, Any]) -> dict[str, Any]:
    """Both shapes of the event: ``message`` (an object, or JSON text) and flat ``content``/``role``/``tool_calls``."""
    body = fields.get("gen_ai.event.content")
    if "message" not in fields and "content" not in fields and body is not None:
        parsed = loads(body)
        if isinstance(parsed, dict):
            fields = parsed
    raw = structured(fields.get("message"))
    if isinstance(raw, dict):
        text = message(raw)["content"]
    elif raw is not None:
        text = as_text(raw)
    else:  # flat: the message's fields are the event's own
        content = maybe_parts(fields.get("content"))
        text = message({"content": content, "tool_calls": structured(fields.get("tool_calls"))})["content"]
    reason = fields.get("finish_reason")
    index = fields.get("index")
    return {
        "text": text,
        "finish_reason": reason if isinstance(reason, str) else None,
        "index": index if isinstance(index, int) else None,
    }
