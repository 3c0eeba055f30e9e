"""Topic discovery on demo traffic: found, labelled, assignable, editable, serialisable (the integrator's checks)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from heron.demo.generator import Scenario, generate
from heron.enrich.base import Turn
from heron.enrich.embeddings import embed
from heron.enrich.topics import TopicModel


def test_fit_assign_edit_round_trip() -> None:
    turns = list(generate(Scenario(seed=3, users=300, interactions_per_hour=300)))[:2000]
    texts = [Turn.from_interaction(t.interaction).user_text for t in turns]
    truth = [t.truth.topic for t in turns]
    model = TopicModel.fit(texts, seed=0)
    assert 5 <= len(model.topics) <= 30
    ids, similarities = model.assign(embed(texts))
    assert adjusted_rand_score(truth, ids) > 0.3
    assert np.all((similarities >= -1.0001) & (similarities <= 1.0001))
    labels = " ".join(t.label for t in model.topics)
    assert "billing" in labels or "payment" in labels
    first, second = model.topics[0].id, model.topics[1].id
    model.rename(first, "Workouts")
    merged = model.merge([first, second], label="Merged")
    again = TopicModel.from_dict(model.to_dict())
    assert any(t.label == "Merged" for t in again.topics) and again.resolve(first) == merged
    assert np.array_equal(again.assign(embed(texts[:50]))[0], model.assign(embed(texts[:50]))[0])


def test_too_little_data_gives_an_empty_model() -> None:
    model = TopicModel.fit(["", "🙂", "hi"], seed=0)
    ids, _ = model.assign(embed(["hello"]))
    assert list(ids) == [-1]
