"""Cross-field checks and derived fields, shared by every ingest path (JSON, OTLP, SDK).

Pure functions over records: the server calls them with its clock and the
project resolved from the API key.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from typing import Any

from heron.errors import ValidationError
from heron.schema import limits as L
from heron.schema.mapping import AttributeMapping, fill
from heron.schema.records import Feedback, Interaction, Message


def epoch_seconds(value: datetime | float, field: str, now: float) -> float:
    """Return a validated UTC epoch time; naive datetimes are taken as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        seconds = value.timestamp()
    else:
        seconds = float(value)
    if seconds != seconds:  # NaN
        raise ValidationError(field, "must be a number, got NaN")
    if seconds < L.MIN_TIMESTAMP:
        raise ValidationError(field, f"is before 2000-01-01 (epoch {L.MIN_TIMESTAMP:.0f}); send epoch seconds, not ms")
    if seconds > now + L.MAX_FUTURE_SECONDS:
        raise ValidationError(
            field, f"is {seconds - now:.0f} s in the future; at most {L.MAX_FUTURE_SECONDS:.0f} s is allowed"
        )
    return seconds


def flatten_content(content: str | list[Any] | None) -> str | None:
    """OpenAI-style content parts become text; non-text parts leave a marker."""
    if content is None or isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict):
            kind = part.get("type", "")
            text = part.get("text")
            parts.append(text if isinstance(text, str) else f"[{kind or 'part'}]")
    text = "\n".join(parts)
    if len(text) > L.MAX_TEXT_CHARS:
        raise ValidationError("input.content", f"longer than {L.MAX_TEXT_CHARS} characters")
    return text


def new_id() -> str:
    return uuid.uuid4().hex


def normalize_interaction(
    item: Interaction, *, project: str, now: float, mapping: AttributeMapping | None = None
) -> Interaction:
    """Validate what types alone cannot, fill derived fields, in place; returns ``item``.

    With ``mapping``, dimensions the item leaves empty are read from its tags.
    """
    if not item.model:
        raise ValidationError("model", "must not be empty")
    if mapping is not None and item.tags:
        fill(item, mapping)
    item.project = project
    item.cost_usd = None  # derived by the server from its price table, never taken from a client
    if not item.id:
        item.id = new_id()
    if not item.retry_of:
        item.retry_of = None  # an empty link points nowhere
    elif item.retry_of == item.id:
        raise ValidationError("retry_of", "is the interaction's own id; it must name the interaction being retried")
    start = epoch_seconds(item.start_time, "start_time", now)
    item.start_time = start
    if item.end_time is not None:
        end = epoch_seconds(item.end_time, "end_time", now)
        if end < start:
            raise ValidationError("end_time", "is before start_time")
        item.end_time = end
        if item.latency_ms is None:
            item.latency_ms = min((end - start) * 1000.0, L.MAX_LATENCY_MS)
    elif item.latency_ms is not None:
        item.end_time = start + item.latency_ms / 1000.0
    if item.ttft_ms is not None and item.latency_ms is not None and item.ttft_ms > item.latency_ms + 1.0:
        raise ValidationError("ttft_ms", "is larger than latency_ms")
    if item.status is None:
        item.status = "error" if item.error_type else "ok"
    for message in item.input:
        if message.content is not None and not isinstance(message.content, str):
            message.content = flatten_content(message.content)
    return item


def normalize_feedback(item: Feedback, *, project: str, now: float) -> Feedback:
    if item.thumbs is None and item.rating is None and item.comment is None and item.label is None and item.score is None:
        raise ValidationError("feedback", "needs at least one of thumbs, rating, comment, label, score")
    if item.score is not None and not math.isfinite(item.score):
        raise ValidationError("score", f"must be a finite number, got {item.score}")
    if not item.interaction_id:
        raise ValidationError("interaction_id", "must not be empty")
    item.project = project
    if not item.id:
        item.id = new_id()
    item.time = now if item.time is None else epoch_seconds(item.time, "time", now)
    return item


def message_text(messages: list[Message]) -> str:
    """The user-visible text of a message list, for search and enrichment."""
    return "\n".join(m.content for m in messages if isinstance(m.content, str) and m.content)
