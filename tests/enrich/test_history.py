"""Stored history for turns whose input carries only the newest user message (heron.enrich.history)."""

from __future__ import annotations

import numpy as np

from heron.enrich.base import Turn
from heron.enrich.frustration import FrustrationEnricher
from heron.enrich.history import (
    HISTORY_WINDOW_S,
    MAX_STORED_HISTORY,
    Said,
    needs_history,
    to_revisit,
    with_history,
)
from heron.enrich.pipeline import run

T0 = 1_700_000_000.0


def _turn(ident: str, text: str, t: float, *, conversation: str | None = "c1", previous: list[str] | None = None,
          trace: str | None = None, project: str = "p") -> Turn:
    return Turn(interaction_id=ident, project=project, start_time=T0 + t, conversation_id=conversation, user_id="u",
                user_text=text, previous_user_texts=list(previous or []), reply_text="ok", trace_id=trace or f"tr-{ident}")


def _said(ident: str, text: str, t: float, *, conversation: str = "c1", trace: str | None = None,
          project: str = "p") -> Said:
    return Said(project, conversation, ident, T0 + t, text, trace or f"tr-{ident}")


def test_a_turn_without_input_history_gets_the_stored_messages_oldest_first() -> None:
    stored = [_said("a", "first question", 0), _said("b", "second question", 60)]
    (turn,) = with_history([_turn("c", "third question", 120)], stored)
    assert turn.previous_user_texts == ["first question", "second question"]


def test_input_history_is_kept_as_it_is() -> None:
    original = _turn("c", "again?", 120, previous=["from the app"])
    (turn,) = with_history([original], [_said("a", "stored one", 0)])
    assert turn is original and turn.previous_user_texts == ["from the app"]
    assert not needs_history(original)


def test_turns_without_a_conversation_get_nothing() -> None:
    original = _turn("c", "hello", 120, conversation=None)
    assert not needs_history(original)
    assert with_history([original], [_said("a", "hello", 0)]) == [original]


def test_the_input_turns_are_not_changed() -> None:
    original = _turn("c", "third", 120)
    (turn,) = with_history([original], [_said("a", "first", 0)])
    assert turn is not original and original.previous_user_texts == [] and turn.previous_user_texts == ["first"]


def test_window_limit_and_strictly_earlier() -> None:
    old = [_said(f"m{i}", f"message {i}", i) for i in range(MAX_STORED_HISTORY + 3)]
    stored = [_said("gone", "too long ago", -HISTORY_WINDOW_S - 1), *old, _said("same", "same instant", 500),
              _said("later", "after it", 600)]
    (turn,) = with_history([_turn("x", "now", 500)], stored)
    assert turn.previous_user_texts == [f"message {i}" for i in range(3, MAX_STORED_HISTORY + 3)]
    (edge,) = with_history([_turn("y", "now", HISTORY_WINDOW_S)], [_said("a", "exactly one window before", 0)])
    assert edge.previous_user_texts == ["exactly one window before"]


def test_other_conversations_and_projects_do_not_count() -> None:
    stored = [_said("a", "other conversation", 0, conversation="c2"), _said("b", "other project", 0, project="q"),
              _said("c", "mine", 1)]
    (turn,) = with_history([_turn("x", "now", 60)], stored)
    assert turn.previous_user_texts == ["mine"]


def test_calls_of_the_same_trace_are_one_request() -> None:
    stored = [
        _said("a1", "book a flight", 0, trace="t1"),
        _said("a2", "book a flight", 2, trace="t1"),  # the agent's second model call for the same message
        _said("b1", "to Lisbon please", 30, trace="t2"),
        _said("b2", "to Lisbon please", 31, trace="t2"),
    ]
    (turn,) = with_history([_turn("b3", "to Lisbon please", 33, trace="t2")], stored)
    assert turn.previous_user_texts == ["book a flight"]  # its own trace left out, the earlier one counted once


def test_blank_messages_are_skipped() -> None:
    (turn,) = with_history([_turn("x", "now", 60)], [_said("a", "real", 0), _said("b", "  ", 10), _said("c", "", 20)])
    assert turn.previous_user_texts == ["real"]


def test_turns_of_one_batch_see_each_other_in_time_order_whatever_the_order_given() -> None:
    batch = [_turn("3", "third", 20), _turn("1", "first", 0), _turn("2", "second", 10)]
    out = {t.interaction_id: t.previous_user_texts for t in with_history(batch)}
    assert out == {"1": [], "2": ["first"], "3": ["first", "second"]}


def test_a_stored_call_and_a_batch_turn_with_the_same_id_are_one_call() -> None:
    batch = [_turn("1", "first", 0), _turn("2", "second", 10)]
    (_, second) = with_history(batch, [_said("1", "first", 0), _said("0", "zeroth", -10)])
    assert second.previous_user_texts == ["zeroth", "first"]


def test_to_revisit_picks_later_enriched_turns_that_needed_history() -> None:
    late = _turn("1", "first question", 0)
    candidates = [
        _turn("2", "second", 30),  # later, no input history: re-evaluated
        _turn("3", "with history", 40, previous=["x"]),  # carried its own history: unaffected
        _turn("4", "too late", HISTORY_WINDOW_S + 1),  # outside the window
        _turn("5", "before", -5),  # earlier than the late turn
        _turn("6", "other conversation", 30, conversation="c2"),
        _turn("7", "same trace", 30, trace="tr-1"),
        _turn("2", "second", 30),  # given twice (store and in-flight batch)
        late,  # the batch's own turn
    ]
    assert [t.interaction_id for t in to_revisit([late], candidates)] == ["2"]
    assert to_revisit([_turn("b", "   ", 0)], candidates) == []  # a blank message is no one's history


class _Words:
    """A stand-in embedder: bag of words over a tiny vocabulary (enough for rephrase/repeat here)."""

    def __call__(self, texts: list[str]) -> np.ndarray:
        vocab = ["password", "reset", "change", "forgot", "pizza", "dough", "steps", "account"]
        rows = np.array([[float(w in t.lower()) for w in vocab] + [0.01] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_frustration_fires_with_stored_history_and_not_without() -> None:
    enricher = FrustrationEnricher(embedder=_Words())
    first = "How do I reset my password?"
    turns = [_turn("1", first, 0), _turn("2", "I mean, what are the steps to change a forgotten password?", 30),
             _turn("3", first, 60), _turn("x", "How long should pizza dough rest?", 30, conversation="other")]
    alone = run([enricher], turns)
    assert not any(s.repeat or s.rephrase for s in alone)  # each input holds one message: nothing to compare
    signals = {s.interaction_id: s for s in run([enricher], with_history(turns))}
    assert signals["2"].rephrase and not signals["2"].repeat
    assert signals["3"].repeat
    assert not (signals["1"].repeat or signals["1"].rephrase or signals["x"].repeat or signals["x"].rephrase)


def test_behaviour_with_input_history_is_unchanged() -> None:
    enricher = FrustrationEnricher(embedder=_Words())
    turns = [_turn("2", "How do I reset my password?", 60, previous=["What is the weather?"])]
    stored = [_said("1", "How do I reset my password?", 0)]
    assert run([enricher], with_history(turns, stored)) == run([enricher], turns)
