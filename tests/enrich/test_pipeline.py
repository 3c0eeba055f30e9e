"""The enrichment worker: per-project topics, embeddings shared and computed once, emerging topics, fit and backfill."""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest

from heron.demo.generator import DEFAULT_START, Incident, Scenario, generate
from heron.demo.scenario import DAY
from heron.enrich import embeddings, pipeline
from heron.enrich.base import Signals, Turn
from heron.enrich.embeddings import EmbeddingMemo, embed
from heron.enrich.pipeline import BatchEnricher, assign_topics, fit_topic_model
from heron.enrich.emerging import EmergingTopicDetector
from heron.enrich.topics import NOISE, TopicModel
from heron.errors import ConfigError, ValidationError

WIDTH = 256


def hashed(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in embedder: each lower-case word on its own (crc32-hashed) axis, L2-normalised."""
    out = np.zeros((len(texts), WIDTH), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace("?", " ").replace("!", " ").replace(".", " ").split():
            out[row, zlib.crc32(word.encode()) % WIDTH] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


class Counting:
    """``hashed``, remembering every text it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return hashed(texts)


BILLING = ["refund invoice charged twice", "charged twice refund please", "invoice refund card charged"]
CODING = ["python list sort error", "sort python dict list", "python error traceback list"]
COOKING = ["pasta recipe garlic sauce", "garlic pasta sauce recipe", "vegan pasta recipe"]


def model_of(**topics: list[str]) -> dict[str, object]:
    model = TopicModel(dimensions=WIDTH)
    for label, examples in topics.items():
        model.add_topic(model.centroid_of(hashed(examples)), label=label)
    return model.to_dict()


def turn(project: str, text: str, previous: Sequence[str] = (), *, at: float = DEFAULT_START,
         conversation: str = "c") -> Turn:
    return Turn(interaction_id=f"{project}:{text}", project=project, start_time=at, conversation_id=conversation,
                user_id="u", user_text=text, previous_user_texts=list(previous), reply_text="Sure, here you go.")


# -- per-project topics --------------------------------------------------------------------------------------


def test_each_project_uses_its_own_model() -> None:
    enricher = BatchEnricher(embed=hashed)
    enricher.set_topic_models({"a": model_of(billing=BILLING, coding=CODING), "b": model_of(cooking=COOKING)})
    turns = [turn("a", "refund charged twice on my invoice"), turn("b", "garlic pasta recipe"),
             turn("a", "garlic pasta recipe"), turn("b", "refund charged twice on my invoice"),
             turn("c", "refund charged twice on my invoice"), turn("a", "python sort error"),
             turn("a", "thanks", ["python sort error"])]
    signals = enricher.run(turns)
    assert [s.interaction_id for s in signals] == [t.interaction_id for t in turns]
    assert signals[0].topic_id == 0 and 0 < (signals[0].topic_similarity or 0) <= 1  # a: billing is topic 0
    assert signals[1].topic_id == 0  # b: cooking is its topic 0
    assert signals[2].topic_id == NOISE and signals[3].topic_id == NOISE  # neither model knows the other's subject
    assert signals[4].topic_id is None and signals[4].topic_similarity is None  # c has no model
    assert signals[5].topic_id == 1
    assert signals[6].topic_id == 1  # "thanks" takes its conversation's topic
    assert all(s.frustration is not None and s.language is not None for s in signals)  # the other steps ran


def test_models_are_replaced_and_removed() -> None:
    enricher = BatchEnricher(embed=hashed)
    enricher.set_topic_models({"a": model_of(billing=BILLING), "b": model_of(cooking=COOKING)})
    enricher.set_topic_models({"b": model_of(cooking=COOKING, coding=CODING)})
    first, second = enricher.run([turn("a", "refund charged twice"), turn("b", "python sort error")])
    assert first.topic_id is None and second.topic_id == 1
    assert set(enricher.emerging()) == {"b"}
    with pytest.raises(ValidationError, match="bad"):
        enricher.set_topic_models({"a": model_of(billing=BILLING), "bad": {"format": 99}})
    first, = enricher.run([turn("a", "refund charged twice")])
    assert first.topic_id == 0  # the good model is in place despite the bad one
    assert set(BatchEnricher(embed=hashed, emerging=False).emerging()) == set()


# -- embeddings once -----------------------------------------------------------------------------------------


def test_each_text_is_embedded_once_across_enrichers_and_batches() -> None:
    counting = Counting()
    enricher = BatchEnricher(embed=counting)
    enricher.set_topic_models({"a": model_of(billing=BILLING, coding=CODING), "b": model_of(cooking=COOKING)})
    history = ["refund charged twice", "python sort error"]
    # lower case, no markers: what frustration compares is the text itself, so both enrichers want the same strings
    batch = [turn("a", "refund charged twice again", history), turn("a", "refund charged twice again", history),
             turn("b", "garlic pasta recipe", ["vegan pasta recipe"]), turn("b", "thanks", ["garlic pasta recipe"]),
             turn("c", "refund charged twice", [])]
    enricher.run(batch)
    counts = Counter(counting.texts)
    assert counts and max(counts.values()) == 1, counts
    wanted = {t.user_text for t in batch} | {p for t in batch for p in t.previous_user_texts}
    assert set(counts) == wanted
    before = len(counting.texts)
    enricher.run(batch)
    assert len(counting.texts) == before  # all remembered

    plain = Counting()
    steps = pipeline.default_enrichers(model_of(billing=BILLING), embed=plain)
    pipeline.run(steps, [t for t in batch if t.project == "a"])
    assert max(Counter(plain.texts).values()) == 1


def test_memo_is_bounded_and_exact() -> None:
    counting = Counting()
    memo = EmbeddingMemo(counting, size=3)
    texts = ["a b", "c d", "a b", "e f", "g h", ""]
    np.testing.assert_array_equal(memo(texts), hashed(texts))
    assert len(memo) == 3 and memo.embedded == 5
    np.testing.assert_array_equal(memo(["g h", "a b", "g h"]), hashed(["g h", "a b", "g h"]))
    assert len(memo) == 3 and memo([]).shape == (0, WIDTH)
    assert EmbeddingMemo(counting, size=0)(["x"]).shape == (1, WIDTH)


def test_fast_pooling_matches_wordllama() -> None:
    texts = ["How do I cancel my Pro plan?", "", "   ", "Wie kann ich mein Passwort zurücksetzen?", "😀👍",
             "x" * 3_000, "lone \ud800 surrogate"]
    ours = embed(texts)
    kept = [0, 3, 4, 5, 6]
    theirs = embeddings.model().embed([texts[i].encode("utf-8", "replace").decode("utf-8") for i in kept], norm=True)
    np.testing.assert_allclose(ours[kept], theirs, atol=1e-5)
    assert not ours[[1, 2]].any()
    np.testing.assert_allclose(np.linalg.norm(ours[kept], axis=1), 1.0, atol=1e-5)


# -- emerging topics -----------------------------------------------------------------------------------------

ONSET = DEFAULT_START + DAY + 8 * 3600.0
_MEMO = EmbeddingMemo(size=50_000)


Taxes = tuple[dict[str, object], list[tuple[Turn, str]], BatchEnricher]


@pytest.fixture(scope="module")
def taxes() -> Taxes:
    """Two projects see the same traffic: fitted on day 1, then 11 h of day 2 with taxes from 08:00.

    Returns the model, day 2's turns with their true topic, and the worker after it saw them.
    """
    scenario = Scenario(seed=4, end=DEFAULT_START + DAY + 11 * 3600.0,
                        incidents=(Incident("topic", ONSET, topic="taxes", share=0.1, duration=None),))
    rows = [(Turn.from_interaction(g.interaction), g.truth.topic) for g in generate(scenario)]
    first = [t.user_text for t, _ in rows if t.start_time < DEFAULT_START + DAY]
    model = fit_topic_model(first, embeddings=_MEMO(first), seed=0)
    later = [(t, topic) for t, topic in rows if t.start_time >= DEFAULT_START + DAY]
    enricher = BatchEnricher(embed=_MEMO)
    enricher.set_topic_models({"p": model, "q": model})
    for start in range(0, len(later), 200):
        batch = [t for t, _ in later[start:start + 200]]
        enricher.run([dataclasses.replace(t, project=p) for t in batch for p in "pq"])
    return model, later, enricher


def test_emerging_candidates_are_reported_per_project(taxes: Taxes) -> None:
    _, _, enricher = taxes
    found = enricher.emerging()
    assert set(found) == {"p", "q"} and len(found["p"]) == 1 and len(found["q"]) == 1, found
    candidate = found["p"][0]
    assert json.loads(json.dumps(candidate)) == candidate  # JSON-ready
    assert set(candidate) == {"id", "label", "keywords", "size", "share", "first_seen", "detected_at", "examples",
                              "centroid", "words"}
    assert ONSET <= candidate["detected_at"] <= ONSET + 2.5 * 3600
    assert {"tax", "taxes", "deadline", "income", "deductible", "deduct", "schedule", "crypto"} & {
        w for w, _ in candidate["keywords"][:6]}, candidate["keywords"]
    assert len(candidate["centroid"]) == 256 and candidate["size"] >= 20 and candidate["examples"]


def test_dismiss_and_forget(taxes: Taxes) -> None:
    model_data, later, enricher = taxes
    p_id = enricher.emerging()["p"][0]["id"]
    enricher.dismiss("p", p_id)
    enricher.dismiss("p", p_id)  # already gone: ignored
    enricher.dismiss("nobody", 0)
    assert enricher.emerging()["p"] == []

    # The server accepts q's candidate into its copy of the model, tells the worker, then sends the new model.
    candidate = enricher.emerging()["q"][0]
    model = TopicModel.from_dict(model_data)
    new_id = model.add_topic(np.asarray(candidate["centroid"]), keywords=[tuple(k) for k in candidate["keywords"]],
                             label="Taxes", size=candidate["size"], words=candidate["words"])
    enricher.forget("q", candidate["id"])
    assert enricher.emerging()["q"] == []
    enricher.set_topic_models({"p": model_data, "q": model.to_dict()})
    questions = [t for t, topic in later if topic == "taxes"][-100:]
    signals = enricher.run([dataclasses.replace(t, project=p) for t in questions for p in "pq"])  # p, q, p, q, ...
    q_ids = np.array([s.topic_id for s in signals[1::2]])
    assert (q_ids == new_id).mean() >= 0.5 and new_id not in [s.topic_id for s in signals[0::2]]
    assert enricher.emerging() == {"p": [], "q": []}  # dismissed and accepted: neither comes back


def test_detector_keeps_history_for_an_edited_model_and_restarts_for_a_refit() -> None:
    texts = [f"{w} question number {i}" for w in ("refund", "python", "pasta") for i in range(15)]
    model = TopicModel.fit(texts, embeddings=hashed(texts), min_topic_size=5)
    detector = EmergingTopicDetector(model, window=600.0, history=3600.0, min_size=5, check_every=1_000)
    detector.update(hashed(["tax deadline", "crypto taxes"]), [DEFAULT_START, DEFAULT_START + 1])
    kept = len(detector._points)
    edited = TopicModel.from_dict(model.to_dict())
    edited.rename(edited.topics[0].id, "Renamed")
    assert detector.set_model(edited) and len(detector._points) == kept and detector.model is edited
    refitted = TopicModel.fit(texts[:30], embeddings=hashed(texts[:30]), min_topic_size=5)
    assert not detector.set_model(refitted) and len(detector._points) == 0


# -- fitting and backfill ------------------------------------------------------------------------------------


def test_fit_topic_model_round_trip() -> None:
    texts = [f"{w} question number {i}" for w in ("refund invoice", "python error", "pasta recipe") for i in range(12)]
    data = fit_topic_model(texts, embeddings=hashed(texts), min_topic_size=5)
    assert json.loads(json.dumps(data)) == data
    assert TopicModel.from_dict(data).to_dict() == data and len(data["topics"]) >= 2
    with pytest.raises(ValidationError) as caught:
        fit_topic_model(["hello", "", "hi"], embeddings=hashed(["hello", "", "hi"]))
    assert caught.value.field == "texts"
    with pytest.raises(ConfigError, match="min_topic_size"):
        fit_topic_model(texts, embeddings=hashed(texts), min_size=5)


def test_assign_topics_matches_the_worker() -> None:
    model = model_of(billing=BILLING, coding=CODING)
    texts = ["refund charged twice", "thanks", "thanks", "", "python sort error"]
    previous: list[str | None] = [None, "python sort error", None, "refund charged twice", "refund charged twice"]
    pairs = assign_topics(model, texts, previous, embed=hashed)
    assert [topic for topic, _ in pairs] == [0, 1, NOISE, NOISE, 1]
    assert pairs[3] == (NOISE, None) and pairs[2][1] is not None and 0 < (pairs[0][1] or 0) <= 1

    enricher = BatchEnricher(embed=hashed)
    enricher.set_topic_models({"a": model})
    signals: list[Signals] = enricher.run([turn("a", t, [p] if p else []) for t, p in zip(texts, previous)])
    assert [(s.topic_id, s.topic_similarity) for s in signals] == pairs
    assert enricher.assign_topics("a", texts, previous) == pairs
    assert assign_topics(model, [], []) == []
    with pytest.raises(ConfigError):
        assign_topics(model, ["x"], [])
    with pytest.raises(ConfigError):
        enricher.assign_topics("nobody", texts, previous)
