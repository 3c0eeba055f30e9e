"""UX rollups are revised as turns, feedback and topics arrive, and always equal a rebuild from scratch."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from heron.enrich.base import Signals, Turn
from heron.errors import ValidationError
from heron.enrich.satisfaction import shipped_weights
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction, Message
from heron.store._duckdb_ux import END, START
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 10 * 86400


def _interaction(ident: str, conversation: str, start: float, text: str, **extra: object) -> Interaction:
    item = Interaction(id=ident, model="gpt-4o", start_time=start, latency_ms=100.0, conversation_id=conversation,
                       input=[Message(role="user", content=text)], output="answer", **extra)  # type: ignore[arg-type]
    return normalize_interaction(item, project="p", now=NOW)


def _turn(item: Interaction) -> Turn:
    return Turn.from_interaction(item)


def _signals(item: Interaction, **values: object) -> Signals:
    base: dict[str, object] = dict(language="en", sentiment=0.0, reply_sentiment=0.0, cues=[], rephrase=False, repeat=False,
                                   complaint=False, shouting=False, refusal=False, empty_reply=False, truncated=False,
                                   error=False, frustration=0.0, topic_id=None, topic_similarity=None)
    base.update(values)
    return Signals(interaction_id=item.id or "", **base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "h.duckdb")
    yield s  # type: ignore[misc]
    s.close()


def _tables(store: DuckDBStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    con = store._con  # noqa: SLF001
    ux = con.execute("SELECT * FROM ux_rollup_hour ORDER BY ALL").fetchall()
    flow = con.execute("SELECT * FROM ux_flow_hour ORDER BY ALL").fetchall()
    rounded = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in ux]
    return rounded, flow


def _write(store: DuckDBStore, pairs: list[tuple[Interaction, Signals]]) -> None:
    """Store and "enrich" the pairs, advancing the watermark past them."""
    store.write([p[0] for p in pairs], [], lsn=0)
    watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    store.write_signals([_turn(p[0]) for p in pairs], [p[1] for p in pairs], watermark)


def test_next_turn_revises_satisfaction_and_flow(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "how do I reset my password")
    b = _interaction("b", "c1", T0 + 120, "that's not what I asked")
    _write(store, [(a, _signals(a, topic_id=3))])
    first = store.conversation("p", "c1")[0]
    weights = shipped_weights()
    alone = weights.score({"ended": 1.0})
    assert first["satisfaction"] == pytest.approx(alone) and first["satisfaction_source"] == "implicit"
    assert {(r["source"], r["target"]) for r in store.topic_flow("p", T0, T0 + 3600)} == {(START, 3), (3, END)}

    _write(store, [(b, _signals(b, topic_id=5, complaint=True, frustration=0.8, sentiment=-0.4, refusal=True))])
    turns = store.conversation("p", "c1")
    assert turns[0]["satisfaction"] == pytest.approx(weights.score({"next_complaint": 1.0, "next_sentiment": -0.4}))
    assert turns[1]["satisfaction"] == pytest.approx(weights.score({"unexpected": 1.0, "ended": 1.0}))
    assert turns[0]["signals"]["is_last"] is False and turns[1]["signals"]["prev_topic_id"] == 3
    flow = {(r["source"], r["target"]): (r["n"], r["frustrated"]) for r in store.topic_flow("p", T0, T0 + 3600)}
    assert flow == {(START, 3): (1, 0), (3, 5): (1, 1), (5, END): (1, 1)}  # ended on a refusal: abandoned
    summary = store.ux_summary("p", T0, T0 + 3600)[0]
    assert summary["interactions"] == 2 and summary["conversations"] == 1 and summary["ended"] == 1
    assert summary["abandonment_rate"] == 1.0 and summary["complaint_rate"] == 0.5


def test_frustrated_last_turn_with_a_fine_reply_is_not_abandonment(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "THIS IS WRONG!!!")
    _write(store, [(a, _signals(a, frustration=0.9, shouting=True))])
    assert store.ux_summary("p", T0, T0 + 3600)[0]["abandonment_rate"] == 0.0


def test_late_feedback_wins_over_implicit(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "hello")
    _write(store, [(a, _signals(a))])
    store.write([], [normalize_feedback(Feedback(interaction_id="a", thumbs="down"), project="p", now=NOW)], lsn=0)
    assert store.apply_feedback() == 1
    turn = store.conversation("p", "c1")[0]
    assert turn["satisfaction"] == 0.0 and turn["satisfaction_source"] == "explicit"
    summary = store.ux_summary("p", T0, T0 + 3600)[0]
    assert summary["thumbs"] == 1 and summary["thumbs_up_rate"] == 0.0 and summary["abandonment_rate"] == 1.0
    assert store.apply_feedback() == 0


def test_session_gap_starts_a_new_session(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "first")
    b = _interaction("b", "c1", T0 + 60 + 2 * 3600, "much later")
    _write(store, [(a, _signals(a, topic_id=1)), (b, _signals(b, topic_id=2))])
    flow = {(r["source"], r["target"]) for r in store.topic_flow("p", T0, T0 + 86400)}
    assert flow == {(START, 1), (1, END), (START, 2), (2, END)}


def test_incremental_equals_rebuild_under_random_arrival(store: DuckDBStore) -> None:
    rng = random.Random(7)
    pairs = []
    for c in range(40):
        t = T0 + rng.uniform(0, 3 * 86400)
        for k in range(rng.randint(1, 6)):
            t += rng.choice([30.0, 300.0, 2000.0, 5000.0])
            item = _interaction(f"c{c}-{k}", f"c{c}", t, f"message {c} {k}", cost_usd=rng.choice([None, 0.01]))
            sig = _signals(item, sentiment=rng.uniform(-1, 1), frustration=rng.random(), complaint=rng.random() < 0.2,
                           rephrase=rng.random() < 0.2, cues=["gratitude"] if rng.random() < 0.2 else [],
                           refusal=rng.random() < 0.1, topic_id=rng.choice([None, -1, 1, 2]))
            pairs.append((item, sig))
    rng.shuffle(pairs)  # turns of a conversation arrive out of order, in separate batches
    for k in range(0, len(pairs), 7):
        _write(store, pairs[k : k + 7])
    ids = [p[0].id for p in pairs]
    feedback = [normalize_feedback(Feedback(interaction_id=i, thumbs=rng.choice(["up", "down"])), project="p", now=NOW)
                for i in rng.sample(ids, 25)]  # fmt: skip
    store.write([], feedback[:12], lsn=0)
    store.apply_feedback()
    store.write([], feedback[12:], lsn=0)
    store.apply_feedback()
    store.set_topics("p", [(i, rng.choice([1, 2, 3]), 0.5) for i in rng.sample(ids, 30)])
    incremental = _tables(store)
    store.rebuild_ux("p")
    assert _tables(store) == incremental
    summary = store.ux_summary("p", T0, NOW)[0]
    assert summary["interactions"] == len(pairs) and summary["feedback"] == 25
    by_topic = store.ux_summary("p", T0, NOW, group_by="topic_id")
    assert sum(r["interactions"] for r in by_topic) == len(pairs)


def test_rebuild_skips_the_empty_days_between_turns(store: DuckDBStore) -> None:
    """One turn from 2000 and a few from today: the rebuild (after PUT /v1/mapping, under the
    write lock) walks the days that hold turns, not the 9,000 between them (it took 135 s)."""
    old = _interaction("old", "c-old", 946_771_200.0, "a message from long ago")  # 2000-01-02
    recent = [_interaction(f"r{k}", "c-new", T0 + 60 * k, f"message {k}") for k in range(3)]
    _write(store, [(item, _signals(item)) for item in [old, *recent]])
    incremental = _tables(store)
    calls: list[tuple[int, int]] = []
    store.rebuild_ux("p", progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 2 and calls[-1][0] == calls[-1][1]  # a chunk for 2000, one for today
    assert _tables(store) == incremental


def test_set_topics_moves_turns_between_topics(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "refund please")
    b = _interaction("b", "c1", T0 + 120, "and the invoice")
    _write(store, [(a, _signals(a)), (b, _signals(b))])
    assert [r["group"] for r in store.topic_rollup("p", T0, T0 + 3600)] == [None]
    assert store.untopiced_turns("p", 10) and {t[1] for t in store.untopiced_turns("p", 10)} == {"refund please", "and the invoice"}
    assert store.set_topics("p", [("a", 4, 0.6), ("b", 7, 0.5)]) == 2
    assert {r["group"]: r["interactions"] for r in store.topic_rollup("p", T0, T0 + 3600)} == {4: 1, 7: 1}
    flow = {(r["source"], r["target"]) for r in store.topic_flow("p", T0, T0 + 3600)}
    assert flow == {(START, 4), (4, 7), (7, END)}
    assert store.untopiced_turns("p", 10) == []


def test_feedback_waits_while_its_turn_may_be_unenriched(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "hello")
    _write(store, [(a, _signals(a))])
    store.write([_interaction("b", "c2", T0 + 90, "later")], [], lsn=0)  # ingested, not enriched yet
    store.write([], [normalize_feedback(Feedback(interaction_id="a", thumbs="up"), project="p", now=NOW)], lsn=0)
    assert store.apply_feedback() == 0  # arrived after the backlog began: wait
    b = _interaction("b", "c2", T0 + 90, "later")
    watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    store.write_signals([_turn(b)], [_signals(b)], watermark)
    assert store.apply_feedback() == 1
    assert store.conversation("p", "c1")[0]["satisfaction"] == 1.0


def test_topic_models_are_versioned(store: DuckDBStore) -> None:
    assert store.topic_models() == {}
    assert store.save_topic_model("p", {"topics": []}, reason="fit") == 1
    assert store.save_topic_model("p", {"topics": [1]}, reason="rename") == 2
    assert store.topic_models() == {"p": (2, {"topics": [1]})}


def test_ux_summary_slices(store: DuckDBStore) -> None:
    a = _interaction("a", "c1", T0 + 60, "hello", prompt_version="v1")
    b = _interaction("b", "c2", T0 + 120, "hi", prompt_version="v2")
    c = _interaction("c", "c3", T0 + 180, "hey", prompt_version="v2")
    _write(store, [(a, _signals(a, frustration=0.9)), (b, _signals(b)), (c, _signals(c))])
    v2 = store.ux_summary("p", T0, NOW, where=("prompt_version", "v2"))
    assert len(v2) == 1 and v2[0]["interactions"] == 2 and v2[0]["group"] is None
    grouped = store.ux_summary("p", T0, NOW, group_by="prompt_version", where=("prompt_version", "v1"))
    assert [(r["group"], r["interactions"]) for r in grouped] == [("v1", 1)]
    hourly = store.ux_summary("p", T0, NOW, bucket="hour", where=("model", "gpt-4o"))
    assert sum(r["interactions"] for r in hourly) == 3
    # What the rollups cannot answer (a slice grouped by another dimension, a call dimension) is summed from the
    # turns (tests/store/test_ux_raw.py); an unknown dimension is refused by name.
    mixed = store.ux_summary("p", T0, NOW, group_by="model", where=("prompt_version", "v1"))
    assert [(r["group"], r["interactions"]) for r in mixed] == [("gpt-4o", 1)]
    assert store.ux_summary("p", T0, NOW, where=("provider", "nobody")) == []
    with pytest.raises(ValidationError, match="colour"):
        store.ux_summary("p", T0, NOW, where=("colour", "red"))
