"""Emerging topics: a subject that jumps (demo traffic) or ramps (hand-written messages) is reported; stable
traffic raises nothing."""

from __future__ import annotations

import numpy as np
import pytest

from bench.eval_emerging import PASSES_3_PERCENT, hand_written, ramp
from heron.demo.generator import DEFAULT_START, Incident, Scenario
from heron.demo.scenario import DAY
from heron.enrich.base import Turn
from heron.enrich.emerging import EmergingTopicDetector
from heron.enrich.topics import TopicModel
from heron.errors import ConfigError
from tests.enrich.test_topics import demo, vectors

ONSET = DEFAULT_START + DAY + 8 * 3600.0


def stream(incident: bool, *, hours: float) -> tuple[TopicModel, EmergingTopicDetector, list[tuple[float, str]],
                                                        list[tuple[Turn, str, str]]]:
    """Fit on day 1 of seed 4 (600 interactions/h), stream day 2 for ``hours``; taxes from 08:00 if ``incident``."""
    incidents = (Incident("topic", ONSET, topic="taxes", share=0.1, duration=None),) if incident else ()
    rows = demo(Scenario(seed=4, end=DEFAULT_START + DAY + hours * 3600.0, incidents=incidents))
    first = [turn.user_text for turn, _, _ in rows if turn.start_time < DEFAULT_START + DAY]
    model = TopicModel.fit(first, embeddings=vectors(first), seed=0)
    detector = EmergingTopicDetector(model)
    later = [row for row in rows if row[0].start_time >= DEFAULT_START + DAY]
    reports: list[tuple[float, str]] = []
    for start in range(0, len(later), 50):
        batch = later[start:start + 50]
        known = {e.id for e in detector.get()}
        texts = [turn.user_text for turn, _, _ in batch]
        detector.update(vectors(texts), [turn.start_time for turn, _, _ in batch], texts,
                        [turn.conversation_id for turn, _, _ in batch])
        reports += [(e.detected_at, e.label) for e in detector.get() if e.id not in known]
    return model, detector, reports, later


def test_emerging_topic_is_detected_and_can_be_added() -> None:
    model, detector, reports, later = stream(True, hours=11.0)
    assert all(at >= ONSET for at, _ in reports), reports  # nothing before the incident
    assert len(detector.get()) == 1, reports
    found = detector.get()[0]
    assert found.detected_at - ONSET <= 2.5 * 3600  # measured ~0.5 h for this seed
    assert {"tax", "taxes", "deadline", "income", "deductible", "deduct", "schedule", "crypto"} & {
        w for w, _ in found.keywords[:6]}, found.keywords
    assert found.size >= detector.min_size and 0 < found.share <= 1 and found.examples
    taxes = [turn.user_text for turn, topic, intent in later if topic == "taxes" and intent == "question"]
    new_id = detector.accept(found.id, label="Taxes")
    assert new_id == model.topics[-1].id and model.topic(new_id).label == "Taxes"
    assert detector.get() == []
    ids, _ = model.assign(vectors(taxes))
    assert (ids == new_id).mean() >= 0.5


def test_no_emergence_on_stable_traffic() -> None:
    _, detector, reports, later = stream(False, hours=24.0)
    assert len(later) > 10_000
    assert reports == [] and detector.emerging == []


# -- a ramp: hand-written messages (not the demo's), one subject growing from 0 to 30 % over a week ----------


def test_a_ramping_subject_is_reported_within_a_day_of_passing_3_percent() -> None:
    reports = ramp(hand_written(), "cooking", vectors)
    cooking = [r.detected_at for r in reports if r.subject == "cooking"]
    assert cooking, reports
    assert cooking[0] - PASSES_3_PERCENT <= DAY, (cooking[0] - PASSES_3_PERCENT) / 3600  # measured 0.9 h
    assert [r for r in reports if r.subject != "cooking"] == []


def test_stable_traffic_over_days_raises_nothing() -> None:
    assert ramp(hand_written(), None, vectors) == []


def test_memory_is_thinned_and_survives_an_edit_but_not_a_refit() -> None:
    texts = list(hand_written())
    model = TopicModel.fit(texts, embeddings=vectors(texts), seed=0)
    detector = EmergingTopicDetector(model, memory_per_hour=10)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(12_000, model.dimensions)).astype(np.float32)  # unexplained: far from every topic
    times = DEFAULT_START + np.sort(rng.uniform(0, 2 * DAY, len(points)))
    for start in range(0, len(points), 500):
        detector.update(points[start:start + 500], times[start:start + 500])
    # a day has left the 24 h history: ~10 an hour of it kept (of ~250), each standing for ~25
    assert 150 <= detector.memory_rows <= 330, detector.memory_rows
    model.rename(model.topics[0].id, "edited")
    assert detector.set_model(model) and detector.memory_rows > 0
    assert not detector.set_model(TopicModel.fit(texts[::2], embeddings=vectors(texts[::2]), seed=1))
    assert detector.memory_rows == 0


def test_detector_dismiss_and_checks() -> None:
    model = TopicModel()
    detector = EmergingTopicDetector(model, window=600.0, history=3600.0, min_size=5, check_every=1)
    with pytest.raises(ConfigError):
        detector.dismiss(0)
    with pytest.raises(ConfigError):
        EmergingTopicDetector(model, window=10.0, history=5.0)
    with pytest.raises(ConfigError):
        EmergingTopicDetector(model, history=DAY, memory=3600.0)
    with pytest.raises(ConfigError):
        detector.update(np.zeros((2, model.dimensions), dtype=np.float32), [1.0])
    detector.update(np.zeros((2, model.dimensions), dtype=np.float32), [DEFAULT_START, DEFAULT_START])
    assert detector.get() == []
