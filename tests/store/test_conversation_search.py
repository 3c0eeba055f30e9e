"""Conversation search and reading in DuckDB: every page of every search equals a brute-force
answer over the same turns, and a conversation's turns are all found whether enriched or not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.enrich.base import Signals, Turn
from heron.errors import ValidationError
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, Interaction, Message
from heron.store import _duckdb_conversations as conversations
from heron.store.base import ConversationQuery
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z
NOW = T0 + 20 * 86400
WORDS = ["refund", "password", "invoice", "shipping", "login", "error", "thanks", "broken"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "h.duckdb")
    yield s
    s.close()


def _interaction(ident: str, conversation: str | None, start: float, text: str, **extra: Any) -> Interaction:
    item = Interaction(id=ident, model=extra.pop("model", "gpt-4o"), start_time=start, latency_ms=100.0, conversation_id=conversation,
                       input=[Message(role="system", content="be nice"), Message(role="user", content=text)],
                       output=extra.pop("output", "answer"), **extra)  # fmt: skip
    item = normalize_interaction(item, project="p", now=NOW)
    item.cost_usd = 0.01
    return item


def _signals(item: Interaction, **values: Any) -> Signals:
    base: dict[str, Any] = dict(language="en", sentiment=0.0, reply_sentiment=0.0, cues=[], rephrase=False, repeat=False,
                                complaint=False, shouting=False, refusal=False, empty_reply=False, truncated=False,
                                error=item.status == "error", frustration=0.0, topic_id=None, topic_similarity=None)  # fmt: skip
    base.update(values)
    return Signals(interaction_id=item.id or "", **base)


def _enrich(store: DuckDBStore, pairs: list[tuple[Interaction, Signals]]) -> None:
    """Store the interactions, then their signals, advancing the watermark past them (as enrichment does)."""
    store.write([p[0] for p in pairs], [], lsn=0)
    watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
    store.write_signals([Turn.from_interaction(p[0]) for p in pairs], [p[1] for p in pairs], watermark)


def _pages(store: DuckDBStore, **kw: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = store.conversations(ConversationQuery(project="p", cursor=cursor, **kw))
        assert len(page.items) <= kw.get("limit", 50)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("paging did not end")


def _random_store(store: DuckDBStore, seed: int) -> list[tuple[Interaction, Signals | None]]:
    """~600 turns over 12 days in ~120 conversations (a few without id), the newest 40 not enriched."""
    rng = random.Random(seed)
    rows: list[tuple[Interaction, Signals | None]] = []
    n = 0
    for c in range(120):
        start = T0 + rng.uniform(0, 12 * 86400)
        conversation = None if c % 17 == 0 else f"c{c:03d}"
        for _ in range(rng.randint(1, 9)):
            start += rng.choice([5.0, 60.0, 600.0, 3 * 3600.0])  # some conversations span hours
            text = " ".join(rng.sample(WORDS, 2))
            error = rng.random() < 0.1
            item = _interaction(f"i{n:04d}", conversation, start, text, model=rng.choice(["gpt-4o", "claude", "llama"]),
                                user_id=rng.choice(["ann", "bob", "cy", None]), prompt_version=rng.choice(["v1", "v2"]),
                                status="error" if error else "ok", error_type="Boom" if error else None)  # fmt: skip
            signals = _signals(item, sentiment=rng.choice([-0.6, -0.05, 0.0, 0.04, 0.05, 0.7]), frustration=rng.random(),
                               topic_id=rng.choice([None, 1, 2, 3]), complaint=rng.random() < 0.2)  # fmt: skip
            rows.append((item, signals))
            n += 1
    rows.sort(key=lambda r: r[0].start_time)
    arrival = rows[:]
    rng.shuffle(arrival)  # stored in an order unrelated to time, as late and batched traffic is
    enriched, pending = arrival[:-40], arrival[-40:]
    _enrich(store, [(i, s) for i, s in enriched if s is not None])
    store.write([i for i, _ in pending], [], lsn=0)
    return [(i, s) for i, s in enriched] + [(i, None) for i, _ in pending]


def _brute(rows: list[tuple[Interaction, Signals | None]], query: ConversationQuery) -> list[tuple[str, float]]:
    """(conversation, newest matching turn) per conversation, ranked as the store ranks them."""
    keys: dict[str, float] = {}
    for item, signals in rows:
        if item.conversation_id is None or not query.start <= item.start_time < query.end:
            continue
        column = {"model": item.model, "app_version": item.app_version, "prompt_version": item.prompt_version, "user_id": item.user_id}
        if any(column[c] != v for c, v in query.equals):
            continue
        if query.errors and item.status != "error":
            continue
        if query.text and not any(query.text.lower() in (m.content or "").lower() for m in item.input) and query.text.lower() not in (item.output or "").lower():
            continue
        if query.topics or query.sentiment or query.frustrated:
            if signals is None:
                continue
            if query.topics and signals.topic_id not in query.topics:
                continue
            s = signals.sentiment or 0.0
            if query.sentiment == "negative" and not s <= -0.05 or query.sentiment == "positive" and not s >= 0.05:
                continue
            if query.sentiment == "neutral" and not -0.05 < s < 0.05:
                continue
            if query.frustrated and not (signals.frustration or 0) >= 0.5:
                continue
        keys[item.conversation_id] = max(keys.get(item.conversation_id, 0.0), item.start_time)
    return sorted(keys.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)


QUERIES: list[dict[str, Any]] = [
    {},
    {"equals": (("model", "claude"),)},
    {"equals": (("user_id", "ann"), ("prompt_version", "v2"))},
    {"errors": True},
    {"text": "REFUND"},
    {"topics": (2,)},
    {"topics": (1, 3), "sentiment": "negative"},
    {"sentiment": "neutral"},
    {"sentiment": "positive", "text": "login"},
    {"frustrated": True, "errors": True},
    {"frustrated": True, "equals": (("user_id", "bob"),), "text": "password"},
]


@pytest.mark.parametrize("kw", QUERIES, ids=[str(sorted(q)) for q in QUERIES])
def test_every_page_equals_a_brute_force_search(store: DuckDBStore, kw: dict[str, Any]) -> None:
    rows = _random_store(store, seed=3)
    for start, end in [(T0, NOW), (T0 + 4 * 86400, T0 + 9 * 86400), (T0 + 86400, T0 + 86400 + 7200)]:
        query = ConversationQuery(project="p", start=start, end=end, **kw)
        expected = _brute(rows, query)
        found = _pages(store, start=start, end=end, limit=7, **kw)
        assert [(r["conversation_id"], r["last_match"].timestamp()) for r in found] == [
            (c, pytest.approx(t, abs=1e-6)) for c, t in expected
        ], (kw, start, end)


def test_rows_summarise_the_whole_conversation(store: DuckDBStore) -> None:
    a1 = _interaction("a1", "ca", T0 + 60, "my invoice is wrong", user_id="ann", model="gpt-4o")
    a2 = _interaction("a2", "ca", T0 + 2 * 86400, "still wrong!!", user_id="ann", model="claude", status="error", error_type="Boom")
    b1 = _interaction("b1", "cb", T0 + 3 * 86400, "hello", user_id="bob")
    _enrich(store, [(a1, _signals(a1, sentiment=0.2, topic_id=4, frustration=0.1)),
                    (a2, _signals(a2, sentiment=-0.6, topic_id=5, frustration=0.9, complaint=True, rephrase=True))])  # fmt: skip
    store.write([], [normalize_feedback(Feedback(interaction_id="a1", thumbs="up"), project="p", now=NOW)], lsn=0)
    assert store.apply_feedback() == 1
    store.write([b1], [], lsn=0)  # not enriched yet

    # The window holds only a2, yet the row covers a1 too (first message, first time, both models).
    [row] = store.conversations(ConversationQuery(project="p", start=T0 + 86400, end=T0 + 2.5 * 86400)).items
    assert row["conversation_id"] == "ca" and row["turns"] == 2 and row["first_message"] == "my invoice is wrong"
    assert row["first_time"].timestamp() == T0 + 60 and row["last_time"].timestamp() == row["last_match"].timestamp() == T0 + 2 * 86400
    assert row["models"] == ["claude", "gpt-4o"] and row["user_id"] == "ann" and row["users"] == 1 and row["errors"] == 1
    assert row["cost_usd"] == pytest.approx(0.02) and row["latency_avg"] == 100.0
    assert row["enriched"] == 2 and row["sentiment_avg"] == pytest.approx(-0.2) and row["sentiment_min"] == -0.6
    assert row["frustration_max"] == 0.9 and row["frustrated"] == 1 and row["complaints"] == 1 and row["rephrases"] == 1
    assert row["topics"] == [4, 5] and row["thumbs_up"] == 1 and row["thumbs_down"] == 0 and row["satisfaction_avg"] is not None

    # A conversation not enriched at all is listed with its turns, and no signal figures.
    page = store.conversations(ConversationQuery(project="p", start=T0, end=NOW))
    assert [r["conversation_id"] for r in page.items] == ["cb", "ca"]
    cb = page.items[0]
    assert cb["turns"] == 1 and cb["enriched"] == 0 and cb["sentiment_avg"] is None and cb["topics"] == [] and cb["first_message"] == "hello"
    # ... and a signal filter cannot match it.
    assert [r["conversation_id"] for r in store.conversations(ConversationQuery(project="p", start=T0, end=NOW, sentiment="neutral")).items] == []


def test_conversation_finds_enriched_and_pending_turns(store: DuckDBStore) -> None:
    early = _interaction("x1", "cx", T0 + 60, "first")
    other = _interaction("y1", "cy", T0 + 5 * 86400, "elsewhere")
    _enrich(store, [(early, _signals(early, topic_id=1)), (other, _signals(other))])
    # Stored after the watermark: a late turn from before the enriched ones, and a new one.
    late = _interaction("x0", "cx", T0 + 30, "even earlier, arrived late")
    new = _interaction("x2", "cx", T0 + 9 * 86400, "much later")
    store.write([late, new], [], lsn=0)
    turns = store.conversation("p", "cx")
    assert [t["id"] for t in turns] == ["x0", "x1", "x2"]
    assert [t["signals"] is not None for t in turns] == [False, True, False]
    assert turns[1]["signals"]["topic_id"] == 1 and "start_time" not in turns[1]["signals"]
    assert turns[1]["satisfaction_source"] == "implicit" and turns[0]["satisfaction"] is None
    assert store.conversation("p", "nope") == [] and store.conversation("q", "cx") == []


def test_without_enrichment_every_turn_is_still_found(store: DuckDBStore) -> None:
    items = [_interaction(f"i{k}", "c", T0 + k * 86400, f"turn {k}") for k in range(4)]
    store.write(items, [], lsn=0)
    assert [t["id"] for t in store.conversation("p", "c")] == ["i0", "i1", "i2", "i3"]
    [row] = store.conversations(ConversationQuery(project="p", start=T0 + 3 * 86400, end=NOW)).items
    assert row["turns"] == 4 and row["first_message"] == "turn 0" and row["enriched"] == 0


def test_the_signals_index_exists(store: DuckDBStore) -> None:
    names = store._con.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'interaction_signals'").fetchall()  # noqa: SLF001
    assert ("interaction_signals_conversation",) in names


def test_merge_spans_joins_near_spans_only() -> None:
    from datetime import datetime, timedelta

    t = datetime(2025, 11, 20)
    spans = [("a", t, t + timedelta(minutes=5)), ("b", t + timedelta(minutes=30), t + timedelta(minutes=31)),
             ("c", t + timedelta(hours=5), t + timedelta(hours=6))]  # fmt: skip
    merged = conversations.merge_spans(spans)
    assert [ids for _, _, ids in merged] == [["a", "b"], ["c"]]
    assert merged[0][0] == t - conversations.SLACK and merged[1][1] == t + timedelta(hours=6) + conversations.SLACK


def test_first_user_message() -> None:
    assert conversations.first_user_message('[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]') == "c"
    assert conversations.first_user_message('[{"role": "system", "content": "s"}]') is None
    assert conversations.first_user_message("not json") is None and conversations.first_user_message(None) is None
    long = conversations.first_user_message('[{"role": "user", "content": "' + "x" * 1000 + '"}]')
    assert long is not None and len(long) == conversations.FIRST_MESSAGE_CHARS and long.endswith("…")


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"equals": (("status", "ok"),)}, "status"), ({"sentiment": "angry"}, "sentiment"), ({"cursor": "%%%"}, "cursor"),
     ({"start": NOW, "end": T0}, "end")],  # fmt: skip
)
def test_bad_queries_name_the_field(store: DuckDBStore, kw: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"project": "p", "start": T0, "end": NOW, **kw}
    with pytest.raises(ValidationError) as caught:
        store.conversations(ConversationQuery(**args))
    assert caught.value.field == field
