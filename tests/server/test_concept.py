"""Concept drift over a real store: one topic's satisfaction falls while its share holds; the others stay put."""

from __future__ import annotations

import numpy as np
import pytest

from heron.enrich.base import Signals, Turn
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction, Message
from heron.server import concept
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0
DAYS = 6
CHANGE = T0 + 5 * 86400  # from here, topic 2's answers disappoint
NOW = T0 + DAYS * 86400


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    rng = np.random.default_rng(8)
    s = DuckDBStore(tmp_path_factory.mktemp("concept") / "h.duckdb")
    items, feedback = [], []
    for k in range(DAYS * 24 * 50):
        t = T0 + k * 72.0
        topic = k % 2 + 1
        good = rng.random() < (0.4 if topic == 2 and t >= CHANGE else 0.8)
        item = normalize_interaction(Interaction(id=f"c{k}", model="m", start_time=t, conversation_id=f"c{k}",
                                                 input=[Message(role="user", content="q")], output="a"),  # type: ignore[arg-type]
                                     project="p", now=NOW + 86400)  # fmt: skip
        items.append((item, topic))
        feedback.append(normalize_feedback(Feedback(interaction_id=item.id or "", thumbs="up" if good else "down"), project="p", now=NOW + 86400))
    s.write([i for i, _ in items], feedback, lsn=0)
    watermark = s._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    turns = [Turn.from_interaction(i) for i, _ in items]
    signals = [Signals(interaction_id=i.id or "", sentiment=0.0, cues=[], frustration=0.0, topic_id=topic) for i, topic in items]
    s.write_signals(turns, signals, watermark)
    yield s  # type: ignore[misc]
    s.close()


def test_adwin_flags_the_degrading_topic(store: DuckDBStore) -> None:
    found = concept.watch(store, "p", NOW + 2 * 3600)
    segments = {(a["dim"], a["value"]) for a in found if a["metric"] == "satisfaction"}
    assert ("topic_id", "2") in segments and ("topic_id", "1") not in segments
    first = min(a["t"] for a in found if (a["dim"], a["value"]) == ("topic_id", "2"))
    assert CHANGE <= first <= CHANGE + 12 * 3600  # within half a day at 25 turns an hour
    hit = next(a for a in found if (a["dim"], a["value"]) == ("topic_id", "2"))
    assert hit["kind"].startswith("concept:")
    adwin = [a for a in found if (a["dim"], a["value"]) == ("topic_id", "2") and a["kind"] == "concept:adwin"]
    assert adwin and adwin[0]["observed"] < adwin[0]["expected"]
    assert concept.watch(store, "p", NOW + 2 * 3600) == []  # nothing new to read


def test_segment_rule_calls_it_concept_drift(store: DuckDBStore) -> None:
    rows = concept.segments(store, "p", NOW)
    flagged = {r["feature"]: r for r in rows if r["drifted"]}
    assert "concept:topic_id=2:satisfaction" in flagged
    assert flagged["concept:topic_id=2:satisfaction"]["kind"] == "concept"  # its share held: not data drift
    assert not any("topic_id=1" in feature for feature in flagged)
    assert store.drift_results("p", NOW - 1, NOW + 1)
