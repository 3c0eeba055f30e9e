"""Earlier user messages for turns whose input carries only the newest one.

Apps that send the whole chat with every call (the SDK, OpenAI-style message
lists) give each turn its history in its input: ``Turn.previous_user_texts``.
OpenTelemetry spans often carry the current user message only; for those,
the signals that compare a message with earlier ones (``repeat``,
``rephrase``, ``similarity``, the conversation-only complaint phrases, the
topic context rule) take the earlier turns Heron stored. The rule:

- only a turn with a ``conversation_id`` and no earlier user message in its
  input (:func:`needs_history`) gets stored history; a turn whose input has one
  keeps exactly what it had;
- its history is the newest user message of each call of the same project and
  conversation that started in the :data:`HISTORY_WINDOW_S` (one session gap)
  before it, strictly earlier, oldest first, the last :data:`MAX_STORED_HISTORY`;
- calls of the turn's own trace are left out: they are the same user request
  (an agent's or a chain's several model calls for one message), not an
  earlier one; within an earlier trace the same text counts once;
- blank messages are skipped.

Stored calls and the calls of the batch being enriched count alike, so the
turns of one conversation in one batch see each other in ``start_time`` order,
whatever order they arrived in. A call that arrives after a later turn of its
conversation was enriched (late, out-of-order data) is history for that turn
too: :func:`to_revisit` picks such turns so the enrichment worker can compute
their signals again (:mod:`heron.server.enrichment`).

Pure functions over :class:`~heron.enrich.base.Turn` and :class:`Said`; the
store finds the messages (one query per batch), the worker attaches them.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from heron.enrich.base import Turn

HISTORY_WINDOW_S = 3600.0
"""Earlier calls count if they started at most this long before the turn (the UX session gap)."""
MAX_STORED_HISTORY = 8
"""At most this many stored user messages per turn (the newest ones)."""


@dataclass(frozen=True, slots=True)
class Said:
    """The newest user message of one stored call (truncated as enrichment truncates)."""

    project: str
    conversation_id: str
    interaction_id: str
    start_time: float
    text: str
    trace_id: str | None = None

    @classmethod
    def of(cls, turn: Turn) -> Said:
        return cls(turn.project, turn.conversation_id or "", turn.interaction_id, turn.start_time, turn.user_text,
                   turn.trace_id)


@dataclass(frozen=True, slots=True)
class ConversationHistory:
    """What the store finds for one batch (:meth:`heron.store.base.Store.conversation_history`)."""

    messages: list[Said]
    """User messages of the batch's conversations stored outside the batch, in the windows around its turns."""
    enriched: list[Turn]
    """Already-enriched turns of those conversations that need history and started after one of the
    batch's turns, within the window: candidates for :func:`to_revisit`."""


def needs_history(turn: Turn) -> bool:
    """A turn of a known conversation whose input holds no earlier user message."""
    return turn.conversation_id is not None and not turn.previous_user_texts


def with_history(turns: Sequence[Turn], messages: Iterable[Said] = (), *, window_s: float = HISTORY_WINDOW_S,
                 limit: int = MAX_STORED_HISTORY) -> list[Turn]:
    """``turns`` with stored history given to those that :func:`need <needs_history>` it (copies; the rest as they are).

    ``messages`` are the stored calls; the turns themselves count as stored
    too (a turn and a message with the same id are one call).
    """
    wanted = {(t.project, t.conversation_id) for t in turns if needs_history(t)}
    if not wanted:
        return list(turns)
    # (start, id, text, trace) per call, by conversation and id: a call stored and in the batch counts once
    calls: dict[tuple[str, str | None], dict[str, _Call]] = {}
    for said in messages:
        key = (said.project, said.conversation_id)
        if key in wanted:
            calls.setdefault(key, {})[said.interaction_id] = (said.start_time, said.interaction_id, said.text, said.trace_id)
    for turn in turns:
        key = (turn.project, turn.conversation_id)
        if key in wanted:
            calls.setdefault(key, {})[turn.interaction_id] = (turn.start_time, turn.interaction_id, turn.user_text,
                                                              turn.trace_id)
    ordered = {key: sorted(found.values()) for key, found in calls.items()}
    out = []
    for turn in turns:
        if needs_history(turn):
            earlier = _earlier(turn, ordered[(turn.project, turn.conversation_id)], window_s, limit)
            if earlier:
                turn = _copy(turn)
                turn.previous_user_texts = earlier
        out.append(turn)
    return out


_Call = tuple[float, str, str, "str | None"]
_FIELDS = tuple(f.name for f in dataclasses.fields(Turn))


def _copy(turn: Turn) -> Turn:
    """A shallow copy (a third of ``dataclasses.replace``'s cost, which runs ``__init__``)."""
    new: Turn = object.__new__(Turn)
    for name in _FIELDS:
        setattr(new, name, getattr(turn, name))
    return new


def _earlier(turn: Turn, calls: list[_Call], window_s: float, limit: int) -> list[str]:
    """The turn's stored history, oldest first (``calls`` sorted by start time)."""
    found: list[str] = []
    seen: set[tuple[str, str]] = set()
    since = turn.start_time - window_s
    for index in range(bisect.bisect_left(calls, (turn.start_time,)) - 1, -1, -1):
        start, _, text, trace = calls[index]
        if start < since or len(found) >= limit:
            break
        if not text or text.isspace() or (turn.trace_id is not None and trace == turn.trace_id):
            continue
        if trace is not None:
            if (trace, text) in seen:
                continue
            seen.add((trace, text))
        found.append(text)
    found.reverse()
    return found


def to_revisit(turns: Sequence[Turn], candidates: Iterable[Turn], *, window_s: float = HISTORY_WINDOW_S) -> list[Turn]:
    """The candidates (turns enriched before) for which a turn of ``turns`` is new history.

    A candidate qualifies when it :func:`needs history <needs_history>`, is not
    one of ``turns``, and starts after a non-blank turn of ``turns`` of its
    conversation (another trace) by at most ``window_s``. Each is returned
    once, in start-time order.
    """
    ids = {t.interaction_id for t in turns}
    by_conversation: dict[tuple[str, str | None], list[Turn]] = {}
    for turn in turns:
        if turn.conversation_id is not None and turn.user_text and not turn.user_text.isspace():
            by_conversation.setdefault((turn.project, turn.conversation_id), []).append(turn)
    chosen: dict[str, Turn] = {}
    for candidate in candidates:
        if candidate.interaction_id in ids or candidate.interaction_id in chosen or not needs_history(candidate):
            continue
        for turn in by_conversation.get((candidate.project, candidate.conversation_id), ()):
            other_trace = candidate.trace_id is None or turn.trace_id != candidate.trace_id
            if other_trace and turn.start_time < candidate.start_time <= turn.start_time + window_s:
                chosen[candidate.interaction_id] = candidate
                break
    return sorted(chosen.values(), key=lambda t: (t.start_time, t.interaction_id))
