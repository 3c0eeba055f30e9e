"""The records enrichment reads and writes, and the Enricher protocol.

A :class:`Turn` is what enrichment needs of one interaction: the user's newest
message, the earlier user messages of the same conversation (from the chat
history the app sent or, when it sent none, from the calls Heron stored), and
the reply. Every
enricher fills some fields of the turn's :class:`Signals`; the pipeline runs
them in order over batches (batching is what makes VADER, embeddings and
classifiers fast), then stores the signals next to the interaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from heron.schema.records import Interaction

MAX_ENRICH_CHARS = 4_000
"""Longer messages are truncated for enrichment only; the stored text stays intact."""

CUES: tuple[str, ...] = ("anger", "confusion", "gratitude", "urgency")
"""Emotional cues detected in user messages."""


def split_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """(newest user message, earlier user messages), each truncated to MAX_ENRICH_CHARS."""
    users = [m["content"][:MAX_ENRICH_CHARS] for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)]
    return (users[-1] if users else ""), users[:-1]


@dataclass(slots=True)
class Turn:
    interaction_id: str
    project: str
    start_time: float
    conversation_id: str | None
    user_id: str | None
    user_text: str
    """The newest user message (truncated to MAX_ENRICH_CHARS); may be empty."""
    previous_user_texts: list[str]
    """Earlier user messages of the conversation, oldest first (truncated): from the input, or, when the
    input has none, from the stored calls of the conversation (:mod:`heron.enrich.history`)."""
    reply_text: str
    """The model's output (truncated); empty when there is none."""
    status: str = "ok"
    error_type: str | None = None
    finish_reason: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    app_version: str | None = None
    variant: str | None = None
    """Slices the UX analytics are grouped by; carried along, not used by enrichers."""
    latency_ms: float | None = None
    cost_usd: float | None = None
    retry_of: str | None = None
    """Set when the app reported this turn as a regenerate/retry of another; stored with the signals."""
    trace_id: str | None = None
    """Calls of one trace answer one user request (:mod:`heron.enrich.history`)."""

    @classmethod
    def from_interaction(cls, item: Interaction) -> Turn:
        text, previous = split_messages([{"role": m.role, "content": m.content} for m in item.input])
        output = item.output[:MAX_ENRICH_CHARS] if item.output else ""
        return cls(
            interaction_id=item.id or "", project=item.project or "", start_time=float(item.start_time),  # type: ignore[arg-type]
            conversation_id=item.conversation_id, user_id=item.user_id, user_text=text, previous_user_texts=previous,
            reply_text=output, status=item.status or "ok", error_type=item.error_type, finish_reason=item.finish_reason,
            model=item.model, prompt_version=item.prompt_version, app_version=item.app_version, variant=item.variant,
            latency_ms=item.latency_ms, cost_usd=item.cost_usd, retry_of=getattr(item, "retry_of", None),
            trace_id=item.trace_id,
        )  # fmt: skip


@dataclass(slots=True)
class Signals:
    """What enrichment found in one turn; None means "not computed"."""

    interaction_id: str
    language: str | None = None
    """ISO 639-1 code, or "und" when undetermined (too short, emoji only, not text)."""
    reply_language: str | None = None
    """The reply's language, the same way ("und" for code, an empty or a too short reply)."""
    language_mismatch: bool | None = None
    """The reply is in another language than the user writes in (both determined; :mod:`heron.enrich.language`)."""
    sentiment: float | None = None
    """User message polarity, VADER compound in [-1, 1]."""
    reply_sentiment: float | None = None
    cues: list[str] = field(default_factory=list)
    """Subset of CUES present in the user message."""
    rephrase: bool | None = None
    """The user asks again what they asked before, in other words."""
    repeat: bool | None = None
    """The user sends (nearly) the same message again."""
    similarity: float | None = None
    """Highest semantic similarity to an earlier user message of the conversation, in [-1, 1]."""
    complaint: bool | None = None
    """Explicit complaint about the answer ("that's not what I asked", "you already said that")."""
    shouting: bool | None = None
    """ALL CAPS or repeated !!!/??? ."""
    refusal: bool | None = None
    """The reply declines to help."""
    empty_reply: bool | None = None
    truncated: bool | None = None
    """finish_reason == "length"."""
    error: bool | None = None
    frustration: float | None = None
    """0..1, how frustrated the user message reads (combines the signals above)."""
    topic_id: int | None = None
    topic_similarity: float | None = None

    @property
    def unexpected_response(self) -> bool:
        """Model-side trouble: refusal, empty, truncated or failed."""
        return bool(self.refusal or self.empty_reply or self.truncated or self.error)


class Enricher(Protocol):
    """One enrichment step over a batch; fills its fields of ``signals`` (same order as ``turns``)."""

    name: str

    def enrich(self, turns: Sequence[Turn], signals: Sequence[Signals]) -> None: ...
