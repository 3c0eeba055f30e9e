"""Turn the loose values an application hands over into records the server accepts.

Runs in the worker thread. The server rejects a record that breaks a limit of
:mod:`heron.schema.limits`; losing a whole interaction because its prompt was
a few characters too long is worse than keeping it cut, so every overlong
value is truncated here (and counted) and every loosely typed one coerced
(``user_id=42`` becomes ``"42"``, message objects become dicts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import msgspec

from heron.schema import limits as L
from heron.schema.records import Feedback, Interaction, Message

ID_FIELDS = (
    "id",
    "model",
    "response_model",
    "environment",
    "conversation_id",
    "user_id",
    "provider",
    "operation",
    "app_version",
    "prompt_version",
    "experiment",
    "variant",
    "error_type",
    "finish_reason",
    "trace_id",
    "span_id",
    "retry_of",
)
TEXT_FIELDS = ("output", "error_message")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")
MILLIS_FIELDS = ("latency_ms", "ttft_ms")
_MARK = "…[truncated]"
_ID, _TEXT, _TOKENS, _MILLIS, _KEEP = "id", "text", "tokens", "millis", "keep"
_KINDS = {
    **dict.fromkeys(ID_FIELDS, _ID),
    **dict.fromkeys(TEXT_FIELDS, _TEXT),
    **dict.fromkeys(TOKEN_FIELDS, _TOKENS),
    **dict.fromkeys(MILLIS_FIELDS, _MILLIS),
    **dict.fromkeys(("start_time", "end_time", "status"), _KEEP),
}
"""How each Interaction field is checked; ``input``, ``tags`` and ``rag_sources`` have their own code."""


class Cutter:
    """Truncates values to a limit and counts each cut, for the ``truncated`` counter."""

    __slots__ = ("cuts",)

    def __init__(self) -> None:
        self.cuts = 0

    def text(self, raw: Any, limit: int) -> str:
        value: str = raw if isinstance(raw, str) else _to_text(raw)
        if len(value) <= limit:
            return value
        self.cuts += 1
        if limit <= len(_MARK) * 4:
            return value[:limit]
        return value[: limit - len(_MARK)] + _MARK

    def id(self, value: Any) -> str:
        return self.text(value, L.MAX_ID_CHARS)


def _to_text(value: Any) -> str:
    """Non-string output (a dict, a pydantic model) is kept as JSON where possible, else its str()."""
    try:
        return msgspec.json.encode(value, enc_hook=str).decode()
    except Exception:
        return str(value)


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    return float(value)


def settle_times(fields: dict[str, Any], logged_at: float) -> None:
    """Fill start/end/latency from whichever were given; a record logged after the call ends at ``logged_at``."""
    start, end, latency = fields.get("start_time"), fields.get("end_time"), fields.get("latency_ms")
    start = None if start is None else epoch(start)
    end = None if end is None else epoch(end)
    if start is None:
        if end is None:
            end = logged_at
        start = end - latency / 1000.0 if latency is not None else end
    elif end is None:
        end = start + latency / 1000.0 if latency is not None else max(start, logged_at)
    if latency is None:
        fields["latency_ms"] = max(0.0, (end - start) * 1000.0)
    fields["start_time"], fields["end_time"] = start, max(start, end)


def _flatten(parts: list[Any]) -> str:
    """OpenAI-style content parts to text, like the server does, so the limit applies to what is stored."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Mapping):
            text = part.get("text")
            out.append(text if isinstance(text, str) else f"[{part.get('type') or 'part'}]")
        else:
            text = getattr(part, "text", None)
            out.append(text if isinstance(text, str) else f"[{getattr(part, 'type', None) or 'part'}]")
    return "\n".join(out)


def _message(raw: Any, cut: Cutter) -> Message:
    if type(raw) is dict and len(raw) == 2:  # the common {"role": ..., "content": "..."}, checked inline
        role, content = raw.get("role"), raw.get("content")
        if (
            type(role) is str
            and type(content) is str
            and 0 < len(role) <= L.MAX_ID_CHARS
            and len(content) <= L.MAX_TEXT_CHARS
        ):
            return Message(role=role, content=content)
    return _any_message(raw, cut)


def _any_message(raw: Any, cut: Cutter) -> Message:
    role: Any
    content: Any
    name: Any
    tool_calls: Any
    if isinstance(raw, Message):
        role, content, name, tool_calls = raw.role, raw.content, raw.name, None
    elif isinstance(raw, Mapping):
        role, content, name, tool_calls = raw.get("role"), raw.get("content"), raw.get("name"), raw.get("tool_calls")
    elif isinstance(raw, str):
        role, content, name, tool_calls = "user", raw, None, None
    else:  # pydantic models from vendor SDKs (e.g. a ChatCompletionMessage passed back in)
        role = getattr(raw, "role", None)
        content = getattr(raw, "content", None)
        name, tool_calls = getattr(raw, "name", None), getattr(raw, "tool_calls", None)
    if isinstance(content, list | tuple):
        content = _flatten(list(content))
    if content is None and tool_calls:
        content = "[tool_calls: " + ", ".join(_tool_name(call) for call in tool_calls) + "]"
    return Message(
        role=cut.id(role or "user"),
        content=None if content is None else cut.text(content, L.MAX_TEXT_CHARS),
        name=None if name is None else cut.id(name),
    )


def _tool_name(call: Any) -> str:
    function = call.get("function") if isinstance(call, Mapping) else getattr(call, "function", None)
    name = function.get("name") if isinstance(function, Mapping) else getattr(function, "name", None)
    return str(name or "?")


def messages(raw: Any, cut: Cutter) -> list[Message]:
    """A prompt string, one message, or a list of messages; over the limit, keeps the first and the latest."""
    if raw is None:
        return []
    if isinstance(raw, str | Mapping | Message):
        raw = [raw]
    items = list(raw)
    if len(items) > L.MAX_MESSAGES:
        cut.cuts += 1
        items = items[:1] + items[len(items) - L.MAX_MESSAGES + 1 :]
    return [_message(m, cut) for m in items]


def tags(raw: Any, cut: Cutter) -> dict[str, str]:
    if not raw:
        return {}
    items = list(raw.items())
    if len(items) > L.MAX_TAGS:
        cut.cuts += 1
        items = items[: L.MAX_TAGS]
    return {cut.id(k): cut.text(v, L.MAX_TAG_VALUE_CHARS) for k, v in items}


def _clamp_int(value: Any, high: int) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(number, 0), high)


def _clamp_float(value: Any, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:
        return None
    return min(max(number, 0.0), high)


def interaction(fields: dict[str, Any], cut: Cutter) -> Interaction:
    """Build a valid Interaction from ``fields``; ``start_time``/``end_time``/``latency_ms`` already settled.

    One pass over the fields actually present, with the common case (a short
    string, an int in range) checked inline: this runs once per record.
    """
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        kind = _KINDS.get(name)
        if kind is _ID:
            out[name] = value if type(value) is str and len(value) <= L.MAX_ID_CHARS else cut.id(value)
        elif kind is _TEXT:
            out[name] = (
                value if type(value) is str and len(value) <= L.MAX_TEXT_CHARS else cut.text(value, L.MAX_TEXT_CHARS)
            )
        elif kind is _TOKENS:
            out[name] = value if type(value) is int and 0 <= value <= L.MAX_TOKENS else _clamp_int(value, L.MAX_TOKENS)
        elif kind is _MILLIS:
            out[name] = _clamp_float(value, L.MAX_LATENCY_MS)
        elif kind is _KEEP:
            out[name] = value
        # anything else (``project``, which the server sets from the API key) is left out
    latency, ttft = out.get("latency_ms"), out.get("ttft_ms")
    if latency is not None and ttft is not None and ttft > latency:
        out["ttft_ms"] = latency
    if out.get("status") not in (None, "ok", "error"):
        out["status"] = "error" if out.get("error_type") else None
    out["input"] = messages(fields.get("input"), cut)
    if fields.get("tags"):
        out["tags"] = tags(fields["tags"], cut)
    sources = fields.get("rag_sources")
    if sources:
        sources = list(sources)
        if len(sources) > L.MAX_RAG_SOURCES:
            cut.cuts += 1
            sources = sources[: L.MAX_RAG_SOURCES]
        out["rag_sources"] = [cut.id(s) for s in sources]
    return Interaction(**{k: v for k, v in out.items() if v is not None})


def feedback(fields: dict[str, Any], cut: Cutter) -> Feedback:
    fields.pop("project", None)
    for name in ("interaction_id", "id", "source", "user_id", "conversation_id"):
        value = fields.get(name)
        if value is not None:
            fields[name] = cut.id(value)
    for name in ("comment", "label"):
        value = fields.get(name)
        if value is not None:
            fields[name] = cut.text(value, L.MAX_TEXT_CHARS)
    thumbs = fields.get("thumbs")
    if isinstance(thumbs, bool):
        fields["thumbs"] = "up" if thumbs else "down"
    if fields.get("rating") is not None:
        fields["rating"] = float(fields["rating"])
    fields["tags"] = tags(fields.get("tags"), cut)
    return Feedback(**{k: v for k, v in fields.items() if v is not None})


def shrink(item: Interaction, factor: float, cut: Cutter) -> None:
    """Cut every long text of an interaction to ``factor`` of its length, to fit a request body."""
    if item.output is not None:
        item.output = cut.text(item.output, int(len(item.output) * factor))
    if item.error_message is not None:
        item.error_message = cut.text(item.error_message, int(len(item.error_message) * factor))
    for message in item.input:
        if isinstance(message.content, str):
            message.content = cut.text(message.content, int(len(message.content) * factor))
