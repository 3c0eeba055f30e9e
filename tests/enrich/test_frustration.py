"""Rephrase, repeat, complaint, shouting, refusal, empty/truncated/error replies and the frustration score."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heron.enrich.base import Signals, Turn
from heron.enrich.frustration import (
    WEIGHTS,
    FrustrationEnricher,
    complaint,
    content_words,
    frustration,
    refusal,
    shouting,
)
from heron.enrich.sentiment import SentimentEnricher

DATA = Path(__file__).parent / "data"


def conversations(name: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["labels"] = set(row["y"].split())
    return rows


def turn(user: str, previous: Sequence[str] = (), reply: str = "Sure, here you go.", **kw: Any) -> Turn:
    return Turn("i", "p", 0.0, "c", "u", user, list(previous), reply, **kw)


class BagOfWords:
    """A deterministic stand-in embedder: hashed content words, L2-normalised."""

    calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        BagOfWords.calls += 1
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in content_words(text):
                out[row, sum(map(ord, word)) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def run(turns: list[Turn], enricher: FrustrationEnricher | None = None) -> list[Signals]:
    signals = [Signals(str(i)) for i in range(len(turns))]
    (enricher or FrustrationEnricher(embedder=BagOfWords())).enrich(turns, signals)
    return signals


# --- complaints ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "that's not what I asked", "You already said that.", "this is useless", "wrong answer", "you're not listening",
    "As I said, Lisbon", "Did you even read my question?", "That doesn't answer my question.",
    "No, that's wrong.", "You keep giving me the same link", "why is this so hard", "thanks for nothing",
    "This is the third time I ask", "your code throws an error",
    "THAT'S NOT WHAT I ASKED!!!",
])
def test_complaints(text: str) -> None:
    assert complaint(text, in_conversation=False)


@pytest.mark.parametrize("text", [
    "How do I cancel my plan?", "What's wrong with my code?", "No problem, thanks!",
    "Not now, maybe later", "That's not a problem", "No, I meant the other account", "Can you make it shorter?",
    "", "   ",
])
def test_not_complaints(text: str) -> None:
    assert not complaint(text)


def test_weak_complaints_need_an_earlier_message() -> None:
    for text in ("It still doesn't work", "I already tried that", "this doesn't work in Safari", "I said LISBON",
                 "I asked for podcasts, not books."):
        assert complaint(text, in_conversation=True)
        assert not complaint(text, in_conversation=False)
    assert not complaint("I said hello to the team.", in_conversation=False)
    [first, later] = run([turn("My code doesn't work"), turn("It still doesn't work", ["My code doesn't work"])])
    assert first.complaint is False and later.complaint is True


# --- shouting and model-side signals ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("WHY IS THIS SO HARD", True), ("HELP", True), ("where is my order???", True), ("stop!!!", True),
    ("I SAID LISBON", True), ("How do I export a CSV from the API?", False), ("I said the SECOND one", False),
    ("OK", False), ("NO", False), ("Is AWS or GCP cheaper for a USA startup?", False), ("really??", False),
    ("", False), ("😡😡", False), ("12345", False),
])
def test_shouting(text: str, expected: bool) -> None:
    assert shouting(text) is expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("I'm sorry, but I can't help with that.", True),
    ("As an AI language model, I cannot browse the internet.", True),
    ("I cannot help with creating malware.", True),
    ("I'm unable to provide legal advice.", True),
    ("That's not something I can help with.", True),
    ("Sure! Open Settings > Billing and choose Cancel.", False),
    ("I'm sorry to hear that! Let's fix it: first, check your spam folder.", False),
    ("If you can't log in, use a backup code.", False),
    ("I can't stress enough how important backups are. Run git reset --soft HEAD~1.", False),
    ("", False),
    ("Sure. " + "x" * 5000 + " I can't help with that.", False),
    ("I'm sorry, I'm not able to do that.", True),
    ("I apologize, but I can't.", True),
    ("I'd rather not help with that request.", True),
])
def test_refusal(reply: str, expected: bool) -> None:
    assert refusal(reply) is expected


@pytest.mark.parametrize("reply", [
    "Lo siento, pero no puedo ayudarte con eso.", "No puedo proporcionar asesoramiento médico.",
    "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.", "Das kann ich leider nicht.", "Ich darf keine internen Preise teilen.",
    "Je ne peux pas vous aider avec cela.", "Désolé, je ne peux pas faire ça.", "Je ne suis pas en mesure de répondre à cette question.",
    "Desculpe, mas não posso ajudar com isso.", "Não posso fornecer essa informação.", "Infelizmente não consigo fazer isso.",
    "Mi dispiace, ma non posso aiutarti con questo.", "Non posso fornire consigli medici.",
])
def test_refusals_in_other_languages(reply: str) -> None:
    assert refusal(reply) is True


@pytest.mark.parametrize("reply", [
    "No puedo esperar a verte.", "Si no puedes entrar, usa el código de respaldo.",
    "Ich kann nicht glauben, wie schnell das ging! Hier ist die Lösung.", "Das kann ich nicht genug betonen: Backups sind wichtig.",
    "Wenn Sie sich nicht anmelden können, nutzen Sie den Backup-Code.", "Je ne peux pas m'empêcher de recommander cette option.",
    "Você não pode alterar a data depois do embarque, mas pode cancelar.", "Non posso credere che sia così facile: ecco i passi.",
])
def test_not_refusals_in_other_languages(reply: str) -> None:
    assert refusal(reply) is False


def test_reply_status_signals() -> None:
    outs = run([
        turn("q", reply=""),
        turn("q", reply="   \n"),
        turn("q", reply="", status="error", error_type="RateLimitError"),
        turn("q", reply="A long answer that was cut", finish_reason="length"),
        turn("q", reply="Fine.", finish_reason="stop"),
    ])
    assert [o.empty_reply for o in outs] == [True, True, False, False, False]
    assert [o.error for o in outs] == [False, False, True, False, False]
    assert [o.truncated for o in outs] == [False, False, False, True, False]
    assert outs[2].unexpected_response and not outs[4].unexpected_response


# --- repeat and rephrase ---------------------------------------------------------------------------

def test_repeat_is_the_same_message_again() -> None:
    previous = ["How do I cancel my Pro plan?"]
    [same, shouted, reworded, other, first] = run([
        turn("how do I cancel my pro plan??", previous),
        turn("HOW DO I CANCEL MY PRO PLAN!!!", previous),
        turn("I want to stop my Pro subscription, where is that?", previous),
        turn("Convert 10 miles to km", ["Convert 5 miles to km"]),
        turn("How do I cancel my Pro plan?"),
    ])
    assert same.repeat and not same.rephrase
    assert shouted.repeat and shouted.shouting
    assert not reworded.repeat
    assert not other.repeat
    assert first.repeat is False and first.rephrase is False and first.similarity is None


def test_small_talk_twice_is_not_a_repeat() -> None:
    outs = run([turn("ok", ["ok"]), turn("thanks!", ["thanks"]), turn("hi", ["hi"])])
    assert not any(o.repeat or o.rephrase for o in outs)


def test_number_words_match_digits() -> None:
    [out] = run([turn("can i pause my membership for 2 months", ["Can I pause my membership for two months?"])])
    assert out.repeat


def test_complaint_phrases_are_dropped_before_comparing() -> None:
    [out] = run([turn("That's not what I asked. How do I cancel my Pro plan", ["How do I cancel my Pro plan?"])],
                FrustrationEnricher(embedder=BagOfWords()))
    assert out.complaint and out.similarity is not None and out.similarity > 0.9


def test_real_embeddings_separate_rephrase_from_follow_up() -> None:
    previous = ["How do I sort a list of dicts by a key in Python?"]
    [rephrase, follow_up] = run(
        [turn("What's the best way to order a list of dictionaries by one field in python", previous),
         turn("Can you show the same thing in JavaScript?", previous)],
        FrustrationEnricher(),
    )
    assert rephrase.rephrase and not rephrase.repeat
    assert not follow_up.rephrase
    assert rephrase.similarity is not None and follow_up.similarity is not None
    assert -1.0 <= follow_up.similarity < rephrase.similarity <= 1.0


def test_without_semantics_similarity_is_not_computed() -> None:
    [out] = run([turn("how do i cancel my pro plan", ["How do I cancel my Pro plan?"])],
                FrustrationEnricher(semantic=False))
    assert out.repeat and out.similarity is None


def test_each_text_is_embedded_once_per_batch_and_cached_across_batches() -> None:
    embedder = BagOfWords()
    enricher = FrustrationEnricher(embedder=embedder)
    BagOfWords.calls = 0
    history = ["first question about billing", "second question about invoices"]
    run([turn("third question about refunds", history), turn("another about refunds", history)], enricher)
    assert BagOfWords.calls == 1
    run([turn("third question about refunds", history)], enricher)
    assert BagOfWords.calls == 1


def test_cache_is_bounded() -> None:
    enricher = FrustrationEnricher(embedder=BagOfWords(), cache_size=5)
    for i in range(10):
        run([turn(f"question number {i} about plans", [f"earlier {i} about billing", f"older {i} invoice"])], enricher)
    assert len(enricher._vectors) <= 6 and len(enricher._messages) <= 5


# --- bad input -------------------------------------------------------------------------------------

def test_bad_input_never_raises() -> None:
    huge = "why was I charged twice " * 50_000
    turns = [
        turn("", ["earlier"]), turn("   ", ["earlier"]), turn("😡😡😡", ["😡😡😡"]), turn("\x00\ud800", ["x"]),
        turn("Pourquoi ai-je été débité deux fois ?", ["Comment annuler mon abonnement ?"]),
        turn("私の注文はどこですか", ["注文がまだ届きません"]), turn(huge, [huge, "", "  "], reply=huge),
        turn("q", ["", "   "]),
    ]
    start = time.perf_counter()
    outs = run(turns, FrustrationEnricher())
    assert time.perf_counter() - start < 5.0
    for out in outs:
        assert out.frustration is not None and 0.0 <= out.frustration <= 1.0
        assert out.similarity is None or -1.0001 <= out.similarity <= 1.0001
    assert outs[0].rephrase is False and outs[0].similarity is None
    assert outs[7].similarity is None  # only blank history
    assert outs[6].repeat and outs[6].complaint is False


def test_a_failing_embedder_falls_back_to_word_overlap(caplog: pytest.LogCaptureFixture) -> None:
    def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model gone")

    [repeat, other] = run([turn("How do I cancel my Pro plan", ["how do i cancel my pro plan?"]),
                           turn("Where are my invoices?", ["how do i cancel my pro plan?"])],
                          FrustrationEnricher(embedder=broken))
    assert repeat.repeat and repeat.similarity is None and not other.rephrase
    assert "embedding 2 texts failed" in caplog.text


def test_turns_and_signals_must_align() -> None:
    with pytest.raises(ValueError):
        FrustrationEnricher(embedder=BagOfWords()).enrich([turn("a"), turn("b")], [Signals("x")])


# --- the frustration score -------------------------------------------------------------------------

def test_frustration_is_a_noisy_or_of_the_signals() -> None:
    assert frustration(Signals("x")) == 0.0
    assert frustration(Signals("x", complaint=True)) == pytest.approx(WEIGHTS["complaint"])
    both = frustration(Signals("x", complaint=True, rephrase=True))
    assert both == pytest.approx(1 - (1 - WEIGHTS["complaint"]) * (1 - WEIGHTS["rephrase"]), abs=1e-4)
    worst = Signals("x", complaint=True, repeat=True, rephrase=True, shouting=True, cues=["anger", "confusion"],
                    sentiment=-1.0)
    assert 0.95 < frustration(worst) <= 1.0
    assert frustration(Signals("x", sentiment=-0.5)) == pytest.approx(WEIGHTS["negative"] * 0.5, abs=1e-4)
    assert frustration(Signals("x", sentiment=0.9, cues=["gratitude"])) == 0.0
    # model-side trouble alone does not make the user's message frustrated
    assert frustration(Signals("x", refusal=True, empty_reply=True, truncated=True, error=True)) == 0.0


def test_frustration_uses_sentiment_and_cues_when_they_ran_first() -> None:
    turns = [turn("This is useless, you're wasting my time", ["How do I export?"])]
    signals = [Signals("0")]
    FrustrationEnricher(embedder=BagOfWords()).enrich(turns, signals)
    alone = signals[0].frustration
    signals = [Signals("0")]
    SentimentEnricher().enrich(turns, signals)
    FrustrationEnricher(embedder=BagOfWords()).enrich(turns, signals)
    assert alone is not None and signals[0].frustration is not None and signals[0].frustration > alone


# --- quality floors (exact figures: docs/ux-quality.md, bench/eval_signals.py) ----------------------

@pytest.mark.parametrize("name", ["conversations.jsonl", "conversations_heldout.jsonl"])
def test_conversation_set_floors(name: str) -> None:
    rows = conversations(name)
    turns = [turn(r["text"], r["prev"]) for r in rows]
    signals = [Signals(str(i)) for i in range(len(rows))]
    SentimentEnricher().enrich(turns, signals)
    FrustrationEnricher().enrich(turns, signals)
    for field, precision, recall in (("rephrase", 0.65, 0.65), ("repeat", 0.85, 0.8), ("complaint", 0.85, 0.65)):
        truth = [field in r["labels"] for r in rows]
        found = [bool(getattr(s, field)) for s in signals]
        tp = sum(t and f for t, f in zip(truth, found))
        assert tp / max(1, sum(found)) >= precision, field
        assert tp / max(1, sum(truth)) >= recall, field
    frustrated = [("frustrated" in r["labels"]) for r in rows]
    high = [(s.frustration or 0.0) >= 0.5 for s in signals]
    tp = sum(t and h for t, h in zip(frustrated, high))
    assert tp / max(1, sum(high)) >= 0.8 and tp / max(1, sum(frustrated)) >= 0.65


def test_demo_generator_ground_truth() -> None:
    from heron.demo.generator import Scenario, generate

    turns, truths = [], []
    for generated in itertools.islice(generate(Scenario(seed=11)), 3000):
        it = generated.interaction
        users = [m.content for m in it.input if m.role == "user" and isinstance(m.content, str)]
        turns.append(Turn(it.id or "", "p", 0.0, it.conversation_id, it.user_id, users[-1], users[:-1],
                          it.output or "", it.status or "ok", it.error_type, it.finish_reason, it.model))
        truths.append(generated.truth)
    signals = [Signals(t.interaction_id) for t in turns]
    FrustrationEnricher().enrich(turns, signals)
    from heron.demo._corpus import REFUSALS

    for field, answer in (("empty_reply", "empty"), ("truncated", "truncated"), ("error", "error")):
        assert all(bool(getattr(s, field)) == (t.answer == answer) for s, t in zip(signals, truths)), field
    # a "repetitive" answer may repeat an earlier refusal word for word: that is a refusal too
    assert all(s.refusal == (t.answer == "refusal" or u.reply_text in REFUSALS)
               for s, t, u in zip(signals, truths, turns))
    complaints = [s.complaint for s, t in zip(signals, truths) if t.complaint]
    assert complaints and sum(complaints) / len(complaints) >= 0.95
    repeats = [s.repeat for s, t in zip(signals, truths) if t.intent == "repeat"]
    assert repeats and sum(repeats) / len(repeats) >= 0.95
