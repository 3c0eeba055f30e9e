"""Feedback and evaluations that arrive as spans: a score for another span becomes Feedback.

Two shapes (docs/otlp-mapping.md, "Feedback and evaluations"):

* a **feedback span**: any span with ``feedback.*`` attributes (``feedback.thumbs``,
  ``feedback.score``, ``feedback.rating``, ``feedback.comment``, ``feedback.label``,
  ``feedback.source``, ``feedback.name``) and no model; it names the call it rates by
  ``feedback.interaction_span_id`` (or ``feedback.interaction_id``/``heron.interaction_id``),
  else by its first span link;
* the GenAI **``gen_ai.evaluation.result`` event** (``gen_ai.evaluation.name``,
  ``gen_ai.evaluation.score.value``, ``gen_ai.evaluation.score.label``,
  ``gen_ai.evaluation.explanation``): on an LLM span it rates that span; on another span
  it rates the span named as above, else the span's parent (the conventions ask for the
  evaluation to be parented to the operation it evaluates).

An interaction's id is its span id (hex), so the target is known without a lookup.
"""

from __future__ import annotations

from typing import Any

import msgspec
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heron.errors import ValidationError
from heron.schema import _otlp_messages as M
from heron.schema._otlp_tags import TagCounts, span_tags
from heron.schema.mapping import AttributeMapping, derive
from heron.schema.normalize import normalize_feedback
from heron.schema.records import Feedback

FEEDBACK_PREFIX = "feedback."
TARGET_KEYS = ("feedback.interaction_span_id", "feedback.interaction_id", "feedback.span_id", "heron.interaction_id")
_FIELDS = ("feedback.thumbs", "feedback.score", "feedback.rating", "feedback.comment", "feedback.label", "feedback.source", "feedback.name")
_CONSUMED = frozenset((*TARGET_KEYS, *_FIELDS))
_UP = frozenset({"up", "thumbs_up", "positive", "like", "good", "1", "true"})
_DOWN = frozenset({"down", "thumbs_down", "negative", "dislike", "bad", "0", "-1", "false"})


def is_feedback_span(attrs: M.Attrs) -> bool:
    return any(key.startswith(FEEDBACK_PREFIX) for key in attrs) or "heron.interaction_id" in attrs


def target(span: Span, attrs: M.Attrs, *, parent: bool) -> tuple[str, str] | None:
    """(interaction id, where it came from): an attribute, the first link, or (if allowed) the parent."""
    for key in TARGET_KEYS:
        v = M.get(attrs, key)
        if v:
            return str(v), key
    for link in span.links:
        if link.span_id:
            return link.span_id.hex(), "links[0].span_id"
    if parent and span.parent_span_id:
        return span.parent_span_id.hex(), "parent_span_id"
    return None


def feedback_span(
    span: Span, attrs: M.Attrs, resource: dict[str, str], mapping: AttributeMapping, counts: TagCounts, project: str, now: float
) -> Feedback:
    """One feedback span -> Feedback; ValidationError names the attribute."""
    found = target(span, attrs, parent=False)
    if found is None:
        raise ValidationError(
            "feedback.interaction_span_id", "missing: a feedback span names the call it rates by this attribute or a span link"
        )
    d: dict[str, Any] = {"interaction_id": found[0], "source": M.as_text(M.get(attrs, "feedback.source")) or "user"}
    if span.span_id:
        d["id"] = span.span_id.hex()
    d["time"] = (span.end_time_unix_nano or span.start_time_unix_nano) / 1e9
    thumbs = M.get(attrs, "feedback.thumbs")
    if thumbs is not None:
        d["thumbs"] = _thumbs(thumbs, "feedback.thumbs")
    score = M.get(attrs, "feedback.score")
    if score is not None:
        _score(d, score)
    rating = M.get(attrs, "feedback.rating")
    if rating is not None:
        d["rating"] = rating
    for key in ("comment", "label", "name"):
        v = M.get(attrs, f"feedback.{key}")
        if v is not None:
            d[key] = M.as_text(v)
    tags = span_tags(attrs, resource, _CONSUMED, {}, counts)
    for name, (v, _) in derive(tags, mapping).items():
        if name in ("user_id", "conversation_id"):
            d[name] = v
    if tags:
        d["tags"] = tags
    return _convert(d, project, now)


def evaluations(
    span: Span, attrs: M.Attrs, events: list[dict[str, Any]], *, own: bool, project: str, now: float
) -> list[Feedback]:
    """``gen_ai.evaluation.result`` events -> Feedback (source ``evaluator``); ``own``: the span is the LLM call."""
    if own:
        found: tuple[str, str] | None = (span.span_id.hex(), "span_id") if span.span_id else None
    else:
        found = target(span, attrs, parent=True)
    if found is None:
        raise ValidationError("gen_ai.evaluation.result", "names no span: add a span link or parent it to the call it evaluates")
    out = []
    for i, fields in enumerate(events):
        d: dict[str, Any] = {"interaction_id": found[0], "source": "evaluator"}
        if span.span_id:
            d["id"] = f"{span.span_id.hex()}-eval{i}"
        d["time"] = (span.end_time_unix_nano or span.start_time_unix_nano) / 1e9
        name = fields.get("gen_ai.evaluation.name")
        if name is not None:
            d["name"] = M.as_text(name)
        value = fields.get("gen_ai.evaluation.score.value")
        if value is not None:
            d["score"] = value
        label = fields.get("gen_ai.evaluation.score.label")
        if label is not None:
            d["label"] = M.as_text(label)
        explanation = fields.get("gen_ai.evaluation.explanation")
        if explanation is not None:
            d["comment"] = M.as_text(explanation)
        try:
            out.append(_convert(d, project, now))
        except ValidationError as exc:
            raise ValidationError(f"events gen_ai.evaluation.result[{i}].{exc.field}", exc.message) from None
    return out


def _thumbs(raw: Any, where: str) -> str:
    text = str(raw).strip().lower()
    if text in _UP:
        return "up"
    if text in _DOWN:
        return "down"
    raise ValidationError(where, f"expected up or down (or 1/0, true/false), got {raw!r:.40}")


def _score(d: dict[str, Any], raw: Any) -> None:
    """``feedback.score``: 1/0/-1 (or up/down) are thumbs; another number in [0, 10] a rating; kept as score."""
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            d["thumbs"] = _thumbs(raw, "feedback.score")
            return
    if isinstance(raw, bool):
        d["thumbs"] = "up" if raw else "down"
        return
    if not isinstance(raw, (int, float)):
        raise ValidationError("feedback.score", f"expected a number, got {raw!r:.40}")
    d["score"] = float(raw)
    if raw in (1, 0, -1):
        d.setdefault("thumbs", "up" if raw == 1 else "down")
    elif 0 <= raw <= 10:
        d.setdefault("rating", float(raw))


def _convert(d: dict[str, Any], project: str, now: float) -> Feedback:
    try:
        item = msgspec.convert(d, Feedback, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `$.")
        field = where.rstrip("`").split("[", 1)[0] or "feedback"
        raise ValidationError(f"feedback.{field}", message or str(exc)) from None
    return normalize_feedback(item, project=project, now=now)
